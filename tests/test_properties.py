"""Property-based tests of the protocol path: any split, any text, any garbage."""

import json

import httpx2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from otchat.engine import run_turn
from otchat.errors import OtchatError, TurnCut
from otchat.models import ChatRequest, TextDelta
from otchat.wire.transport import Transport
from tests.fakeserver import chunk, tool_call_chunks

SETTINGS = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
REQUEST = ChatRequest("http://t/v1/chat/completions", {}, {"model": "m", "messages": [], "stream": True})


class Sink:
    frame = 0.0

    def sent(self):
        pass

    def __init__(self):
        self.text = []

    def handle(self, event):
        if type(event) is TextDelta:
            self.text.append(event.text)

    def flush(self):
        pass


def stream_bytes(events, nl="\n", comments=()):
    out = []
    for i, event in enumerate(events + ["[DONE]"]):
        if i in comments:
            out.append(f": keep-alive{nl}{nl}")
        payload = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        out.append(f"data: {payload}{nl}{nl}")
    return "".join(out).encode()


def cut(data, cuts):
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return [piece for piece in pieces if piece]


def run(pieces):
    def handler(request):
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(pieces))

    transport = Transport(timeout=5, connect_timeout=1, retries=0, httpx_transport=httpx2.MockTransport(handler))
    sink = Sink()
    try:
        return run_turn(REQUEST, transport, sink), sink
    finally:
        transport.close()


texts = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=30)


@SETTINGS
@given(parts=texts, cuts=st.lists(st.integers(min_value=0), max_size=40), crlf=st.booleans(),
       comments=st.sets(st.integers(min_value=0, max_value=40), max_size=5))
def test_any_split_gives_the_same_text(parts, cuts, crlf, comments):
    events = [chunk({"content": p}) for p in parts] + [chunk({}, "stop")]
    data = stream_bytes(events, "\r\n" if crlf else "\n", comments)
    result, sink = run(cut(data, cuts))
    assert result.content == "".join(parts) == "".join(sink.text)
    assert result.finish_reason == "stop"


@SETTINGS
@given(calls=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
                                st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=3)),
                      min_size=1, max_size=4),
       style=st.sampled_from(["once", "repeat"]), cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_any_split_gives_the_same_tool_calls(calls, style, cuts):
    pairs = [(name, json.dumps(args, ensure_ascii=False)) for name, args in calls]
    data = stream_bytes(tool_call_chunks(pairs, style=style))
    result, _ = run(cut(data, cuts))
    assert [(c.name, json.loads(c.arguments)) for c in result.tool_calls] == [(n, a) for n, a in calls]


@SETTINGS
@given(text=st.text(min_size=1))
def test_any_unicode_round_trips(text):
    # A reply that opens with a <think> block is split into reasoning and answer on purpose
    # (tests/test_thinking.py holds that split to every cut of the stream); any other text
    # is the answer exactly.
    assume(not text.lstrip().lower().startswith(("<think>", "<thinking>")))
    result, _ = run([stream_bytes([chunk({"content": text}), chunk({}, "stop")])])
    assert result.content == text


garbage_lines = st.one_of(
    st.text(max_size=40).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
    st.sampled_from(["data: {", "data: []", "data: null", 'data: {"choices": 5}', 'data: {"choices": [7]}',
                     'data: {"choices": "abc"}', 'data: {"choices": [{"delta": 3}]}', 'data: {"usage": 7}',
                     'data: {"choices": [{"delta": {"tool_calls": 4}}]}', 'data: {"id": 1, "model": []}',
                     'data: {"choices": [{"finish_reason": 9, "delta": {}}]}',
                     "data:", "event: error", "id: 9", "retry: x", ": comment", 'data: {"error": "bad"}',
                     'data: {"choices": [{"delta": {"tool_calls": [{"index": "x"}]}}]}',
                     'data: {"choices": [{"delta": {"content": 5}}]}', "data: [DONE]"]),
)


@SETTINGS
@given(lines=st.lists(garbage_lines, max_size=20), truncate=st.integers(min_value=0, max_value=2000),
       cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_garbage_raises_only_otchat_errors(lines, truncate, cuts):
    data = "\n".join(lines).encode()[:truncate]
    try:
        run(cut(data, cuts))
    except TurnCut as stopped:  # the engine's one way out: what stopped the turn, and the partial reply
        assert isinstance(stopped.cause, OtchatError), repr(stopped.cause)


scalars = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False))
text_chunks = st.builds(
    lambda text, role, finish, meta, tail: {
        **meta, "choices": [{"index": 0, "delta": {**role, "content": text}, "finish_reason": finish}], **tail},
    st.text(), st.sampled_from([{}, {"role": "assistant"}, {"role": "user"}]), st.sampled_from([None, None, "stop"]),
    st.sampled_from([{}, {"id": "c-1", "model": "m"}, {"id": "c\"q", "created": -3}, {"model": None}]),
    st.sampled_from([{}, {"usage": None}, {"usage": None, "obfuscation": "ab"}, {"usage": {"total_tokens": 2}}]),
)
any_chunks = st.fixed_dictionaries(
    {"choices": st.lists(st.fixed_dictionaries(
        {"index": st.sampled_from([0, 1]),
         "delta": st.dictionaries(st.sampled_from(["content", "role", "reasoning", "tool_calls"]),
                                  st.one_of(st.text(max_size=10), st.sampled_from(["assistant", None, 3]))),
         "finish_reason": st.sampled_from([None, "stop", "length"])},
        optional={"logprobs": st.none()}), min_size=0, max_size=2)},
    optional={"id": scalars, "object": scalars, "created": scalars, "model": scalars, "provider": scalars,
              "usage": st.one_of(st.none(), st.just({"total_tokens": 3})), "obfuscation": st.text(max_size=5),
              "extra": scalars},
)


@SETTINGS
@given(chunks=st.lists(st.one_of(text_chunks, any_chunks), min_size=1, max_size=5), ascii_only=st.booleans(),
       separators=st.sampled_from([(", ", ": "), (",", ":"), (" ,", " : ")]), order=st.randoms())
def test_the_text_fast_path_reads_chunks_as_json_does(chunks, ascii_only, separators, order):
    """Whatever a server sends, the whole-chunk pattern gives what parsing it in full gives."""
    from otchat.wire.protocol import ChunkDecoder

    fast, full = ChunkDecoder(), ChunkDecoder(fast=False)
    for decoder in (fast, full):
        decoder.decode('{"id": "first", "choices": []}')
    for obj in chunks:
        keys = list(obj)
        if order.random() < 0.3:
            order.shuffle(keys)
        data = json.dumps({k: obj[k] for k in keys}, ensure_ascii=ascii_only, separators=separators)
        outcome = []
        for decoder in (fast, full):
            try:
                outcome.append(decoder.decode(data))
            except OtchatError as exc:
                outcome.append(type(exc))
        assert outcome[0] == outcome[1], data


def test_the_text_fast_path_takes_the_common_chunks():
    from otchat.wire.protocol import _TEXT_CHUNK

    openai = ('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1732600000,"model":"gpt-4o",'
              '"system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"a\\"b\\u00e9"},'
              '"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"xyz"}')
    ours = json.dumps(chunk({"content": "hi"}))
    assert _TEXT_CHUNK.fullmatch(openai).group(1) == 'a\\"b\\u00e9'
    assert _TEXT_CHUNK.fullmatch(ours).group(1) == "hi"
    assert not _TEXT_CHUNK.fullmatch(json.dumps(chunk({"content": "hi"}, "stop")))


@SETTINGS
@given(text=st.text(), meta=st.sampled_from([{}, {"id": "c-1", "object": "chat.completion.chunk", "created": 7}]),
       role=st.sampled_from([{}, {"role": "assistant"}]), tail=st.sampled_from([{}, {"usage": None}]),
       ascii_only=st.booleans(), separators=st.sampled_from([(", ", ": "), (",", ":")]))
def test_the_fast_path_takes_any_text_chunk_and_reads_it_as_json_does(text, meta, role, tail, ascii_only, separators):
    """The one fast path is not idle: any text, escaped or not, in the common chunk shape
    goes through it, and what it reads is what the full parse reads."""
    from otchat.wire.protocol import _TEXT_CHUNK, ChunkDecoder

    obj = {**meta, "choices": [{"index": 0, "delta": {**role, "content": text}, "finish_reason": None}], **tail}
    data = json.dumps(obj, ensure_ascii=ascii_only, separators=separators)
    assert _TEXT_CHUNK.fullmatch(data)
    fast, full = ChunkDecoder(), ChunkDecoder(fast=False)
    for decoder in (fast, full):
        decoder.decode('{"id": "first", "choices": []}')
    assert fast.decode(data) == full.decode(data) == ([TextDelta(text)] if text else [])
