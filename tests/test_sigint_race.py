"""A Ctrl-C is never lost: a signal wakes a blocked socket read at once (otchat/wire/wakeful.py),
whenever it lands, even in CPython's window just before the read blocks."""

from __future__ import annotations

import random
import signal
import sqlite3
import ssl
import subprocess
import threading
import time

import httpx2
import pytest

from otchat.errors import NetworkError
from otchat.models import ChatRequest
from otchat.wire.transport import Transport
from otchat.wire.wakeful import WAKEUP, WakefulBackend
from tests.conftest import KEY, OTCHAT, clean_environ, self_signed
from tests.fakeserver import FakeServer, paused_text

PAUSE = 1.5  # the server's silence after the first words, in the in-process tests


def request(server) -> ChatRequest:
    return ChatRequest(f"{server.url}/chat/completions", {}, {"model": "m", "messages": [], "stream": True})


def signal_from_another_thread(after: float) -> tuple[threading.Thread, list[float]]:
    """SIGINT delivered to a thread of its own `after` seconds from now: its C-level handler
    runs there while the main thread is blocked in (or just entering) recv(), which no
    EINTR then wakes: the state CPython's race leaves, made certain. When it was sent."""
    sent: list[float] = []

    def kill() -> None:
        time.sleep(after)
        sent.append(time.monotonic())
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread, sent


def seconds_to_interrupt(transport: Transport, server) -> float:
    """Read a stream that falls silent after its first words; signal during the silence; the
    seconds from the signal to the KeyboardInterrupt in this (the main) thread."""
    server.enqueue(paused_text("first words ", "and the rest", PAUSE))
    reply = transport.open(request(server))
    batches = reply.batches(lambda: None)
    try:
        next(batches)
        thread, sent = signal_from_another_thread(0.2)
        with pytest.raises(KeyboardInterrupt):
            for _ in batches:
                pass
        interrupted = time.monotonic()
        thread.join()
    finally:
        reply.close()
        transport.close()
    return interrupted - sent[0]


def test_a_signal_wakes_the_blocked_read_at_once(server):
    transport = Transport(timeout=30, connect_timeout=5, retries=0, plain_http=True)
    assert seconds_to_interrupt(transport, server) < 0.5


def test_httpx_own_transport_sees_it_only_when_the_next_piece_comes(server):
    """The old way (httpx's HTTPTransport, a plain blocking recv): the signal waits for the
    server's next byte. What the test above holds otchat to is not a given."""
    transport = Transport(timeout=30, connect_timeout=5, retries=0, plain_http=True,
                          httpx_transport=httpx2.HTTPTransport())
    assert seconds_to_interrupt(transport, server) > PAUSE - 0.5


def test_the_read_timeout_still_holds_while_waiting(server):
    server.enqueue(paused_text("first words ", "and the rest", 5.0))
    transport = Transport(timeout=0.5, connect_timeout=5, retries=0, plain_http=True)
    reply = transport.open(request(server))
    start = time.monotonic()
    with pytest.raises(NetworkError) as failed:
        for _ in reply.batches(lambda: None):
            pass
    assert "no data from the server for 0.5 s" in str(failed.value)
    assert 0.4 < time.monotonic() - start < 2.0
    reply.close()
    transport.close()


def test_reads_off_the_main_thread_read_as_before(server):
    """Only the main thread may hold the wakeup fd; a worker's read (a comparison's) waits on
    its socket alone, and another thread's abort still wakes it."""
    server.enqueue(paused_text("first words ", "and the rest", 30.0))
    transport = Transport(timeout=60, connect_timeout=5, retries=0, plain_http=True)
    reply = transport.open(request(server))
    got: list[object] = []

    def work() -> None:
        try:
            got.extend(text for batch in reply.batches(lambda: None) for text in batch)
        except Exception as exc:  # noqa: BLE001 (the abort's failure is the expected end)
            got.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    time.sleep(0.5)
    start = time.monotonic()
    reply.abort()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - start < 2
    assert isinstance(got[-1], Exception) and len(got) > 1
    reply.close()
    transport.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A fake server on https with a certificate of its own; the certificate's path."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    with FakeServer(tls=(str(cert), str(key))) as server:
        yield server, cert


def test_over_tls_a_signal_wakes_the_blocked_read_at_once(tls):
    server, cert = tls
    transport = Transport(timeout=30, connect_timeout=5, retries=0, ca_bundle=str(cert))
    assert seconds_to_interrupt(transport, server) < 0.5


def test_bytes_already_decrypted_are_read_without_waiting(tls):
    """A TLS record read in part leaves the rest in the TLS layer, not on the socket (which
    then never turns readable): the read takes it at once rather than wait out its timeout."""
    server, cert = tls
    context = ssl.create_default_context(cafile=str(cert))
    stream = WakefulBackend(WAKEUP).connect_tcp("127.0.0.1", server.port, timeout=5)
    stream = stream.start_tls(context, server_hostname="127.0.0.1", timeout=5)
    stream.write(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=5)
    data, start = b"", time.monotonic()
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < length(data):
        data += stream.read(10, timeout=3)  # a server that keeps the connection: no EOF to wake it
    stream.close()
    assert time.monotonic() - start < 1 and data.endswith(b"}")


def length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0].decode().lower()
    return int(head.split("content-length:")[1].split()[0])


RUNS = 10


def test_ctrl_c_at_random_moments_of_a_slow_stream(server, home):
    """SIGINT at random moments while words trickle in, then during a long silence: every run
    exits 130 soon after it (a lost signal would wait out the 30-second silence), with what
    arrived on stdout and in the history, marked interrupted."""
    rng = random.Random(130)  # fixed: the same moments on every run
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    shown = "one two three four five six seven eight nine ten "
    for run in range(RUNS):
        server.enqueue(paused_text(shown, "and the rest", 30.0, size=4, piece_delay=0.03))
        proc = subprocess.Popen([str(OTCHAT), f"question {run}"], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.read(4)  # the answer has begun
        time.sleep(rng.uniform(0.0, 0.6))  # within the trickle (~0.4 s) or the silence after it
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=10)  # a hang guard, not a measure
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail(f"run {run}: the SIGINT was lost")
        took = time.monotonic() - start
        text = (first + out).decode()
        assert proc.returncode == 130, err
        assert took < 3, f"run {run}: {took:.2f} s from the signal to the exit"
        assert text.endswith("\n") and shown.startswith(text[:-1]) and len(text) > 4
        assert b"Traceback" not in err
        with sqlite3.connect(home / "data" / "history.db") as db:
            last = db.execute("SELECT content, interrupted FROM messages WHERE role = 'assistant'"
                              " ORDER BY id DESC LIMIT 1").fetchone()
        assert last == (text[:-1], 1)
