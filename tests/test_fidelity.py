"""Nothing the model wrote is lost on a terminal: awkward answers, rendered on a pseudo-terminal
that knows no OSC 8 hyperlinks, show every word of their source that is not markdown syntax;
and the streaming renderer shows what the whole-text renderer shows."""

import io
import re

import pytest
from rich.console import Console

from otchat.models import Prose, TextDelta, TurnResult
from otchat.term.live import MarkdownSink
from otchat.term.markdown import CommitMarkdown, print_markdown, with_links
from tests import helpers
from tests.conftest import KEY
from tests.fakeserver import Stream, text_chunks
from tests.helpers import Tick, drawn

CORPUS = {
    "html": """Use <br> to break a line in HTML, and <kbd>Ctrl</kbd>+<kbd>C</kbd> to copy.

<details>
<summary>Spoiler</summary>
secret text
</details>

<!DOCTYPE html>
<!-- a comment the model wrote -->

In Java, List<T> and Map<K, V> are generic; <div class="box">inline</div> too.

> Note: <b>bold</b> tags in a quote stay.
""",
    "links": """Sources:

- [the docs](https://example.com/docs/x) explain it.
- See <https://example.org/autolink> and https://example.net/bare for more.
- [https://example.com/same](https://example.com/same) is shown once.
- Mail <someone@example.com> or read ![the diagram](https://example.com/d.png).

A reference [to the spec][spec] and a long one:
[a long target](https://example.com/a/very/long/path/that/does/not/fit/on/one/line/of/the/terminal/at/all/0123456789)

[spec]: https://example.com/spec
""",
    "lists": """1. First level
   - second level with `code`
     - third level **bold** item
2. Back to first
   1. numbered child
   2. another *child*
""",
    "table": """| command | meaning |
|---|:---:|
| `a \\| b` | pipe a into b |
| `ls -la` | list *all* files |
| `x<y>` | generic |
""",
    "think": """<think>
The user asks about otters; recall facts.
</think>

Otters hold hands while sleeping.
""",
    "wide": """## Grüße 🌍

日本語のテキスト と 中文 混在 - emoji 🎉 and 👍 fine.
""",
    "code": """```python
x = "a_very_long_identifier_that_goes_on_and_on_" + "and_keeps_going_well_past_the_right_edge_of_any_terminal_0123456789"
```

    indented code line that is also quite long and wraps somewhere past the edge of the screen ok
""",
}

ROWS, COLS = 120, 80
FENCE = re.compile(r"^\s*(```|~~~)")
TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*$")
LINE_SYNTAX = re.compile(r"^\s*(?:(?:[-*+]|\d+[.)])\s+|>\s?|#{1,6}\s+)*")
LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")
AUTOLINK = re.compile(r"<((?:https?://|[^\s<>@]+@)[^\s<>]+)>")


def source_words(source: str) -> list[str]:
    """The words of a markdown source that are not markdown syntax."""
    words: list[str] = []
    in_fence = False
    for line in source.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue  # the fence and its language name are syntax
        if in_fence:
            words += line.split()
            continue
        if TABLE_RULE.match(line):
            continue
        line = re.sub(r"</?think(ing)?>", " ", line)  # the reasoning's wrapper, not its words
        line = LINE_SYNTAX.sub("", line)
        line = LINK.sub(r"\1 \2 ", line)
        line = AUTOLINK.sub(r"\1 ", line)
        line = re.sub(r"\\(.)", r"\1", line).replace("|", " ").replace("`", " ")
        words += [w.strip("*_") for w in line.split() if w.strip("*_")]
    return words


def squeezed(lines: list[str]) -> str:
    """Screen text without spaces and the lines rich draws (table rules, quote bars), so a word
    wrapped over two lines reads as one."""
    return re.sub(r"[\s\u2500-\u257f\u258c]", "", "".join(lines))


def run_in_pty(server, home, answer):
    server.enqueue(Stream(text_chunks(answer, 5)))
    # pyte, like tmux before 3.4 and many terminals, drops OSC 8
    return helpers.run_in_pty(server, home, "--no-log", "show me", dimensions=(ROWS, COLS))


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_word_the_model_wrote_is_on_the_screen(server, home, name):
    code, lines, raw = run_in_pty(server, home, CORPUS[name])
    assert code == 0
    screen = squeezed(lines)
    missing = [word for word in source_words(CORPUS[name]) if squeezed([word]) not in screen]
    assert not missing, "\n".join(lines)
    assert KEY.encode() not in raw


def test_link_targets_are_text_and_hyperlinks_too(server, home):
    _, lines, raw = run_in_pty(server, home, CORPUS["links"])
    text = "\n".join(lines)
    assert "the docs (https://example.com/docs/x)" in text
    assert text.count("https://example.com/same") == 1 and text.count("https://example.net/bare") == 1
    assert text.count("https://example.org/autolink") == 1
    assert b"\x1b]8;" in raw and b"https://example.com/docs/x\x1b\\" in raw  # OSC 8 kept for terminals that know it


def test_the_links_key_chooses_footnotes(server, home):
    (home / "config" / "config.toml").write_text('links = "footnotes"\n')
    _, lines, _ = run_in_pty(server, home, CORPUS["links"])
    text = "\n".join(lines)
    assert "the docs[1] explain it." in text and "[1] https://example.com/docs/x" in text
    assert "(https://example.com/docs/x)" not in text


def test_a_think_block_is_set_apart_from_the_answer(server, home):
    _, lines, raw = run_in_pty(server, home, CORPUS["think"])
    shown = [line for line in lines if line.strip()]
    assert "The user asks about otters; recall facts." in shown[0] and "<think>" not in "\n".join(lines)
    at = lines.index(next(line for line in lines if "Otters hold hands" in line))
    assert lines[at - 1] == ""  # a blank line between the reasoning and the answer
    assert b"\x1b[2;3m" in raw or b"\x1b[2m" in raw  # dim


# The same output, streamed or whole -------------------------------------------------------


def screen_of(raw: str, width: int, height: int = 300) -> list[str]:
    return [line for line in drawn(raw, width, height, onlcr=True) if line]


def console(buf: io.StringIO, width: int) -> Console:
    return Console(file=buf, width=width, height=100, force_terminal=True, color_system=None, legacy_windows=False)


@pytest.mark.parametrize("prose", [Prose("inline"), Prose("footnotes"), Prose("hidden"), Prose("inline", "join")])
@pytest.mark.parametrize("name", [*CORPUS, "all"])
def test_streamed_and_whole_renders_are_the_same(name, prose):
    text = "\n".join(CORPUS.values()) if name == "all" else CORPUS[name]
    whole = io.StringIO()
    print_markdown(console(whole, COLS), with_links(CommitMarkdown, prose), text, None, blank_before=False)
    expected = screen_of(whole.getvalue(), COLS)
    for step in (1, 4, 29, len(text)):
        buf = io.StringIO()
        sink = MarkdownSink(console(buf, COLS), clock=Tick(), show_usage=False, prose=prose)
        for i in range(0, len(text), step):
            sink.handle(TextDelta(text[i : i + step]))
            sink.flush()
        sink.end(TurnResult(content=text))
        assert screen_of(buf.getvalue(), COLS) == expected, step
