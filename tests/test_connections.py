"""Connections: the first one opens early (otchat/wire/early.py, otchat/headstart.py): while a
one-shot prompt is still reading its stdin, its connection is up, TLS and all, and the request
then goes on that connection; runs that send nothing at once open none. And a reply whose events
ended leaves its connection to the next request (a REPL's next turn pays no handshake)."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from otchat.errors import NetworkError
from otchat.wire.early import Early, start
from otchat.wire.transport import Transport
from tests.benchmarks.relay import Relay
from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, text_chunks


def eventually(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def relay_to(server) -> Relay:
    return Relay(("127.0.0.1", int(server.url.rsplit(":", 1)[1].split("/")[0])))


@pytest.mark.parametrize("args", [["hello"], ["-m", "m1", "hello"]], ids=["plain words", "with options"])
def test_the_connection_is_up_while_stdin_is_still_read_and_the_request_goes_on_it(home, tls_server, args):
    """Plain words get their head start before typer loads; with options, as soon as they are parsed."""
    server, cert = tls_server
    relay = relay_to(server)
    env = clean_environ(home, OTCHAT_BASE_URL=f"https://{relay.url}/v1", OPENTOOLS_API_KEY=KEY,
                        SSL_CERT_FILE=str(cert))
    proc = subprocess.Popen([str(OTCHAT), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        # The server's half of the TLS handshake has come back while stdin is still open.
        assert eventually(lambda: relay.down > 0), "no connection while stdin was read"
        assert relay.accepted == 1 and server.requests == []
        out, err = proc.communicate(b"piped text", timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("You said: hello") and "piped text" in out.decode()
    assert relay.accepted == 1  # the request went on the early connection: no second one
    relay.close()


@pytest.mark.parametrize("args", [["--dry-run", "hello"], ["chat"], ["histroy", "list"], ["history", "list"]])
def test_runs_that_send_nothing_at_once_open_no_connection(home, tls_server, args):
    server, cert = tls_server
    relay = relay_to(server)
    env = clean_environ(home, OTCHAT_BASE_URL=f"https://{relay.url}/v1", OPENTOOLS_API_KEY=KEY,
                        SSL_CERT_FILE=str(cert))
    proc = subprocess.run([str(OTCHAT), *args], input=b"", capture_output=True, env=env, timeout=60)
    assert proc.returncode in (0, 2), proc.stderr.decode()
    assert relay.accepted == 0
    relay.close()


def test_the_transport_sends_on_the_early_connection(tls_server):
    server, cert = tls_server
    server.models = {"object": "list", "data": [{"id": "m1", "object": "model"}]}
    relay = relay_to(server)
    url = f"https://{relay.url}/v1"
    early = Early(url, str(cert), timeout=10)
    assert eventually(lambda: relay.down > 0)  # shaken hands before any transport exists
    transport = Transport(timeout=10, connect_timeout=10, retries=0, ca_bundle=str(cert), early=early)
    try:
        assert transport.get_json(f"{url}/models", {})["data"][0]["id"] == "m1"
    finally:
        transport.close()
    assert relay.accepted == 1


def test_a_refused_early_connection_is_the_usual_error_after_the_usual_retries(tls_server):
    _, cert = tls_server
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        where = f"127.0.0.1:{unused.getsockname()[1]}"
    url = f"https://{where}/v1"
    waits: list[float] = []
    transport = Transport(timeout=10, connect_timeout=10, retries=1, ca_bundle=str(cert), sleep=waits.append,
                          early=Early(url, str(cert), timeout=10))
    with pytest.raises(NetworkError, match=rf"^cannot connect to {where}: ") as caught:
        transport.get_json(f"{url}/models", {})
    transport.close()
    assert len(waits) == 1 and "\n" not in caught.value.line()


def test_a_connection_given_up_before_it_came_is_closed_when_it_comes(tls_server):
    server, cert = tls_server
    relay = Relay(("127.0.0.1", int(server.url.rsplit(":", 1)[1].split("/")[0])), delay=0.2)
    early = Early(f"https://{relay.url}/v1", str(cert), timeout=10)
    early.close()  # the handshake takes two delayed round trips: it is not done yet
    assert eventually(lambda: relay.ended == 1)
    assert early.take("127.0.0.1", relay.port) is None
    relay.close()


def test_no_early_connection_past_a_proxy_and_one_per_origin(tls_server):
    server, cert = tls_server
    url = server.url
    assert start(url, None, 5, environ={"HTTPS_PROXY": "http://proxy.example:3128"}) is None
    early = start(url, str(cert), 5, head=True, environ={})
    assert early is not None and start(url, str(cert), 5, environ={}) is early  # the run takes the head start
    other = start(url, str(cert), 5, environ={})
    assert other is not early  # taken once: a new one
    assert early.take("127.0.0.1", 1) is None  # another origin: connect as usual
    for one in (early, other):
        one.close()


def test_the_next_turn_goes_on_the_same_connection(home, tls_server):
    server, cert = tls_server
    server.keep_alive = True
    relay = relay_to(server)
    env = clean_environ(home, OTCHAT_BASE_URL=f"https://{relay.url}/v1", OPENTOOLS_API_KEY=KEY,
                        SSL_CERT_FILE=str(cert))
    proc = subprocess.run([str(OTCHAT), "chat"], input=b"one\ntwo\nthree\n", capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [line for line in proc.stdout.decode().splitlines() if line] == [
        "You said: one", "You said: two", "You said: three"]
    assert relay.accepted == 1
    relay.close()


def test_a_server_that_goes_on_after_done_is_not_waited_for(home, tls_server):
    """[DONE], then silence: the turn ends at [DONE] and its connection is closed, not kept (no
    more waiting for the end of the body than a moment)."""
    server, cert = tls_server
    server.keep_alive = True
    events = [*text_chunks("first answer"), "[DONE]", *text_chunks("after the end")]
    server.enqueue(Stream(events, gap=(len(events) - 3, 30.0)))
    relay = relay_to(server)
    env = clean_environ(home, OTCHAT_BASE_URL=f"https://{relay.url}/v1", OPENTOOLS_API_KEY=KEY,
                        SSL_CERT_FILE=str(cert))
    proc = subprocess.run([str(OTCHAT), "chat"], input=b"one\ntwo\n", capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert [line for line in proc.stdout.decode().splitlines() if line] == ["first answer", "You said: two"]
    assert server.requests[0].ended is None  # the first reply was still in its silence
    assert relay.accepted == 2
    relay.close()


def test_a_connection_the_server_closed_unannounced_is_sent_on_again_anew(home, server, otchat):
    """The fake server closes each connection after a stream without saying so: the next turn's
    request meets it closed (or sees it is) and goes on a new connection, never failing."""
    assert not server.keep_alive
    r = otchat("chat", input="one\ntwo\nthree\nfour\n")
    assert [line for line in r.stdout.splitlines() if line] == [f"You said: {n}" for n in ("one", "two", "three", "four")]
    assert len(server.requests) == 4
