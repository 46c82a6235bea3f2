"""`-x/--extract`, `--extract-last` and `/extract`: only the code of the answer, exact into a pipe."""

import pytest

from tests.fakeserver import Stream, text_chunks
from tests.helpers import run_in_pty
from tests.test_cmd import last_logged

NONE = "Strings are reversed with slicing; no code needed.\n"
ONE = "Here:\n\n```python\ndef rev(s):\n    return s[::-1]\n```\n\nThat's all.\n"
SEVERAL = ("First:\n\n```python\ndef rev(s):\n    return s[::-1]\n```\n\nA test:\n\n"
           "```python\nassert rev('ab') == 'ba'\n```\n\nRun:\n\n```sh\npython -m pytest\n```\n")
WARNING = "otchat: warning: the answer has no fenced code block; printing all of it\n"


@pytest.mark.parametrize(("answer", "flag", "stdout", "stderr"), [
    (ONE, "-x", "def rev(s):\n    return s[::-1]\n", ""),
    (SEVERAL, "--extract", "def rev(s):\n    return s[::-1]\n\nassert rev('ab') == 'ba'\n\npython -m pytest\n", ""),
    (SEVERAL, "--extract-last", "python -m pytest\n", ""),
    (NONE, "-x", NONE, WARNING),
])
def test_into_a_pipe_the_code_is_exact(otchat, server, answer, flag, stdout, stderr):
    server.enqueue(Stream(text_chunks(answer, 7)))
    r = otchat(flag, "a python function that reverses a string")
    assert (r.code, r.stdout, r.stderr) == (0, stdout, stderr)


def test_the_history_keeps_the_whole_answer(otchat, server):
    server.enqueue(Stream(text_chunks(ONE, 7)))
    otchat("-x", "reverse")
    assert last_logged(otchat)[-1] == ("assistant", ONE)


def test_extract_and_json_contradict(otchat):
    r = otchat("-x", "--json", "hi", expect=2)
    assert r.code == 2 and "contradict" in r.stderr


def test_on_a_terminal_only_the_code_shows(server, home):
    server.enqueue(Stream(text_chunks(SEVERAL, 7)))
    code, lines, raw = run_in_pty(server, home, "-x", "reverse")
    shown = [line for line in lines if line.strip()]
    assert code == 0
    assert shown == ["def rev(s):", "    return s[::-1]", "assert rev('ab') == 'ba'", "python -m pytest"]
    assert b"\x1b[" in raw  # highlighted


def test_on_a_terminal_one_block(server, home):
    server.enqueue(Stream(text_chunks(ONE, 7)))
    code, lines, _ = run_in_pty(server, home, "-x", "reverse")
    assert [line for line in lines if line.strip()] == ["def rev(s):", "    return s[::-1]"]


def test_on_a_terminal_no_block_shows_the_answer_and_warns(server, home):
    server.enqueue(Stream(text_chunks(NONE, 7)))
    code, lines, _ = run_in_pty(server, home, "-x", "reverse")
    text = "\n".join(lines)
    assert code == 0
    assert "no fenced code block" in text and "Strings are reversed with slicing" in text


def test_slash_extract_prints_the_code_of_the_last_reply(otchat, server):
    server.enqueue(Stream(text_chunks(SEVERAL, 7)))
    r = otchat("chat", input="write it\n/extract last\n")
    assert r.code == 0
    assert r.stdout.endswith(SEVERAL.rstrip("\n") + "\n" + "python -m pytest\n"), r.stdout


def test_slash_extract_before_any_reply(otchat, server):
    r = otchat("chat", input="/extract\n")
    assert "no reply to extract code from yet" in r.stdout + r.stderr
