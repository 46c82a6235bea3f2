"""Widths a live display can trust. rich counts a character's cells with its own table; a
terminal with `wcwidth` (tmux 3.3a, most terminals with a recent libc) counts some others
differently: a skin-tone modifier (👋🏽) rich counts as 0 and the terminal draws 2 cells
wide, characters newer than rich's table 1 or 2. A live region is redrawn by moving the
cursor up over as many lines as rich laid out, so when the terminal wrapped a line rich
thought fit, the redraw leaves a copy of the answer above. While text is live, such a
character is drawn as one both count alike; the committed print shows it as written."""

from __future__ import annotations

import functools
import re

from rich.cells import cell_len

_MAYBE = re.compile(r"[^\x00-\u058f]")  # below U+0590, rich and wcwidth agree on every character
WIDE_STAND_IN = "\u3013"  # 〓: two cells for both


def agreed(text: str) -> str:
    """`text` with each character whose width rich and wcwidth disagree on replaced for a live
    display: left out where either counts it 0 (a modifier, a new combining mark), else 〓."""
    if not _MAYBE.search(text):
        return text
    return _MAYBE.sub(_stand_in, text)


def _stand_in(match: re.Match[str]) -> str:
    return _agreed(match.group())


@functools.cache
def _agreed(char: str) -> str:
    from wcwidth import wcwidth

    ours, theirs = cell_len(char), wcwidth(char)
    if theirs < 0 or ours == theirs:
        return char
    if ours == 0 or theirs == 0:
        return ""
    return WIDE_STAND_IN if theirs == 2 else char
