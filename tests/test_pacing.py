"""Paced reads on a terminal: after a read that waited, sleep out the frame, then take what came."""

import json
import time

import httpx2

from otchat.engine import run_turn
from otchat.models import ChatRequest, TextDelta
from otchat.wire.transport import Transport
from tests.fakeserver import Stream, chunk, text_chunks

REQUEST = ChatRequest("http://t/v1/chat/completions", {}, {"model": "m", "messages": [], "stream": True})


def sse(event):
    return f"data: {event}\n\n".encode()


class Wire:
    """A simulated network on a simulated clock: each piece of the body arrives at its
    time; a read before then waits for it (a wake-up), a read after finds it buffered.

    Whenever a read has to wait, the sink must already show all that was read before.
    """

    def __init__(self, arrivals, sink):
        self.arrivals = arrivals  # [(seconds, bytes)]
        self.sink = sink
        self.now = 100.0
        self.start = self.now
        self.slept = []
        self.waits = 0
        self.read = []  # the text of every piece handed to httpx so far

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds

    def body(self):
        for at, piece in self.arrivals:
            due = self.start + at
            if due > self.now:
                assert self.sink.shown == "".join(self.read), "waited for the network with text not shown"
                self.waits += 1
                self.now = due
            self.read.append(piece.decode().partition('"content": "')[2].partition('"')[0])
            yield piece

    def run(self, frame):
        def handler(request):
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=self.body())

        transport = Transport(timeout=5, connect_timeout=1, retries=0, httpx_transport=httpx2.MockTransport(handler),
                              clock=self.clock, sleep=self.sleep)
        self.sink.frame = frame
        try:
            return run_turn(REQUEST, transport, self.sink, clock=self.clock)
        finally:
            transport.close()


class Sink:
    """Counts what it was handed and what it showed; handling a piece takes `cost` seconds."""

    frame = 0.0

    def sent(self):
        pass

    def __init__(self, cost=0.0):
        self.cost = cost
        self.wire = None
        self.pending = []
        self.shown = ""
        self.flushes = 0

    def handle(self, event):
        if isinstance(event, TextDelta):
            self.pending.append(event.text)
            if self.wire:
                self.wire.now += self.cost

    def flush(self):
        self.flushes += 1
        self.shown += "".join(self.pending)
        self.pending = []


def trickle(count, gap, head=0.0):
    """`count` one-letter tokens `gap` seconds apart, then the finish and [DONE]."""
    pieces = [(head + i * gap, sse(json.dumps(chunk({"content": "abcdefghij"[i % 10]})))) for i in range(count)]
    end = head + count * gap
    return pieces + [(end, sse(json.dumps(chunk({}, "stop")))), (end, sse("[DONE]"))]


def wire_for(arrivals, cost=0.0):
    sink = Sink(cost)
    wire = Wire(arrivals, sink)
    sink.wire = wire
    return wire


def test_a_trickle_wakes_the_reader_about_once_a_frame():
    # 100 tokens 10 ms apart (1 s): unpaced, a wake-up per token; paced at 100 ms, about
    # one per frame, each taking at once what came during the frame before it.
    unpaced, paced = wire_for(trickle(100, 0.01)), wire_for(trickle(100, 0.01))
    text = "abcdefghij" * 10
    assert unpaced.run(0.0).content == text == paced.run(0.1).content
    assert unpaced.waits == 100 and unpaced.slept == []
    assert 9 <= paced.waits <= 12
    assert paced.sink.shown == text


def test_the_frame_counts_from_when_the_piece_came():
    # Handling a piece took 30 ms of the 100 ms frame: the sleep is the other 70 ms.
    wire = wire_for(trickle(3, 0.5, head=0.5), cost=0.03)
    wire.run(0.1)
    assert wire.slept[:3] == [0.07, 0.07, 0.07]


def test_a_stream_that_is_ahead_is_never_slowed():
    # Every piece is already waiting when it is read: no read waits, so nothing sleeps.
    wire = wire_for(trickle(200, 0.0))
    assert wire.run(0.1).content == "abcdefghij" * 20
    assert wire.slept == [] and wire.waits == 0


def test_text_is_shown_before_every_read_that_waits():
    # A long silence (a hosted tool at work) after a burst: Wire.body asserts that the
    # burst is on screen before the read that waits through the silence.
    arrivals = trickle(5, 0.0)[:5] + [(30.0 + at, piece) for at, piece in trickle(5, 0.01)]
    wire = wire_for(arrivals)
    assert wire.run(0.1).content == "abcde" + "abcde"
    assert wire.waits == 1  # the silence; what came during the frame after it was waiting


def test_a_pipe_reads_every_piece_at_once():
    wire = wire_for(trickle(20, 0.01))
    wire.run(0.0)
    assert wire.slept == [] and wire.sink.flushes >= 20


def test_a_paced_reply_over_a_socket_is_the_same_reply(server):
    # 120 pieces 2 ms apart over a real socket: the same text paced or not; paced at
    # 40 ms, the reader sleeps at most once a frame (and at least once), unpaced never.
    text = "Grüße, 世界! " * 30
    request = ChatRequest(f"{server.url}/chat/completions", {}, {"model": "m", "messages": [], "stream": True})
    replies, sleeps, seconds = [], [], []
    for frame in (0.0, 0.04):
        slept = []

        def sleep(s, slept=slept):
            slept.append(s)
            time.sleep(s)

        transport = Transport(timeout=10, connect_timeout=5, retries=0, plain_http=True, sleep=sleep)
        try:
            server.enqueue(Stream(text_chunks(text, 3), piece_delay=0.002))
            start = time.monotonic()
            replies.append(run_turn(request, transport, CountingSink(frame)).content)
            seconds.append(time.monotonic() - start)
            sleeps.append(len(slept))
        finally:
            transport.close()
    assert replies == [text, text]
    assert sleeps[0] == 0
    assert 1 <= sleeps[1] <= seconds[1] / 0.04 + 2


class CountingSink:
    def sent(self):
        pass

    def __init__(self, frame):
        self.frame = frame
        self.flushes = 0

    def handle(self, event):
        pass

    def flush(self):
        self.flushes += 1


def test_a_terminal_asks_for_paced_reads_and_a_pipe_does_not():
    from otchat.term.output import make_sink
    from tests.conftest import make_env

    def frame(isatty, fmt="auto", term="xterm"):
        return make_sink(make_env(stdout_isatty=isatty, environ={"TERM": term}), fmt).frame

    assert frame(True) == 0.1  # markdown: nothing new shows between its repaints
    assert frame(False, "markdown") == 0.1  # ... wherever it is drawn
    assert frame(True, "plain") == 0.04  # text typed straight onto the terminal
    assert frame(False) == frame(False, "plain") == 0.0  # a pipe gets every piece at once
    assert getattr(make_sink(make_env(stdout_isatty=True), "json"), "frame", 0.0) == 0.0
