"""Paced reads on a terminal: small reads spaced a frame apart, large ones at once."""

import time

import httpcore
import httpx

from otchat.engine import run_turn
from otchat.models import ChatRequest
from otchat.transport import SMALL_READ, PacedStream, Transport, paceable
from tests.fakeserver import Stream, text_chunks


class FakeStream:
    def __init__(self, sizes):
        self.sizes = list(sizes)
        self.reads_at = []
        self.clock = None

    def read(self, max_bytes, timeout=None):
        self.reads_at.append(self.clock())
        return b"x" * self.sizes.pop(0)

    def write(self, buffer, timeout=None):
        pass

    def start_tls(self, *args, **kwargs):
        return FakeStream(self.sizes)

    def get_extra_info(self, info):
        return info


class Clock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


def paced(sizes, frame=0.04, idle=None):
    clock = Clock()
    inner = FakeStream(sizes)
    inner.clock = clock
    stream = PacedStream(inner, clock=clock, sleep=clock.sleep)
    stream.pace(frame, idle)
    return stream, inner, clock


def test_a_small_read_makes_the_next_wait_out_the_frame():
    stream, inner, clock = paced([100, 100, 100])
    stream.read(65536)
    clock.now += 0.01  # the caller worked 10 ms
    stream.read(65536)
    stream.read(65536)
    assert clock.slept == [0.03, 0.04]
    assert [round(t - 100, 6) for t in inner.reads_at] == [0, 0.04, 0.08]


def test_a_large_read_is_followed_at_once():
    stream, _, clock = paced([SMALL_READ, 65536, 10, 5])
    for _ in range(4):
        stream.read(65536)
    assert clock.slept == [0.04]  # only after the first small read


def test_unpaced_reads_never_wait_and_pacing_starts_afresh():
    stream, _, clock = paced([10, 10, 10, 10], frame=0.0)
    stream.read(65536)
    stream.read(65536)
    assert clock.slept == []
    stream.pace(0.04, None)
    stream.read(65536)  # the first paced read is at once
    stream.read(65536)
    assert clock.slept == [0.04]


def test_idle_is_told_before_every_read():
    told = []
    stream, inner, clock = paced([10, 10], idle=lambda: told.append(len(inner.reads_at)))
    stream.read(65536)
    stream.read(65536)
    assert told == [0, 1]


def test_tls_and_extra_info_pass_through():
    stream = paced([10, 10, 10])[0]
    tls = stream.start_tls(None)
    assert isinstance(tls, PacedStream)
    assert tls.get_extra_info("socket") == "socket"


def test_httpx_lets_otchat_pace_its_connections():
    # If a later httpx hides its connection pool, pacing silently stops: this notices.
    client = httpx.Client()
    try:
        assert paceable(client)
    finally:
        client.close()


def read_whole_reply(server, frame):
    """Read one streamed reply over a real socket; return (reads, bytes, seconds)."""
    backend = httpcore.SyncBackend()
    stream = backend.connect_tcp("127.0.0.1", server.port)
    if frame:
        stream = PacedStream(stream)
        stream.pace(frame, None)
    body = b'{"model":"m","messages":[],"stream":true}'
    stream.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    reads, data, start = 0, b"", time.monotonic()
    while not data.endswith(b"0\r\n\r\n"):
        piece = stream.read(65536, timeout=10)
        if not piece:
            break
        reads += 1
        data += piece
    stream.close()
    return reads, data, time.monotonic() - start


def test_a_paced_socket_takes_a_trickle_in_few_reads(server):
    # 60 events 5 ms apart (~0.3 s): unpaced, about one read each; paced at 40 ms, one
    # read per frame (plus the headers' read), whatever the machine's speed.
    events = text_chunks("abcd" * 60, 4)
    server.enqueue(Stream(events, piece_delay=0.005))
    plain_reads, plain_data, _ = read_whole_reply(server, 0)
    server.enqueue(Stream(events, piece_delay=0.005))
    paced_reads, paced_data, seconds = read_whole_reply(server, 0.04)
    assert paced_data.split(b"\r\n\r\n", 1)[1] == plain_data.split(b"\r\n\r\n", 1)[1]
    assert paced_reads <= seconds / 0.04 + 3
    assert paced_reads < plain_reads


def test_a_paced_reply_is_the_same_reply_shown_once_per_read(server):
    # 120 pieces 2 ms apart: unpaced, the sink is flushed once per piece; paced at 40 ms,
    # once per read, and the text is the same.
    text = "Grüße, 世界! " * 30
    request = ChatRequest(f"{server.url}/chat/completions", {}, {"model": "m", "messages": [], "stream": True})
    transport = Transport(timeout=10, connect_timeout=5, retries=0, plain_http=True)
    replies, flushes = [], []
    try:
        for frame in (0.0, 0.04):
            server.enqueue(Stream(text_chunks(text, 3), piece_delay=0.002))
            sink = CountingSink(frame)
            replies.append(run_turn(request, transport, sink).content)
            flushes.append(sink.flushes)
    finally:
        transport.close()
    assert replies == [text, text]
    assert flushes[0] >= len(text) // 3
    assert flushes[1] < flushes[0] / 3


class CountingSink:
    def __init__(self, frame):
        self.frame = frame
        self.flushes = 0

    def handle(self, event):
        pass

    def flush(self):
        self.flushes += 1


def test_a_terminal_asks_for_paced_reads_and_a_pipe_does_not():
    from otchat.oneshot import Output, make_sink
    from tests.conftest import make_env

    def frame(isatty, fmt="auto", term="xterm"):
        return make_sink(make_env(stdout_isatty=isatty, environ={"TERM": term}), Output(format=fmt)).frame

    assert frame(True) == 0.1  # markdown: nothing new shows between its repaints
    assert frame(False, "markdown") == 0.1  # ... wherever it is drawn
    assert frame(True, "plain") == 0.04  # text typed straight onto the terminal
    assert frame(False) == frame(False, "plain") == 0.0  # a pipe gets every piece at once
    assert getattr(make_sink(make_env(stdout_isatty=True), Output(format="json")), "frame", 0.0) == 0.0
