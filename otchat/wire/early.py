"""The connection a run sends its first request on, opened as soon as the endpoint is known.

A one-shot prompt knows its host once its settings are resolved, but it still has much of
itself to load (the HTTP stack, the engine, the renderer) before it sends. Over a real link
DNS, TCP and TLS cost round trips; here they run in a thread beside that loading (socket
waits and OpenSSL's handshake release the GIL), and the pool is handed the finished
connection when it asks for its first one (`wakeful.WakefulBackend.connect_tcp`). Only the
standard library runs before the ClientHello is out: the HTTP stack is still loading.

This is the pool's own first connection, not a warm-up: httpcore2 sends the request on it,
through its public `NetworkBackend`/`NetworkStream` interfaces. A failure here is raised
where the pool asked for the connection, as its own connect would have raised it.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

ALPN = ["http/1.1"]  # what httpcore2 offers without HTTP/2; it sets the same before its handshakes


def tls_context(plain_http: bool, ca_bundle: str | None) -> ssl.SSLContext | None:
    """The context every TLS connection of a run verifies with: a given CA bundle replaces
    SSL_CERT_FILE, which replaces the system store (httpcore2's default, as httpx2 makes it).
    None for a plain-http endpoint: loading a trust store costs ~20 ms, and no TLS comes
    (redirects are not followed)."""
    if plain_http:
        return None
    if ca_bundle:
        path = os.path.expanduser(ca_bundle)
        try:
            context = ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            from ..errors import ConfigError

            raise ConfigError(f"ca_bundle {path}: {getattr(exc, 'strerror', None) or exc}") from None
    elif os.environ.get("SSL_CERT_FILE"):  # what httpcore2's default does first, without loading it
        context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    else:
        import httpcore2

        context = httpcore2.default_ssl_context()
    context.set_alpn_protocols(ALPN)
    return context


_HEAD: list[Early] = []  # the process's head start (headstart.py), until a run takes it


def start(url: str, ca_bundle: str | None, timeout: float | None, *, head: bool = False,
          environ: Mapping[str, str] = os.environ) -> Early | None:
    """An early connection to `url`'s host: the head start's, when it went to the same place, else
    a new one; None when the environment names a proxy (httpx2's own transport then connects,
    through it: `wakeful.direct` decides, and gives up an early one too). `head`: made before
    the command line is parsed, kept for the run."""
    while _HEAD:
        early = _HEAD.pop()
        if early.url == url and early.ca_bundle == ca_bundle:
            return early
        early.close()
    if {"http_proxy", "https_proxy", "all_proxy"} & {name.lower() for name, value in environ.items() if value}:
        return None
    early = Early(url, ca_bundle, timeout)
    if head:
        _HEAD.append(early)
    return early


class Early:
    """One connection to `url`'s origin, made in a thread of its own from the moment this is
    made: DNS and TCP first, then the TLS context, then the handshake. `take` hands it over once;
    `context` is the TLS context the whole run verifies with (one per run: the connection the
    pool is handed was checked as the pool would have checked it)."""

    def __init__(self, url: str, ca_bundle: str | None, timeout: float | None) -> None:
        self.url = url
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        self.ca_bundle, self._timeout = ca_bundle, timeout
        self._lock = threading.Lock()
        self._has_context = threading.Event()
        self._done = threading.Event()
        self._context: ssl.SSLContext | None = None
        self._context_error: BaseException | None = None  # a bad ca_bundle: raised where asked for
        self._sock: socket.socket | None = None
        self._error: OSError | None = None  # a failed connect: raised where the pool asks for it
        self._state = "open"  # then "taken" (handed over) or "closed" (given up)
        threading.Thread(target=self._connect, name="otchat-connect", daemon=True).start()

    def context(self) -> ssl.SSLContext | None:
        """The run's TLS context (None for plain http), once the thread has made it."""
        self._has_context.wait()
        if self._context_error is not None:
            raise self._context_error
        return self._context

    def take(self, host: str, port: int) -> socket.socket | None:
        """The connected socket (TLS shaken, for https), waiting for it, if it is for this origin and
        still here; None: connect as usual. A failure to connect is raised (an OSError)."""
        with self._lock:
            if self._state != "open" or (host, port) != (self.host, self.port):
                return None
            self._state = "taken"
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._sock

    def close(self) -> None:
        """Give up a connection nobody took (now, or as soon as its thread has it)."""
        with self._lock:
            if self._state != "open":
                return
            self._state = "closed"
            sock = self._sock
        if sock is not None:
            sock.close()

    def _connect(self) -> None:
        sock: socket.socket | None = None
        error: OSError | None = None
        try:
            sock = socket.create_connection((self.host, self.port), self._timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as httpcore2 sets it
        except OSError as exc:
            error = exc
        except Exception:  # noqa: BLE001 (a name no resolver takes: None, and the pool's own connect says so)
            pass
        try:
            if self.tls:
                self._context = tls_context(False, self.ca_bundle)
        except BaseException as exc:  # noqa: BLE001 (a ConfigError, a broken SSL_CERT_FILE: raised where asked for)
            self._context_error = exc
        finally:
            self._has_context.set()
        if sock is not None and self._context is not None:
            try:
                sock = self._context.wrap_socket(sock, server_hostname=self.host)
            except OSError as exc:  # ssl.SSLError (a certificate not trusted) and timeouts too
                sock.close()
                sock, error = None, exc
        elif sock is not None and self.tls:  # no context: nothing to shake hands with
            sock.close()
            sock = None
        with self._lock:
            self._sock, self._error = sock, error
            self._done.set()
            closed = self._state == "closed"
        if closed and sock is not None:
            sock.close()
