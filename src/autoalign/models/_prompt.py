"""Framing untrusted text (papers, logs, other models' outputs) inside a prompt."""

from __future__ import annotations

import re

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def delimit(tag: str, text: str) -> str:
    """Wrap `text` as data in `<tag>...</tag>` so that nothing inside can end the frame.

    Any opening or closing `tag` inside the text, in any case and with any spacing
    (`</paper>`, `< /PAPER >`, `<paper attr=1>`), has its `<` replaced by `&lt;`, so the only
    real `</tag>` is the one this function writes. Other text is left exactly as it was.

    Args:
        tag: the element name, e.g. `paper`; letters, digits, `_`, `.` and `-`.
        text: the untrusted text.

    Raises:
        ValueError: `tag` is not a plain element name.
    """
    if not _TAG.match(tag):
        raise ValueError(f"delimit tag must be a plain element name, got {tag!r}")
    pattern = re.compile(
        r"<(?=\s*/?\s*" + re.escape(tag) + r"(?![A-Za-z0-9_.:-]))", flags=re.IGNORECASE
    )
    safe = pattern.sub("&lt;", text)
    return f"<{tag}>\n{safe}\n</{tag}>"
