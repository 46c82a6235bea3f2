"""request: the pure builder, message composition and flag parsing."""

import pytest

from otchat.config.resolve import Flags, Settings, resolve
from otchat.errors import UsageError
from otchat.wire.request import (
    build,
    compose_user_message,
    fenced,
    function_tool,
    parse_option,
    redacted,
    tool_choice,
)


def settings(**kw):
    base = dict(model="m/x", base_url="http://h/v1", api_key="sk-secret-123456789")
    base.update(kw)
    return Settings(**base)


def test_streaming_body_asks_for_usage():
    req = build(settings(), [{"role": "user", "content": "hi"}])
    assert req.url == "http://h/v1/chat/completions"
    assert req.body == {
        "model": "m/x",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert req.headers["Authorization"] == "Bearer sk-secret-123456789"
    assert req.headers["Accept"] == "text/event-stream"


def test_no_stream_body_has_no_stream_fields():
    req = build(settings(stream=False), [{"role": "user", "content": "hi"}])
    assert "stream" not in req.body and "stream_options" not in req.body


def test_system_tools_and_sampling_fields():
    s = resolve(
        Flags(system="be brief", tools=["firecrawl", "exa"], tool_choice="required", temperature=0.2,
              max_tokens=50, functions=[function_tool({"name": "f", "parameters": {"type": "object"}}, "x")]),
        {}, {},
    )
    body = build(s, [{"role": "user", "content": "q"}]).body
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["tools"] == [
        {"type": "mcp", "ref": "firecrawl"},
        {"type": "mcp", "ref": "exa"},
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
    ]
    assert body["tool_choice"] == "required"
    assert body["temperature"] == 0.2 and body["max_tokens"] == 50


def test_options_override_and_extend_the_body():
    body = build(settings(options={"top_p": 0.5, "stream": False}), []).body
    assert body["top_p"] == 0.5 and body["stream"] is False


def test_no_key_sends_no_authorization():
    assert "Authorization" not in build(settings(api_key=None), []).headers


def test_redacted_hides_the_key():
    shown = redacted(build(settings(), []))
    assert shown["headers"]["Authorization"] == "Bearer ***"
    assert "sk-secret" not in repr(shown)


def test_tool_choice_name_becomes_function_object():
    assert tool_choice("auto") == "auto"
    assert tool_choice("lookup") == {"type": "function", "function": {"name": "lookup"}}


@pytest.mark.parametrize(
    "prompt, files, stdin, expected",
    [
        ("hi", [], None, "hi"),
        ("summarise", [], "DATA\n", "summarise\n\nDATA\n"),
        ("before {input} after", [], "DATA", "before DATA after"),
        ("a {{input}} b", [], None, "a {input} b"),
        ("{{input}} is {input}", [], "DATA", "{input} is DATA"),
        ("", [], "DATA", "DATA"),
        ("look", [("a.py", "x = 1\n")], None, "look\n\na.py\n```\nx = 1\n```"),
        ("look", [("a.md", "no newline")], "IN", "look\n\na.md\n```\nno newline\n```\n\nIN"),
    ],
)
def test_compose_user_message(prompt, files, stdin, expected):
    assert compose_user_message(prompt, files, stdin) == expected


def test_input_placeholder_needs_piped_input():
    with pytest.raises(UsageError, match=r"\{input\}"):
        compose_user_message("translate {input}", [], None)
    # Without placeholders (a REPL message), the text is sent as written.
    assert compose_user_message("what is {input}?", [], None, placeholder=False) == "what is {input}?"


def test_fence_outgrows_backticks_inside():
    block = fenced("r.md", "```py\ncode\n```\n")
    assert block.startswith("r.md\n````\n") and block.endswith("\n````")


@pytest.mark.parametrize(
    "item, expected",
    [
        ("top_p=0.5", ("top_p", 0.5)),
        ("stop=[\"x\"]", ("stop", ["x"])),
        ("user=alice", ("user", "alice")),
        ("flag=true", ("flag", True)),
        ("empty=", ("empty", "")),
        ("eq=a=b", ("eq", "a=b")),
    ],
)
def test_parse_option(item, expected):
    assert parse_option(item) == expected


@pytest.mark.parametrize("item", ["novalue", "=x"])
def test_parse_option_rejects_malformed(item):
    with pytest.raises(UsageError):
        parse_option(item)


def test_function_tool_accepts_both_shapes():
    bare = {"name": "f", "description": "d", "parameters": {"type": "object"}}
    assert function_tool(bare, "x") == {"type": "function", "function": bare}
    whole = {"type": "function", "function": bare}
    assert function_tool(whole, "x") == whole


@pytest.mark.parametrize("bad", [{"description": "no name"}, [], {"name": "f", "parameters": "str"}])
def test_function_tool_rejects_bad_definitions(bad):
    with pytest.raises(UsageError, match=r"f\.json"):
        function_tool(bad, "f.json")
