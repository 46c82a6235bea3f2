"""Paced reads on a terminal: small reads spaced a frame apart, large ones at once."""

import time

import httpcore
import httpx

from otchat.engine import run_turn
from otchat.models import ChatRequest
from otchat.transport import SMALL_READ, PacedStream, Transport, pace
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


def paced(sizes, frame=0.04):
    clock = Clock()
    inner = FakeStream(sizes)
    inner.clock = clock
    return PacedStream(inner, frame, clock=clock, sleep=clock.sleep), inner, clock


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


def test_a_request_written_is_answered_without_waiting():
    stream, _, clock = paced([10, 10])
    stream.read(65536)
    stream.write(b"POST / HTTP/1.1\r\n\r\n")
    stream.read(65536)
    assert clock.slept == []


def test_tls_and_extra_info_pass_through():
    stream = paced([10, 10, 10])[0]
    tls = stream.start_tls(None)
    assert isinstance(tls, PacedStream)
    assert tls.get_extra_info("socket") == "socket"


def test_httpx_lets_otchat_pace_its_connections():
    # If a later httpx hides its connection pool, pacing silently stops: this notices.
    client = httpx.Client()
    try:
        assert pace(client, 0.04)
    finally:
        client.close()


def read_whole_reply(server, frame):
    """Read one streamed reply over a real socket; return (reads, bytes, seconds)."""
    backend = httpcore.SyncBackend()
    stream = backend.connect_tcp("127.0.0.1", server.port)
    if frame:
        stream = PacedStream(stream, frame)
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


def test_a_paced_transport_gives_the_same_reply(server):
    text = "Grüße, 世界! " * 30
    request = ChatRequest(f"{server.url}/chat/completions", {}, {"model": "m", "messages": [], "stream": True})
    replies = []
    for frame in (0.0, 0.04):
        server.enqueue(Stream(text_chunks(text, 3), piece_delay=0.002))
        transport = Transport(timeout=10, connect_timeout=5, retries=0, plain_http=True, frame=frame)
        try:
            replies.append(run_turn(request, transport, NullSink()).content)
        finally:
            transport.close()
    assert replies == [text, text]


class NullSink:
    def handle(self, event):
        pass

    def flush(self):
        pass
