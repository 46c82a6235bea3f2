"""The markdown view shows what the model wrote: raw HTML as text, link targets as configured."""

import io
import re

import pytest
from rich.console import Console

from otchat.commands import history
from otchat.config import schema
from otchat.errors import ConfigError, UsageError
from otchat.models import Prose
from otchat.store.db import Message, Store
from otchat.term.markdown import CommitMarkdown, shown_url, with_links
from tests.conftest import make_env

OSC8 = re.compile(r"\x1b\]8;[^\x1b]*\x1b\\")


def render(text, links="inline", width=100, soft_breaks="keep"):
    buf = io.StringIO()
    markdown = with_links(CommitMarkdown, Prose(links, soft_breaks))
    Console(file=buf, width=width, force_terminal=True, color_system=None).print(markdown(text))
    return [line.rstrip() for line in OSC8.sub("", buf.getvalue()).splitlines()]


def test_raw_html_shows_as_the_characters_written():
    text = "\n".join(render("Use <br> here, <kbd>Ctrl</kbd>, List<T>.\n\n<details>\nsecret text\n</details>\n\n"
                            "<!DOCTYPE html>\n<!-- note -->\n"))
    assert "Use <br> here, <kbd>Ctrl</kbd>, List<T>." in text
    assert "<details>\nsecret text\n</details>" in text
    assert "<!DOCTYPE html>" in text and "<!-- note -->" in text


def test_an_html_block_in_a_list_item_is_shown_too():
    assert "<div>inside</div>" in "\n".join(render("- item\n\n  <div>inside</div>\n"))


SOURCES = "See [the docs](https://example.com/docs/x), [api](https://example.com/api) and [again](https://example.com/docs/x).\n\nNext block.\n"


def test_links_inline_show_the_target_after_the_text():
    assert render(SOURCES, width=200)[0] == ("See the docs (https://example.com/docs/x), api (https://example.com/api) and again"
                                  " (https://example.com/docs/x).")


def test_links_footnotes_number_targets_under_their_block():
    lines = [line for line in render(SOURCES, "footnotes") if line]
    assert lines == ["See the docs[1], api[2] and again[1].", "[1] https://example.com/docs/x",
                     "[2] https://example.com/api", "Next block."]


def test_links_hidden_keep_only_the_text():
    assert render(SOURCES, "hidden")[0] == "See the docs, api and again."


@pytest.mark.parametrize("links", ["inline", "footnotes"])
def test_a_url_shown_as_its_own_text_appears_once(links):
    text = "\n".join(render("Bare https://example.net/x, auto <https://example.org/y>, "
                            "[https://example.com/z](https://example.com/z), [example.com](https://example.com/).\n",
                            links))
    for url in ("https://example.net/x", "https://example.org/y", "https://example.com/z"):
        assert text.count(url) == 1, url
    assert "[1]" not in text and "(https://example.com/)" not in text


def test_targets_keep_the_characters_written():
    assert render("[wiki](https://de.wikipedia.org/wiki/Größe)\n")[0] == "wiki (https://de.wikipedia.org/wiki/Größe)"
    assert shown_url("https://x.org/a%20b") == "https://x.org/a%20b"


def test_reference_definitions_are_shown_as_written_one_a_line():
    lines = render("See [the spec][1].\n\n[1]: https://example.com/spec\n[2]: https://example.com/two\n")
    assert [line for line in lines if line] == ["See [the spec][1].", "[1]: https://example.com/spec",
                                                "[2]: https://example.com/two"]


def test_the_links_key_takes_three_values():
    key = schema.TOP["links"]
    assert key.default == "inline"
    assert schema.parse_value(key, "footnotes", "links") == "footnotes"
    with pytest.raises(UsageError, match="inline, footnotes, hidden"):
        schema.parse_value(key, "sideways", "links")
    with pytest.raises(ConfigError, match="links must be one of"):
        schema.validate({"profiles": {"p": {"links": "all"}}}, ConfigError)


def test_history_show_on_a_terminal_uses_the_same_markdown(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('links = "footnotes"\n')
    env = make_env(stdout_isatty=True, home=tmp_path, environ={"COLUMNS": "100"})
    with Store.open(env.data_dir) as store:
        cid = store.new_conversation("html", "m", None)
        store.add_messages(cid, [Message("user", "html?"),
                                 Message("assistant", "Use <br>. See [docs](https://example.com/d).",
                                         reasoning="the user asks about tags")])
    assert history.show_cmd(env, cid, "markdown") == 0
    text = OSC8.sub("", env.stdout.getvalue())
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "Use <br>. See docs[1]." in text and "[1] https://example.com/d" in text
    assert "reasoning" in text and "the user asks about tags" in text


def test_a_single_newline_in_prose_is_a_line_break_as_written():
    assert render("Line A\nLine B") == ["Line A", "Line B"]
    assert render("- one\n  still one\n- two") == ["", " • one", "   still one", " • two"]
    assert render("Line A\nLine B", soft_breaks="join") == ["Line A Line B"]
    assert render("Line A\n\nLine B") == ["Line A", "", "Line B"]  # paragraphs as before


def test_the_soft_breaks_key_takes_keep_or_join(tmp_path):
    key = schema.TOP["soft_breaks"]
    assert key.default == "keep" and schema.parse_value(key, "join", "soft_breaks") == "join"
    with pytest.raises(ConfigError, match="soft_breaks must be one of"):
        schema.validate({"soft_breaks": "wrap"}, ConfigError)


def test_a_live_display_draws_only_characters_whose_width_rich_and_wcwidth_agree_on():
    from otchat.term.widths import agreed

    assert agreed("plain text, ünïcödé, 日本語") == "plain text, ünïcödé, 日本語"
    assert agreed("hi 👋🏽 there 👍🏿") == "hi 👋 there 👍"  # the modifiers rich counts 0, terminals 2
    assert agreed("👨‍👩‍👧 ❤️") == "👨‍👩‍👧 ❤️"  # both count these alike


def test_fit_cuts_to_the_cells_a_terminal_draws():
    from otchat.text import fit

    assert fit("short", 40) == "short" and fit("a" * 50, None) == "a" * 50
    kept = fit("a title long enough to be cut", 30, "  (2 branches)")
    assert kept == "a title long en…  (2 branches)" and len(kept) == 30
    cut = fit("wave 👋🏽👋🏽 wave 👋🏽👋🏽", 12)
    from wcwidth import wcwidth

    assert sum(max(wcwidth(c), 0) for c in cut) <= 12 and cut.endswith("…")
