"""Agenda loading: valid files parse; every malformed one is reported with file, field, reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.agenda import load_agenda
from autoalign.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agenda.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_quickstart_parses_and_is_the_packaged_starter() -> None:
    agenda = load_agenda(ROOT / "examples" / "quickstart.toml")
    assert [t.name for t in agenda.topics] == ["Reward hacking", "Probing for deception"]
    assert agenda.models.default == "local:gemma-3-270m"
    packaged = ROOT / "src" / "autoalign" / "_quickstart.toml"
    assert packaged.read_text() == (ROOT / "examples" / "quickstart.toml").read_text()


def test_digest_is_stable_and_sensitive(tmp_path: Path) -> None:
    a = load_agenda(write(tmp_path, '[[topics]]\nname = "x"\n'))
    b = load_agenda(write(tmp_path, '[[topics]]\nname="x"   # same content\n'))
    c = load_agenda(write(tmp_path, '[[topics]]\nname = "y"\n'))
    assert a.digest() == b.digest() != c.digest()
    # The budget is not part of the identity: raising it resumes the same run.
    d = load_agenda(write(tmp_path, '[budget]\nmax_tokens = 5\n[[topics]]\nname = "x"\n'))
    assert d.digest() == a.digest()


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[topics]]\nname = "x\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    message = str(info.value)
    assert str(path) in message and "TOML syntax error" in message and "line 2" in message


def test_unknown_key_names_field(tmp_path: Path) -> None:
    path = write(tmp_path, '[run]\nnmae = "typo"\n[[topics]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "run.nmae"
    assert info.value.reason == "unknown key"
    assert str(path) in str(info.value)


def test_wrong_type_names_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, '[budget]\nmax_tokens = "lots"\n[[topics]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "budget.max_tokens"
    assert "'lots'" in info.value.reason


def test_list_item_field_path(tmp_path: Path) -> None:
    path = write(tmp_path, '[[topics]]\nname = "x"\n[[topics]]\ndescription = "no name"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "topics[1].name"
    assert "missing" in info.value.reason


def test_several_errors_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '[run]\nseed = "a"\nbogus = 1\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    message = str(info.value)
    assert "run.seed" in message and "run.bogus" in message and "topics" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_agenda(tmp_path / "nope.toml")
