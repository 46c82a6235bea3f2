"""The fake server run by hand (README "Try it without an account"): each demo does what it says."""

import json
import sys
from pathlib import Path

import pytest

from tests.fakedemo import demo_reply

TEST_SERVER = Path(__file__).with_name("mcp_testserver.py")


@pytest.fixture
def demo(server):
    server.script = demo_reply
    yield server
    server.script = None


def test_anything_else_is_echoed(otchat, demo):
    assert otchat("hello there").stdout == "You said: hello there\n"


def test_slow_streams_a_long_markdown_answer(otchat, demo):
    r = otchat("slow", "0")
    assert r.code == 0 and r.stdout.startswith("# A slow answer\n") and "def fib" in r.stdout


def test_think_sends_reasoning_before_the_answer(otchat, demo):
    r = otchat("-v", "think")
    assert (r.code, r.stdout) == (0, "The answer is 42.\n") and "Think, then answer" in r.stderr


@pytest.mark.parametrize("stream", [[], ["--no-stream"]])
def test_tool_shows_a_hosted_call_then_the_answer(otchat, demo, stream):
    r = otchat(*stream, "tool")
    assert r.code == 0 and "example.com says" in r.stdout
    assert 'tool call: firecrawl__scrape {"url":"https://example.com"}' in r.stderr


def test_tool_name_calls_your_function(otchat, demo, home):
    fn = home / "weather.json"
    fn.write_text(json.dumps({"name": "weather", "parameters": {"type": "object"}}))
    r = otchat("--json", "--function", str(fn), "tool", "weather", '{"city": "Oslo"}')
    calls = json.loads(r.stdout)["tool_calls"]
    assert r.code == 0 and [(c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("weather", '{"city": "Oslo"}')]


def test_tool_name_runs_a_local_mcp_tool_and_quotes_its_result(otchat, demo):
    r = otchat("--yes", "--mcp-command", f"t={sys.executable} {TEST_SERVER}", "tool", "t__echo", '{"text": "hi"}',
               timeout=90)
    assert r.code == 0 and "The tool answered:" in r.stdout and "echo: hi" in r.stdout


@pytest.mark.parametrize("status, code", [(401, 3), (404, 4), (500, 5)])
def test_error_status_is_that_error(otchat, demo, status, code):
    r = otchat("--retries", "0", "error", str(status), expect=code)
    assert r.code == code and f"a demo error with status {status}" in r.stderr


def test_cut_breaks_off_mid_answer(otchat, demo):
    r = otchat("cut", expect=7)
    assert r.code == 7 and r.stdout.startswith("This answer breaks off")
