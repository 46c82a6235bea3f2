"""The network seam: httpx2 over an httpcore2 pool whose socket reads a signal wakes at once.

CPython runs a Python signal handler between bytecodes. A SIGINT that lands after the last
check but before the thread blocks in recv() (or on another thread, so no recv is
interrupted) would be acted on only when the read returns: on a slow stream, seconds later.
Here a read on the main thread first waits, with poll(), on its socket and on the process's
signal wakeup fd (`signal.set_wakeup_fd`: the C-level handler writes a byte to it the instant
any signal with a Python handler arrives), then calls the real read. A signal that lands
before the wait has left its byte; one during it wakes it. Only public API: httpcore2's
`network_backend=`, `NetworkBackend`/`NetworkStream`, httpx2's `BaseTransport`.
"""

from __future__ import annotations

import math
import os
import select
import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpcore2
import httpx2

if TYPE_CHECKING:
    from .early import Early

# httpcore2's errors and httpx2's of the same meaning, most specific first (httpx2's own
# transport maps them the same way).
_ERRORS: tuple[tuple[type[Exception], type[httpx2.TransportError]], ...] = (
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.ProxyError, httpx2.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
)


class Wakeup:
    """The process's signal wakeup fd: a non-blocking pipe made on first use, installed with
    `signal.set_wakeup_fd` (which only the main thread may call) and checked on every wait,
    since an event loop (prompt-toolkit's asyncio) may take it and give it back as none."""

    def __init__(self) -> None:
        self._pipe: tuple[int, int] | None = None

    def fd(self) -> int | None:
        """The pipe's read end, to wait on beside a socket; None off the main thread (signals
        are handled only there) or while another owner holds the wakeup fd."""
        if threading.current_thread() is not threading.main_thread():
            return None
        if self._pipe is None:
            read, write = os.pipe()
            os.set_blocking(read, False)
            os.set_blocking(write, False)
            self._pipe = (read, write)
        read, write = self._pipe
        try:
            previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:  # not the main interpreter
            return None
        if previous not in (-1, write):  # an event loop's own: give it back, read as before
            signal.set_wakeup_fd(previous)
            return None
        return read

    def drain(self) -> None:
        """Empty the pipe: its bytes only said that a signal came."""
        if self._pipe is None:
            return
        try:
            while os.read(self._pipe[0], 512):
                pass
        except BlockingIOError:
            pass


KEEP_ALIVE = 50.0  # seconds an idle connection is kept for the next request (WakefulTransport)
WAKEUP = Wakeup()  # one per process, as the wakeup fd is; the pipe is made on first use


class WakefulStream(httpcore2.NetworkStream):
    """A connection whose reads on the main thread a signal wakes; everything else as it was."""

    def __init__(self, stream: httpcore2.NetworkStream, wakeup: Wakeup, *, waits: bool = True) -> None:
        self._stream = stream
        self._wakeup = wakeup
        self._waits = waits
        self._cap: float | None = None

    @contextmanager
    def hurry(self, seconds: float) -> Iterator[None]:
        """Reads inside wait at most `seconds` (then time out), whatever the request's timeout."""
        self._cap = seconds
        try:
            yield
        finally:
            self._cap = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._cap is not None:
            timeout = self._cap if timeout is None else min(timeout, self._cap)
        if self._waits:
            self._wait(timeout)
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        # TLS in TLS (through a proxy) buffers records where no public API shows them: such
        # a stream reads as before, without the wait.
        tls_in_tls = self.get_extra_info("ssl_object") is not None
        stream = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return WakefulStream(stream, self._wakeup, waits=self._waits and not tls_in_tls)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)

    def _wait(self, timeout: float | None) -> None:
        """Return once the socket is readable; a signal meanwhile has its handler run (the
        loop's next bytecode), which raises for SIGINT/SIGTERM/SIGHUP. The read timeout holds."""
        sock = self._stream.get_extra_info("socket")
        if sock is None or sock.fileno() < 0:
            return
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return  # decrypted bytes wait in the TLS layer: the socket may never turn readable
        wake = self._wakeup.fd()
        if wake is None or not hasattr(select, "poll"):
            return
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
        poller.register(wake, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0, math.ceil((deadline - time.monotonic()) * 1000))
            ready = [fd for fd, _ in poller.poll(left)]
            if sock.fileno() in ready:
                return  # readable, closed or broken: the real read tells which
            if not ready:
                raise httpcore2.ReadTimeout("timed out")
            self._wakeup.drain()  # a signal came: its handler runs before the next poll


class SocketStream(httpcore2.NetworkStream):
    """A connection the early connect made (early.py), as httpcore2's own sync stream reads and
    writes one. One whose TLS handshake is done (`shaken`: the context and name it was checked
    with) reads as plain TCP until the pool starts TLS on it, which then hands over itself."""

    def __init__(self, sock: socket.socket, shaken: tuple[ssl.SSLContext, str] | None = None) -> None:
        self._sock, self._shaken = sock, shaken

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _socket_errors(httpcore2.ReadTimeout, httpcore2.ReadError):
            self._sock.settimeout(timeout)
            return self._sock.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        with _socket_errors(httpcore2.WriteTimeout, httpcore2.WriteError):
            while view:
                self._sock.settimeout(timeout)
                view = view[self._sock.send(view):]

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        if self._shaken is not None and self._shaken == (ssl_context, server_hostname):
            return SocketStream(self._sock)
        with _socket_errors(httpcore2.ConnectTimeout, httpcore2.ConnectError):
            sock = self._sock
            if self._shaken is not None:  # shaken otherwise than asked (the transport never does): anew
                address = sock.getpeername()[:2]
                sock.close()
                sock = socket.create_connection(address, timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout)
            return SocketStream(ssl_context.wrap_socket(sock, server_hostname=server_hostname))

    def get_extra_info(self, info: str) -> object:
        if info == "ssl_object":
            return self._sock if isinstance(self._sock, ssl.SSLSocket) and self._shaken is None else None
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "is_readable":  # an idle connection that reads is one the server closed
            return self._sock.fileno() < 0 or bool(select.select([self._sock], [], [], 0)[0])
        return None


@contextmanager
def _socket_errors(timeout: type[Exception], other: type[Exception]) -> Iterator[None]:
    try:
        yield
    except OSError as exc:  # a socket timeout and ssl.SSLError are OSErrors
        raise (timeout if isinstance(exc, TimeoutError) else other)(str(exc)) from exc


class WakefulBackend(httpcore2.NetworkBackend):
    """httpcore2's own sync backend, its connections wrapped in `WakefulStream`; the first one to
    the early connection's origin is the early connection (early.py)."""

    def __init__(self, wakeup: Wakeup, early: Early | None = None) -> None:
        self._backend = httpcore2.SyncBackend()
        self._wakeup = wakeup
        self._early = early

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore2.NetworkStream:
        early = self._early
        if early is not None:
            with _socket_errors(httpcore2.ConnectTimeout, httpcore2.ConnectError):
                sock = early.take(host, port)
            if sock is not None:
                context = early.context()
                shaken = (context, host) if context is not None and isinstance(sock, ssl.SSLSocket) else None
                return WakefulStream(SocketStream(sock, shaken), self._wakeup)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return WakefulStream(stream, self._wakeup)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore2.NetworkStream:
        return WakefulStream(self._backend.connect_unix_socket(path, timeout, socket_options), self._wakeup)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class WakefulTransport(httpx2.BaseTransport):
    """What httpx2's HTTPTransport does for a direct connection, over `WakefulBackend`."""

    def __init__(self, ssl_context: ssl.SSLContext | None, wakeup: Wakeup = WAKEUP, *,
                 early: Early | None = None) -> None:
        # httpx2's default limits but a longer keep-alive: a REPL's next turn comes after the
        # person has read and typed (httpx2's 5 s would make it pay a new handshake), and under the
        # 60 s idle limit common to load balancers (a connection the server closed is not reused:
        # the pool sees it readable). `ssl_context` None only for plain http.
        self.connections = httpcore2.ConnectionPool(ssl_context=ssl_context, max_connections=100,
                                             max_keepalive_connections=20, keepalive_expiry=KEEP_ALIVE,
                                             network_backend=WakefulBackend(wakeup, early))
        self._early = early

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.SyncByteStream)
        url = httpcore2.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                           target=request.url.raw_path)
        core = httpcore2.Request(method=request.method, url=url, headers=request.headers.raw,
                                content=request.stream, extensions=request.extensions)
        with _mapped():
            response = self.connections.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx2.Response(status_code=response.status, headers=response.headers,
                              stream=_Body(response.stream), extensions=response.extensions)

    def close(self) -> None:
        self.connections.close()
        if self._early is not None:
            self._early.close()


class _Body(httpx2.SyncByteStream):
    """A response body from the pool, its errors httpx2's."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _mapped():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)  # httpcore2's body streams have one
        if close is not None:
            close()


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, ours in _ERRORS:
            if isinstance(exc, core):
                raise ours(str(exc)) from exc
        raise


def direct() -> bool:
    """No proxy is configured in the environment: the connection is ours to make. (With a
    proxy, httpx2's own transport honours it, NO_PROXY and all, and reads as before.)"""
    from urllib.request import getproxies

    return not {"all", "http", "https"} & set(getproxies())
