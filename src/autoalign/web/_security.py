"""What keeps the web app safe: reviewer tokens, CSRF tokens, security headers, a read-only
database connection, and the rule about binding to a non-local address.

- A POST needs a reviewer token (`autoalign serve --token NAME=SECRET`, or
  `$AUTOALIGN_WEB_TOKENS` as comma-separated `NAME=SECRET` pairs): the token names the reviewer
  whose label is written. A browser signs in once (`/login`), which keeps the token in an
  HttpOnly, SameSite=Strict cookie; a script may send it as `Authorization: Bearer SECRET`.
- Every POST also needs a CSRF token: a random nonce in a cookie, and in the form the nonce's
  HMAC under a key made when the app starts (a page from another site can neither read the
  cookie nor compute the HMAC).
- Every response carries a Content-Security-Policy allowing scripts and styles from the app
  itself only (no `unsafe-inline`), no framing, and forms posting back to the app only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import Any

from sqlalchemy import Engine, event

from .._text import clip
from ..errors import UsageError

TOKENS_ENV_VAR = "AUTOALIGN_WEB_TOKENS"
"""Reviewer tokens of `autoalign serve`: comma-separated `NAME=SECRET` pairs."""

TOKEN_COOKIE = "autoalign_reviewer"
CSRF_COOKIE = "autoalign_csrf"
MIN_SECRET_CHARS = 16

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The Content-Security-Policy of every response: nothing inline, nothing from elsewhere."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def parse_tokens(pairs: list[str]) -> dict[str, str]:
    """`NAME=SECRET` pairs (each item may hold several, comma-separated) as secret → reviewer.

    Raises:
        UsageError: a pair without `=`, a blank name, a secret under 16 characters, or one
            secret given to two reviewers.
    """
    tokens: dict[str, str] = {}
    for item in pairs:
        for pair in item.split(","):
            if not pair.strip():
                continue
            name, sep, secret = pair.strip().partition("=")
            if not sep or not name.strip():
                raise UsageError(
                    f"reviewer token {clip(pair.split('=')[0], limit=20)!r}... is not NAME=SECRET;"
                    f" pass --token alice=SECRET or set ${TOKENS_ENV_VAR}"
                )
            if len(secret) < MIN_SECRET_CHARS:
                raise UsageError(
                    f"the token of reviewer {clip(name)!r} has {len(secret)} characters; use at "
                    f"least {MIN_SECRET_CHARS} (e.g. `python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe())'`)"
                )
            if secret in tokens and tokens[secret] != name.strip():
                raise UsageError(f"reviewers {tokens[secret]!r} and {name!r} share one token")
            tokens[secret] = name.strip()
    return tokens


def is_local(host: str) -> bool:
    """Whether `host` is a loopback address or `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote: bool, tokens: dict[str, str]) -> None:
    """Refuse a non-local address unless asked for explicitly and reviewers have tokens.

    Raises:
        UsageError: a non-local `host` without `allow_remote`, or without any token.
    """
    if is_local(host):
        return
    if not allow_remote:
        raise UsageError(
            f"--host {clip(host)} is not a local address: anyone who can reach it can read the "
            "research database; pass --allow-remote (and --token NAME=SECRET) to serve it anyway"
        )
    if not tokens:
        raise UsageError(
            f"serving on {clip(host)} needs a reviewer token: pass --token NAME=SECRET or set "
            f"${TOKENS_ENV_VAR}"
        )


class Csrf:
    """CSRF tokens: the HMAC of a per-browser nonce (the cookie) under the app's key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    @staticmethod
    def new_nonce() -> str:
        """A fresh nonce for the CSRF cookie."""
        return secrets.token_urlsafe(24)

    def token(self, nonce: str) -> str:
        """The form token that goes with cookie `nonce`."""
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def check(self, nonce: str | None, token: str | None) -> bool:
        """Whether `token` is the one for `nonce` (both present)."""
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.token(nonce), token)


def reviewer_for(tokens: dict[str, str], secret: str | None) -> str | None:
    """The reviewer a token names, or None (compared in constant time per token)."""
    if not secret:
        return None
    found = None
    for known, name in tokens.items():
        if hmac.compare_digest(known.encode(), secret.encode()):
            found = name
    return found


def make_read_only(engine: Engine) -> None:
    """Every new connection of `engine` refuses writes: SQLite's `query_only`, PostgreSQL's
    read-only transactions. Pooled connections are dropped so that all are new."""

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA query_only = ON")
            elif engine.dialect.name == "postgresql":
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        finally:
            cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    engine.dispose()
