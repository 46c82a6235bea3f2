"""transport + engine through httpx2.MockTransport: what arrives, what is retried, what fails."""

import json

import httpx2
import pytest

from otchat.engine import run_turn
from otchat.errors import APIError, ExitCode, NetworkError, StreamError, TurnCut
from otchat.models import ChatRequest, TextDelta, ToolCall
from otchat.wire.transport import Transport
from tests.fakeserver import chunk, completion, text_chunks, tool_call_chunks
from tests.helpers import sse_bytes


def pieces(data, size):
    return [data[i : i + size] for i in range(0, len(data), size)]


class Recorder:
    frame = 0.0

    def sent(self):
        pass

    def __init__(self):
        self.events = []
        self.flushes = 0

    def handle(self, event):
        self.events.append(event)

    def flush(self):
        self.flushes += 1

    def text(self):
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))


class Script:
    """A MockTransport handler answering each request with the next scripted response."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.bodies = []

    def __call__(self, request):
        self.bodies.append(json.loads(request.content))
        response = self.responses.pop(0)
        return response(request) if callable(response) else response


def streamed(data_pieces, status=200, headers=None):
    return httpx2.Response(status, headers={"content-type": "text/event-stream", **(headers or {})},
                          content=iter(data_pieces))


REQUEST = ChatRequest("http://test/v1/chat/completions", {"Authorization": "Bearer k"},
                      {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}})


def run(script, sleeps=None, retries=2, timeout=5.0, *, cut=False):
    """One turn; a failure raises its cause (or, with `cut`, the TurnCut carrying the partial reply)."""
    transport = Transport(timeout=timeout, connect_timeout=1, retries=retries,
                          httpx_transport=httpx2.MockTransport(script),
                          sleep=(sleeps.append if sleeps is not None else lambda s: None), rand=lambda: 0.5)
    sink = Recorder()
    try:
        return run_turn(REQUEST, transport, sink), sink
    except TurnCut as stopped:
        if cut:
            raise
        raise stopped.cause from None
    finally:
        transport.close()


TEXT = "Grüße, 世界! 🌍 " * 20


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
@pytest.mark.parametrize("nl", ["\n", "\r\n"])
def test_stream_split_at_any_byte_gives_the_same_text(size, nl):
    data = sse_bytes(text_chunks(TEXT, 5), nl=nl)
    result, sink = run(Script(streamed(pieces(data, size))))
    assert result.content == TEXT == sink.text()
    assert result.usage.total_tokens == 33 and result.finish_reason == "stop"
    assert result.id == "genr_fake" and result.model == "fake/model"


def test_comments_and_event_id_fields_are_ignored():
    events = text_chunks("hello", 2)
    data = b": keep-alive\n\n" + b"".join(
        b"event: message\nid: %d\n" % i + sse_bytes([e], done=False) for i, e in enumerate(events)
    ) + b": ping\n\ndata: [DONE]\n\n"
    result, _ = run(Script(streamed([data])))
    assert result.content == "hello"


def test_output_is_flushed_once_per_network_read_not_per_event():
    data = sse_bytes(text_chunks("x" * 400, 4))
    _, sink = run(Script(streamed([data])))
    assert sink.flushes <= 3  # one read holding ~100 events; then the final flush


@pytest.mark.parametrize("style", ["empty-choices", "on-chunk", "finish"])
def test_usage_in_every_position(style):
    result, _ = run(Script(streamed([sse_bytes(text_chunks("hi", usage=style))])))
    assert result.usage.prompt_tokens == 11


def test_no_usage_is_fine():
    result, _ = run(Script(streamed([sse_bytes(text_chunks("hi", usage=None))])))
    assert result.usage is None and result.content == "hi"


@pytest.mark.parametrize("style", ["once", "repeat"])
def test_tool_call_deltas_merge(style):
    calls = [("search", '{"query": "otters", "n": 3}'), ("fetch", '{"url": "http://x"}')]
    result, sink = run(Script(streamed([sse_bytes(tool_call_chunks(calls, style=style))])))
    assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("search", {"query": "otters", "n": 3}), ("fetch", {"url": "http://x"})]
    assert [e.name for e in sink.events if isinstance(e, ToolCall)] == ["search", "fetch"]
    assert result.finish_reason == "tool_calls"


def test_a_hosted_tool_call_is_shown_where_it_came_before_the_text_after_it():
    hosted = {"index": 0, "id": "call_h", "type": "function", "function": {"name": "firecrawl", "arguments": "{}"}}
    events = [chunk({"role": "assistant", "content": "Let me look. "}), chunk({"tool_calls": [hosted]}),
              *text_chunks("Found it.")[1:]]
    result, sink = run(Script(streamed([sse_bytes(events)])))
    kinds = [type(e).__name__ for e in sink.events if isinstance(e, (TextDelta, ToolCall))]
    assert kinds == ["TextDelta", "ToolCall", "TextDelta", "TextDelta", "TextDelta"]
    assert [e.name for e in sink.events if isinstance(e, ToolCall)] == ["firecrawl"]  # shown once
    assert result.content == "Let me look. Found it." and [c.name for c in result.tool_calls] == ["firecrawl"]


def test_invalid_tool_arguments_do_not_crash():
    result, _ = run(Script(streamed([sse_bytes(tool_call_chunks([("f", "{not json")]))])))
    assert result.tool_calls[0].arguments == "{not json"
    assert result.tool_calls[0].parsed_arguments() is None


def test_json_body_in_reply_to_a_stream_request():
    result, sink = run(Script(httpx2.Response(200, json=completion("whole answer"))))
    assert result.content == "whole answer" == sink.text()
    assert result.usage.total_tokens == 33


def test_a_reply_that_omits_model_reports_the_model_asked_for():
    """OpenTools does not promise a `model` field; the server's wins when it sends one."""
    result, _ = run(Script(httpx2.Response(200, json=completion("whole answer"))))
    assert "model" not in completion("x") and result.model == "m"
    unnamed = [{k: v for k, v in event.items() if k != "model"} for event in text_chunks("hi")]
    result, _ = run(Script(streamed([sse_bytes(unnamed)])))
    assert (result.model, result.id) == ("m", "genr_fake")
    result, _ = run(Script(streamed([sse_bytes(text_chunks("hi", model="served/model"))])))
    assert result.model == "served/model"


def test_no_stream_json_names_the_requested_model(tmp_path):
    from otchat.app import run as cli_run
    from tests.conftest import make_env

    env = make_env(home=tmp_path, transport=httpx2.MockTransport(lambda request: httpx2.Response(
        200, json=completion("whole answer"))))
    assert cli_run(["--no-stream", "--json", "-m", "vendor/asked", "hi"], env) == 0
    assert json.loads(env.stdout.getvalue())["model"] == "vendor/asked"


def test_retries_5xx_then_succeeds_with_backoff():
    sleeps = []
    script = Script(httpx2.Response(503, json={"error": {"message": "busy"}}),
                    httpx2.Response(502, text="bad gateway"),
                    streamed([sse_bytes(text_chunks("ok"))]))
    result, _ = run(script, sleeps)
    assert result.content == "ok" and len(script.bodies) == 3
    assert sleeps == [0.375, 0.75]  # 0.5 * 2**n, times the jitter factor 0.75


def test_retry_after_is_honoured():
    sleeps = []
    script = Script(httpx2.Response(429, headers={"Retry-After": "3"}, json={"error": "slow down"}),
                    streamed([sse_bytes(text_chunks("ok"))]))
    run(script, sleeps)
    assert sleeps == [3.0]


def test_a_huge_retry_after_fails_instead_of_sleeping():
    sleeps = []
    script = Script(httpx2.Response(429, headers={"Retry-After": "3600"}, json={"error": "slow down"}))
    with pytest.raises(APIError, match="3600") as info:
        run(script, sleeps)
    assert sleeps == [] and info.value.exit_code == ExitCode.RATE_LIMIT


@pytest.mark.parametrize("status, code", [(500, ExitCode.API_FAILURE), (429, ExitCode.RATE_LIMIT),
                                          (408, ExitCode.NETWORK)])
def test_retries_exhausted(status, code):
    sleeps = []
    script = Script(*[httpx2.Response(status, json={"error": {"message": "nope"}})] * 3)
    with pytest.raises(APIError) as info:
        run(script, sleeps)
    assert info.value.exit_code == code and len(script.bodies) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("status, code", [(400, 4), (401, 3), (403, 3), (402, 8), (404, 4), (422, 4)])
def test_not_retried(status, code):
    script = Script(httpx2.Response(status, json={"error": {"message": "no"}}))
    with pytest.raises(APIError) as info:
        run(script)
    assert info.value.exit_code == code and len(script.bodies) == 1


def test_connect_errors_are_retried_then_exit_6():
    def refuse(request):
        raise httpx2.ConnectError("connection refused")

    sleeps = []
    script = Script(refuse, refuse, refuse)
    with pytest.raises(NetworkError, match="cannot connect") as info:
        run(script, sleeps)
    assert info.value.exit_code == ExitCode.NETWORK and len(sleeps) == 2


def test_rejected_stream_options_are_dropped_once():
    script = Script(httpx2.Response(400, json={"error": {"message": "Unrecognized argument: stream_options"}}),
                    streamed([sse_bytes(text_chunks("ok", usage=None))]))
    result, _ = run(script, retries=0)
    assert "stream_options" in script.bodies[0] and "stream_options" not in script.bodies[1]
    assert result.content == "ok"


def test_nothing_is_retried_once_a_reply_began():
    def broken():
        yield sse_bytes([chunk({"content": "partial "})], done=False)
        raise httpx2.RemoteProtocolError("peer closed connection")

    script = Script(httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=broken()))
    with pytest.raises(TurnCut) as info:
        run(script, cut=True)
    assert len(script.bodies) == 1 and isinstance(info.value.cause, StreamError)
    assert info.value.partial.content == "partial " and info.value.partial.interrupted


def test_stream_without_done_or_finish_is_exit_7_keeping_text():
    script = Script(streamed([sse_bytes([chunk({"content": "half an ans"})], done=False)]))
    with pytest.raises(TurnCut) as info:
        run(script, cut=True)
    assert info.value.cause.exit_code == ExitCode.BAD_STREAM and info.value.partial.content == "half an ans"


def test_finish_reason_without_done_is_complete():
    result, _ = run(Script(streamed([sse_bytes(text_chunks("fine"), done=False)])))
    assert result.content == "fine" and not result.interrupted


def test_in_stream_error_event_exits_5():
    data = sse_bytes([chunk({"content": "so far"}), {"error": {"message": "upstream exploded"}}], done=False)
    with pytest.raises(TurnCut) as info:
        run(Script(streamed([data])), cut=True)
    cause = info.value.cause
    assert isinstance(cause, APIError) and "upstream exploded" in str(cause)
    assert cause.exit_code == ExitCode.API_FAILURE and info.value.partial.content == "so far"


def test_read_timeout_is_exit_6():
    def slow():
        yield sse_bytes([chunk({"content": "a"})], done=False)
        raise httpx2.ReadTimeout("timed out")

    with pytest.raises(TurnCut) as info:
        run(Script(httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=slow())), cut=True)
    assert isinstance(info.value.cause, NetworkError) and "no data" in str(info.value.cause)
    assert info.value.partial.content == "a"


def test_keyboard_interrupt_keeps_the_partial_reply():
    def interrupted():
        yield sse_bytes([chunk({"content": "before ctrl-c"})], done=False)
        raise KeyboardInterrupt

    with pytest.raises(TurnCut) as info:
        run(Script(httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=interrupted())), cut=True)
    assert isinstance(info.value.cause, KeyboardInterrupt)
    assert info.value.partial.content == "before ctrl-c" and info.value.partial.interrupted


def test_verbose_log_never_contains_the_key():
    lines = []
    transport = Transport(timeout=5, connect_timeout=1, retries=0, log=lines.append,
                          httpx_transport=httpx2.MockTransport(Script(streamed([sse_bytes(text_chunks("x"))]))))
    request = ChatRequest("http://t/v1/chat/completions", {"Authorization": "Bearer sk-very-secret-key"},
                          {"model": "m", "messages": [], "stream": True})
    run_turn(request, transport, Recorder())
    log = "\n".join(lines)
    assert "sk-very-secret-key" not in log and "Bearer ***" in log and "< 200 OK" in log


def test_a_turn_of_several_requests_is_reported_whole():
    from otchat.models import ToolCall, TurnResult, Usage

    first = TurnResult(id="a", content="Let me check.", tool_calls=[ToolCall(0, "c0", "peek", "{}")],
                       finish_reason="tool_calls", elapsed=1.0,
                       usage=Usage.from_dict({"prompt_tokens": 10, "completion_tokens": 2, "cost": 0.5,
                                              "prompt_tokens_details": {"cached_tokens": 4}}))
    second = TurnResult(id="b", model="m", content="Done.", finish_reason="stop", elapsed=0.5,
                        usage=Usage.from_dict({"prompt_tokens": 20, "completion_tokens": 3, "cost": 0.25,
                                               "prompt_tokens_details": {"cached_tokens": 6}}))
    whole = TurnResult.whole([first, second])
    assert (whole.id, whole.model, whole.content, whole.finish_reason) == ("b", "m", "Let me check.\n\nDone.", "stop")
    assert [c.id for c in whole.tool_calls] == ["c0"] and whole.requests == 2 and whole.elapsed == 1.5
    assert whole.usage is not None and whole.usage.to_dict() == {
        "prompt_tokens": 30, "completion_tokens": 5, "cost": 0.75, "prompt_tokens_details": {"cached_tokens": 10}}
    assert not whole.interrupted and TurnResult.whole([first, second], interrupted=True).interrupted
    assert TurnResult.whole([first]) is first and TurnResult.whole([first], interrupted=True).interrupted
    assert not first.interrupted
