"""Metric paths: `<source>:<name>{key=value,...}`, e.g.
`redteam:recall{critic=c2.review@1,flaw_type=cherry-pick}` or `db:review.error_rate`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Source = Literal["redteam", "db"]

_PATH = re.compile(r"^(redteam|db):([A-Za-z0-9_.]+)(?:\{([^{}]*)\})?$")
_KEY = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True, kw_only=True)
class MetricPath:
    """A parsed metric path."""

    source: Source
    name: str
    keys: tuple[tuple[str, str], ...]
    """Sorted (key, value) pairs."""

    def __str__(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in self.keys)
        return f"{self.source}:{self.name}" + (f"{{{inner}}}" if self.keys else "")

    @property
    def key_dict(self) -> dict[str, str]:
        """The keys as a dict."""
        return dict(self.keys)


def parse_path(text: str) -> MetricPath:
    """Parse a metric path.

    Raises:
        ValueError: not `<redteam|db>:<name>{key=value,...}`, or a key twice.
    """
    match = _PATH.match(text.strip())
    if match is None:
        raise ValueError(
            f"metric path {text!r} is not `redteam:<name>{{key=value,...}}` or `db:<name>{{...}}`"
        )
    source, name, inner = match.group(1), match.group(2), match.group(3)
    keys: dict[str, str] = {}
    for part in (inner or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key):
            raise ValueError(f"metric path {text!r}: {part!r} is not key=value")
        if key in keys:
            raise ValueError(f"metric path {text!r}: key {key!r} twice")
        keys[key] = value
    return MetricPath(source=source, name=name,  # type: ignore[arg-type]  # regex-checked
                      keys=tuple(sorted(keys.items())))


__all__ = ["MetricPath", "Source", "parse_path"]
