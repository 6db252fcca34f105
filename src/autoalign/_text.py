"""Untrusted text (from a model, a database or a file) made safe for a terminal and for one-line
messages.

A model, or whoever wrote a file, can put escape sequences in text that clear the screen,
retitle the window or hide what follows. Every printing path of the CLI passes such text through
`safe` or `safe_line`, error messages quote values through `clip`, and the agenda refuses control
characters with `control_character`; all use the one definition of a control character here.
"""

from __future__ import annotations

import re

_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional marks, overrides
# and isolates that reorder text on screen.
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
# The same plus tab, newline and the Unicode line and paragraph separators.
_CONTROL_OR_BREAK = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")

CLIP_CHARS = 80
"""Longest value quoted in a message by default."""


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def control_character(text: str, *, allow_breaks: bool = False) -> str | None:
    """The first control character in `text` (newline and tab count only without
    `allow_breaks`), or None."""
    found = (_CONTROL if allow_breaks else _CONTROL_OR_BREAK).search(text)
    return found.group() if found else None


def visible(text: str, *, keep_breaks: bool = True) -> str:
    """`text` with control characters shown as escapes (ESC as the four characters `\\x1b`);
    newlines and tabs are kept unless `keep_breaks` is off."""
    return (_CONTROL if keep_breaks else _CONTROL_OR_BREAK).sub(_escaped, text)


def clip(text: str, *, limit: int = CLIP_CHARS) -> str:
    """`text` on one line with controls escaped, cut to `limit` characters with its length."""
    shown = visible(text, keep_breaks=False)
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}... ({len(text)} characters)"


def safe(text: object) -> str:
    """`text` ready for Rich's `Console.print`: controls neutralised, markup escaped."""
    from rich.markup import escape  # here, so that importing this module does not import rich

    return escape(visible(str(text)))


def safe_line(text: object) -> str:
    """Like `safe`, on one line: newlines and tabs are shown as escapes too."""
    from rich.markup import escape

    return escape(visible(str(text), keep_breaks=False))
