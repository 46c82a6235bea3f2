"""Small text helpers shared along the path: one line, clipped; untrusted text made visible."""

from __future__ import annotations


def clip(text: str, limit: int = 80) -> str:
    """`text` on one line (runs of whitespace become one space), cut to `limit` with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fit(line: str, width: int | None, keep: str = "") -> str:
    """`line` (then `keep`, kept whole) cut with an ellipsis to `width` terminal cells (None: as
    it is), so a terminal never breaks it mid-word."""
    if width is None:
        return line + keep
    room = width - _cells(keep)
    if _cells(line) <= room:
        return line + keep
    while line and _cells(line) > room - 1:
        line = line[:-1]
    return line.rstrip() + "…" + keep


def _cells(text: str) -> int:
    """The most cells a terminal may draw `text` in: each character's own width, as tmux 3.3a
    counts them (👋🏽 is 4), where newer terminals draw some sequences narrower."""
    from wcwidth import wcwidth

    return sum(max(wcwidth(char), 0) for char in text) if not text.isascii() else len(text)


def _pictures() -> dict[int, str]:
    # C0 (but tab and newline) as its control picture (ESC → ␛), DEL as ␡; a C1 control as
    # ␛ and the 7-bit character that stands for it (CSI U+009B → ␛[), as terminals read it.
    table = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"}
    table[0x7F] = "\u2421"
    table.update({code: "\u241b" + chr(code - 0x40) for code in range(0x80, 0xA0)})
    return table


_VISIBLE = _pictures()


def visible(text: str) -> str:
    """`text` as a terminal may show it: every control character but newline and tab
    (C0, DEL and C1) turned into a visible stand-in, so nothing in it can move the cursor,
    recolour, retitle or clear the screen. A CR before a newline is a line end and goes.

    Text from models, tools, servers and MCP servers passes through this on its way to a
    terminal; a pipe or a file gets it exactly as it came."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_VISIBLE)
