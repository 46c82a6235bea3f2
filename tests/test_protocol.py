"""protocol: chunks, completions and error bodies into typed events."""

import json

import pytest

from otchat.errors import APIError, ExitCode, StreamError
from otchat.models import Finish, Meta, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from otchat.wire.error_body import error_message
from otchat.wire.protocol import ChunkDecoder, ToolCallAccumulator, completion_events


def test_content_reasoning_finish_and_usage():
    d = ChunkDecoder()
    events = d.decode(json.dumps({"id": "g1", "model": "m", "choices": [
        {"delta": {"reasoning_content": "think", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}))
    assert events[0] == Meta("g1", "m")
    assert events[1:4] == [ReasoningDelta("think"), TextDelta("Hi"), Finish("stop")]
    assert isinstance(events[4], Usage) and events[4].total_tokens == 3
    assert Meta not in map(type, d.decode('{"id": "g1", "choices": [{"delta": {"content": "x"}}]}'))


def test_reasoning_field_variant():
    assert ChunkDecoder().decode('{"choices":[{"delta":{"reasoning":"r"}}]}') == [ReasoningDelta("r")]


def test_usage_only_chunk_with_empty_choices():
    events = ChunkDecoder().decode('{"choices": [], "usage": {"total_tokens": 7}}')
    assert [type(e) for e in events] == [Usage] and events[0].total_tokens == 7


def test_in_stream_error_is_exit_5():
    with pytest.raises(APIError, match="overloaded") as info:
        ChunkDecoder().decode('{"error": {"message": "overloaded", "type": "server_error"}}')
    assert info.value.exit_code == ExitCode.API_FAILURE


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"str"'])
def test_garbage_is_a_stream_error(data):
    with pytest.raises(StreamError):
        ChunkDecoder().decode(data)


def merged(deltas):
    acc = ToolCallAccumulator()
    for delta in deltas:
        acc.add(delta)
    return [(c.id, c.name, c.arguments) for c in acc.calls()]


def test_tool_calls_merge_by_index():
    assert merged([
        ToolCallDelta(0, "c0", "search", '{"q":'),
        ToolCallDelta(1, "c1", "fetch", '{"u'),
        ToolCallDelta(0, None, None, ' "x"}'),
        ToolCallDelta(1, None, None, '":1}'),
    ]) == [("c0", "search", '{"q": "x"}'), ("c1", "fetch", '{"u":1}')]


def test_tool_calls_with_id_and_name_repeated_in_every_delta():
    assert merged([
        ToolCallDelta(0, "c0", "search", '{"q":'),
        ToolCallDelta(0, "c0", "search", ' "x"}'),
    ]) == [("c0", "search", '{"q": "x"}')]


def test_tool_calls_without_index():
    d = ChunkDecoder()
    deltas = []
    for data in [
        '{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{"}}]}}]}',
        '{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}',
        '{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"[]"}}]}}]}',
    ]:
        deltas += d.decode(data)
    assert merged(deltas) == [("a", "f", "{}"), ("b", "g", "[]")]


def test_completion_body_becomes_events():
    events = completion_events({"id": "g", "choices": [{"message": {
        "content": "done", "tool_calls": [{"id": "c", "type": "function",
                                           "function": {"name": "f", "arguments": "{}"}}]},
        "finish_reason": "tool_calls"}], "usage": {"total_tokens": 5}})
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Meta", "TextDelta", "ToolCallDelta", "Usage", "Finish"]
    assert events[-1] == Finish("tool_calls")


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'{"error": {"message": "bad model", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}',
         "400 Bad Request: bad model [model_not_found]"),
        (b'{"error": "plain string"}', "400 Bad Request: plain string"),
        (b'{"message": "top-level message"}', "400 Bad Request: top-level message"),
        (b'{"detail": "fastapi style"}', "400 Bad Request: fastapi style"),
        (b'{"detail": [{"loc": ["body"], "msg": "field required"}]}', "400 Bad Request: field required"),
        (b"<html><body><h1>Bad gateway</h1></body></html>", "400 Bad Request: Bad gateway"),
        (b"", "400 Bad Request"),
    ],
)
def test_error_bodies_reduce_to_one_line(body, expected):
    line = error_message(400, "Bad Request", body)
    assert line == expected and "\n" not in line


@pytest.mark.parametrize("data", ['{"choices": 5}', '{"choices": "abc"}', '{"choices": [{"delta": 3}]}',
                                  '{"usage": 7}', '{"choices": [{"delta": {"tool_calls": 4}}]}'])
def test_odd_shapes_are_ignored_not_crashes(data):
    decoder = ChunkDecoder()
    decoder.decode('{"id": "x", "choices": []}')  # past the first chunk: the fast path is live
    assert [type(e) for e in decoder.decode(data)] in ([], [Meta])
