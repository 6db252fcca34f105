"""`autoalign serve`: what it refuses before it starts (a non-local address without the flag or
a token, a malformed or short token), and the run's last line that points at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.errors import UsageError
from autoalign.web import check_bind, is_local, parse_tokens

from ..cli.helpers import invoke


def test_tokens_name_reviewers() -> None:
    assert parse_tokens(["alice=" + "a" * 16, "bob=" + "b" * 16 + ",carol=" + "c" * 20]) == {
        "a" * 16: "alice", "b" * 16: "bob", "c" * 20: "carol"}
    for bad in (["alice"], ["=" + "a" * 16], ["alice=short"],
                ["alice=" + "a" * 16, "bob=" + "a" * 16]):
        with pytest.raises(UsageError):
            parse_tokens(bad)


def test_a_non_local_address_needs_the_flag_and_a_token() -> None:
    assert is_local("127.0.0.1") and is_local("::1") and is_local("localhost")
    assert not is_local("0.0.0.0") and not is_local("example.org")
    check_bind("127.0.0.1", allow_remote=False, tokens={})
    with pytest.raises(UsageError, match="--allow-remote"):
        check_bind("0.0.0.0", allow_remote=False, tokens={"a" * 16: "alice"})
    with pytest.raises(UsageError, match="token"):
        check_bind("0.0.0.0", allow_remote=True, tokens={})
    check_bind("0.0.0.0", allow_remote=True, tokens={"a" * 16: "alice"})


def test_serve_refuses_a_public_address_before_it_starts(tmp_path: Path) -> None:
    result = invoke("serve", "--host", "0.0.0.0", cwd=tmp_path)
    assert result.code == 1 and "--allow-remote" in result.err
    result = invoke("serve", "--host", "0.0.0.0", "--allow-remote", cwd=tmp_path,
                    env={"AUTOALIGN_WEB_TOKENS": ""})
    assert result.code == 1 and "needs a reviewer token" in result.err
    result = invoke("serve", "--token", "alice=short", cwd=tmp_path)
    assert result.code == 1 and "at least 16" in result.err


def test_serve_without_a_database_says_so(tmp_path: Path) -> None:
    result = invoke("serve", "--db", f"sqlite:///{tmp_path}/missing.db", cwd=tmp_path)
    assert result.code == 1 and "no research database" in result.err
