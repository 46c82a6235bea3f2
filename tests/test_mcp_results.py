"""A tool result's content by type (otchat/mcp/results.py): text, images and audio as a line,
resource links and embedded resources with their URI, structured content as JSON (checked
against the tool's outputSchema); what the model receives; --json; the screen. Against
@modelcontextprotocol/server-everything, and unit checks of the conversion."""

from __future__ import annotations

import base64
import json

import pytest
from mcp.types import (
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from otchat.mcp.results import items_of, mismatch, model_text
from otchat.models import ToolResult
from otchat.term.sinks import item_lines, tool_result_line, visible_event
from tests import everything
from tests.fakeserver import Stream, text_chunks, tool_call_chunks
from tests.helpers import run_in_pty

PNG = base64.b64encode(b"\x89PNG" + b"\0" * 1196).decode()


def calls(name, arguments):
    return Stream(tool_call_chunks([(name, json.dumps(arguments))]))


def test_each_item_keeps_its_type_and_the_model_gets_text_and_a_line_for_the_rest():
    result = CallToolResult(content=[
        TextContent(text="Here it is:"),
        ImageContent(data=PNG, mime_type="image/png"),
        ResourceLink(uri="demo://r/1", name="Resource 1", mime_type="text/plain"),
        EmbeddedResource(resource=TextResourceContents(uri="demo://r/2", text="the text of r2", mime_type="text/plain")),
    ])
    items = items_of(result)
    assert [item["type"] for item in items] == ["text", "image", "resource_link", "resource"]
    assert items[1] == {"type": "image", "mime": "image/png", "size": 1200}
    sent = model_text(items)
    assert sent.splitlines()[0] == "Here it is:"
    assert "[image image/png 1.2 kB] (not sent: only text goes to the model)" in sent
    assert "[resource link demo://r/1 text/plain (Resource 1)]" in sent
    assert "demo://r/2:\n```\nthe text of r2\n```" in sent
    shown = ToolResult("c1", "s__t", sent, items=items)
    assert tool_result_line(shown) == "↳ s__t: Here it is:"
    assert item_lines(shown)[0] == "[image image/png 1.2 kB]"


def test_structured_content_goes_as_json_when_no_text_renders_it_and_is_held_to_the_schema():
    schema = {"type": "object", "properties": {"temperature": {"type": "number"}}, "required": ["temperature"]}
    alone = items_of(CallToolResult(content=[], structured_content={"temperature": 21.5}))
    assert model_text(alone) == '{"temperature": 21.5}' and mismatch(alone, schema) is None
    wrong = items_of(CallToolResult(content=[], structured_content={"temperature": "warm"}))
    assert mismatch(wrong, schema) == ("its structured content does not match its outputSchema at temperature: "
                                       "'warm' is not of type 'number'")
    assert "no structured content" in (mismatch(items_of(CallToolResult(content=[TextContent(text="hi")])), schema) or "")
    both = items_of(CallToolResult(content=[TextContent(text="21.5 degrees")], structured_content={"temperature": 21.5}))
    assert model_text(both) == "21.5 degrees"


def test_a_server_s_control_characters_in_an_item_are_shown_not_sent_to_the_terminal():
    items = [{"type": "resource_link", "uri": "demo://x\x1b]52;c;aGk=\x07", "name": "n\x1b[2J"}]
    shown = visible_event(ToolResult("c", "s__t", "", items=items))
    assert "\x1b" not in json.dumps(shown.items, ensure_ascii=False) and "\x1b" not in item_lines(shown)[0]


@pytest.fixture
def configured(home):
    spec = everything.command().split("=", 1)[1].split()
    (home / "config" / "config.toml").write_text(
        f'[mcp.servers.everything]\ncommand = "{spec[0]}"\nargs = {json.dumps(spec[1:])}\n')


@pytest.mark.process
def test_an_image_result_is_a_line_and_the_model_is_told_of_it(otchat, server, configured):
    server.enqueue(calls("everything__get-tiny-image", {}), Stream(text_chunks("a logo")))
    r = otchat("-y", "show me the logo")
    assert r.code == 0, r.stderr
    assert "tool result: everything__get-tiny-image: [image image/png" in r.stderr
    sent = server.last_body["messages"][-1]
    assert sent["role"] == "tool" and "[image image/png" in sent["content"] and "not sent" in sent["content"]
    assert "iVBOR" not in sent["content"]  # no base64 for the model


@pytest.mark.process
def test_json_output_carries_each_item_with_its_type(otchat, server, configured):
    server.enqueue(calls("everything__get-structured-content", {"location": "Chicago"}), Stream(text_chunks("ok")))
    r = otchat("-y", "--format", "jsonl", "weather?")
    assert r.code == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    result = next(event for event in events if event["type"] == "tool_result")
    kinds = [item["type"] for item in result["items"]]
    assert kinds == ["text", "structured"] and "temperature" in result["items"][1]["json"]
    assert not result["is_error"]


@pytest.mark.process
def test_on_a_terminal_an_image_is_one_dim_line_under_the_result(server, home, configured):
    server.enqueue(calls("everything__get-tiny-image", {}), Stream(text_chunks("a logo")))
    code, screen, raw = run_in_pty(server, home, "-y", "show me the logo")
    assert code == 0, screen
    line = next(row for row in screen if "[image image/png" in row)
    assert line.strip().startswith("[image image/png") and "kB]" in line
    assert b"iVBOR" not in raw


@pytest.mark.process
def test_the_log_keeps_each_item_s_type_and_history_show_shows_them_as_the_screen_did(otchat, server, configured):
    server.enqueue(calls("everything__get-tiny-image", {}), Stream(text_chunks("a logo")))
    assert otchat("-y", "show me the logo").code == 0
    cid = otchat("history", "list", "--json").stdout
    cid = json.loads(cid)[0]["id"]
    shown = otchat("history", "show", cid).stdout
    assert "Here's the image you requested:" in shown and "[image image/png" in shown
    assert "not sent" not in shown  # what the model was told is not what the screen showed
    exported = json.loads(otchat("history", "export", cid, "--format", "json").stdout)
    tool = next(m for m in exported["messages"] if m["role"] == "tool")
    assert [item["type"] for item in tool["items"]] == ["text", "image", "text"]


@pytest.mark.process
def test_with_content_parts_the_images_go_to_the_model_in_a_message_after_the_results(otchat, server, home,
                                                                                       configured):
    config = home / "config" / "config.toml"
    config.write_text("content_parts = true\n" + config.read_text())
    server.enqueue(calls("everything__get-tiny-image", {}), Stream(text_chunks("a logo")))
    assert otchat("-y", "show me the logo").code == 0
    *_, tool, images = server.last_body["messages"]
    assert tool["role"] == "tool" and "[image image/png" in tool["content"] and "sent as an image" in tool["content"]
    assert images["role"] == "user" and images["content"][0]["type"] == "text"
    assert images["content"][1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    # The log keeps what it showed, not the bytes: a conversation continued later sends the note.
    server.enqueue(Stream(text_chunks("again")))
    assert otchat("-c", "and now?").code == 0
    later = [m for m in server.last_body["messages"] if m["role"] == "user"]
    assert later[1]["content"] == "The images the tool results above returned:"
    assert "base64" not in json.dumps(server.last_body)
