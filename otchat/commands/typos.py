"""The typo guard's judgement: which first word is a mistyped command name, and which a prompt.

A word alone may be a one-word prompt, and one edit away from a short name lies many a word
(`cat`, `that` and `hat` from `chat`, `map` from `mcp`): alone, a short name is taken to be
mistyped only by a slip that makes no word, two neighbouring letters swapped or one typed
twice (`caht`, `cdm`, `chatt`); a longer name by a close match (`modles`, `confg`). Before one
of that command's own subcommands (`otchat mpc list`), any one edit is a typo.
"""

from __future__ import annotations

# How close a first word must be to a name of five letters or more before it is taken for a
# mistyped command rather than the start of a prompt (difflib's ratio; "histroy" scores 0.86).
CUTOFF = 0.8
SHORT = 4  # chat, cmd, auth, mcp


def mistyped(word: str, names: list[str], *, alone: bool = True) -> str | None:
    """The name `word` is a mistyping of, or None. `alone`: the word is all there is (it may
    be a prompt); otherwise it comes before a subcommand of each of `names`."""
    slipped = [name for name in names if slip(word, name) or (not alone and one_edit(word, name))]
    if slipped:
        return slipped[0]
    import difflib

    long = [name for name in names if len(name) > SHORT]
    close = difflib.get_close_matches(word, long, n=1, cutoff=CUTOFF)
    return close[0] if close else None


def slip(word: str, name: str) -> bool:
    """`name` with two neighbouring letters swapped, or one of its letters typed twice."""
    swapped = (name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(len(name) - 1))
    doubled = (name[:i] + name[i] + name[i:] for i in range(len(name)))
    return word != name and any(word == other for other in (*swapped, *doubled))


def one_edit(word: str, name: str) -> bool:
    """`name` with one letter changed, left out, added, or swapped with its neighbour."""
    if len(word) == len(name):
        return sum(a != b for a, b in zip(word, name, strict=True)) == 1 or slip(word, name)
    shorter, longer = sorted((word, name), key=len)
    return len(longer) == len(shorter) + 1 and any(longer[:i] + longer[i + 1:] == shorter
                                                   for i in range(len(longer)))
