"""What the user hands in besides the prompt, as a user hands it in: piped stdin, `{input}`, `-f` files."""

import pytest


def one_line(r):
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("otchat: error: "), r.stderr
    return lines[0]


def test_input_placeholder_takes_stdin_without_its_final_newline(otchat, server):
    otchat("Translate: {input} (to French)", input="good morning\n")
    assert server.last_body["messages"][0]["content"] == "Translate: good morning (to French)"
    otchat("[{input}]", input="two lines\nhere\n\n")  # only the final newline goes
    assert server.last_body["messages"][0]["content"] == "[two lines\nhere\n]"
    otchat("[{input}]", input="crlf\r\n")
    assert server.last_body["messages"][0]["content"] == "[crlf]"


def test_appended_stdin_keeps_its_final_newline(otchat, server):
    otchat("summarise", input="text\n")
    assert server.last_body["messages"][0]["content"] == "summarise\n\ntext\n"


@pytest.mark.parametrize("prompt", ["", " ", "  \t ", "\n"])
def test_a_prompt_of_only_whitespace_is_refused_like_an_empty_one(otchat, server, prompt):
    r = otchat(prompt, input=b"", expect=2)
    assert one_line(r).startswith("otchat: error: no prompt given") and server.requests == []


def test_a_whitespace_prompt_with_piped_stdin_sends_the_stdin(otchat, server):
    otchat("  ", input="just this")
    assert server.last_body["messages"][0]["content"] == "just this"


def test_file_dash_reads_stdin_as_a_named_block_not_appended_again(otchat, server, home):
    notes = home / "notes.txt"
    notes.write_text("buy otter food\n")
    otchat("-f", str(notes), "-f", "-", "compare", input="buy owl food\n")
    assert server.last_body["messages"][0]["content"] == (
        f"compare\n\n{notes}\n```\nbuy otter food\n```\n\nstdin\n```\nbuy owl food\n```")


def test_file_dash_alone_is_the_message(otchat, server):
    otchat("-f", "-", input="some text")
    assert server.last_body["messages"][0]["content"] == "stdin\n```\nsome text\n```"


def test_file_dash_in_cmd_reads_stdin_once(otchat, server):
    server.answer("ls")
    otchat("cmd", "-f", "-", "list it", input="context\n")
    assert server.last_body["messages"][-1]["content"] == "list it\n\nstdin\n```\ncontext\n```"


def test_file_dash_with_an_input_placeholder_is_refused(otchat, server):
    r = otchat("-f", "-", "translate {input}", input="hola", expect=2)
    assert "{input}" in one_line(r) and "-f -" in r.stderr and server.requests == []


@pytest.mark.parametrize("url", ["https://example.com/notes.txt", "http://example.com/a", "HTTPS://example.com"])
def test_file_url_is_refused_with_a_hint(otchat, server, url):
    r = otchat("-f", url, "summarise", expect=2)
    line = one_line(r)
    assert url in line and "curl" in line and server.requests == []


def test_file_url_is_refused_in_chat_too(otchat, server):
    r = otchat("chat", "-f", "https://example.com/a", input="hi\n", expect=2)
    assert "https://example.com/a" in one_line(r) and server.requests == []


def test_file_dash_in_chat_is_refused_as_chat_reads_its_messages_from_stdin(otchat, server):
    r = otchat("chat", "-f", "-", input="hi\n", expect=2)
    assert "-f -" in one_line(r) and server.requests == []


def test_file_dash_twice_is_refused(otchat, server):
    r = otchat("-f", "-", "-f", "-", "compare", input="x", expect=2)
    assert "-f -" in one_line(r) and server.requests == []


@pytest.mark.parametrize("request_words", [[""], ["  "]])
def test_cmd_with_a_request_of_only_whitespace_is_refused_like_none(otchat, server, request_words):
    r = otchat("cmd", *request_words, expect=2)
    assert one_line(r).startswith("otchat: error: no request given") and server.requests == []
