"""The HTTP layer: send, retry, yield SSE payloads. With `wakeful` (its network seam), the
only modules importing httpx2."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx2

from .. import __version__
from ..config.redact import shown_header
from ..errors import APIError, NetworkError, StreamError
from ..models import JSON, ChatRequest
from ..seams import Fallback
from .early import tls_context
from .error_body import error_message
from .sse import EventData

if TYPE_CHECKING:
    import ssl

    from .early import Early

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0  # a longer wait is reported, not slept through
LOGGED_HEADERS = ("content-type", "x-request-id", "retry-after")
# A read that returns sooner than this found its piece waiting (in httpx2's buffer or the
# socket's); a longer one waited for the network, so the stream is no longer ahead of us.
WAITED = 0.0005
# How long a reply whose events ended ([DONE]) may take to end its body, so its connection can be
# kept: the end comes with [DONE] or right after it; a server that sends more is not waited for.
DRAIN = 0.02

Log = Callable[[str], None]
# httpcore2's trace events that tell a request sent on a kept-alive connection (no connect first).
_CONNECTION_EVENTS = frozenset({"connection.connect_tcp.started", "http11.send_request_headers.started"})

USER_AGENT = f"otchat/{__version__}"


class Reply:
    """A 2xx response: either an event stream (`batches`) or a JSON body (`json`)."""

    def __init__(self, response: httpx2.Response, timeout: float, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._response = response
        self._timeout = timeout
        self._clock = clock
        self._sleep = sleep
        content_type = response.headers.get("content-type", "")
        self.is_stream = "text/event-stream" in content_type
        self._ended = False  # its events said [DONE]: only the end of the body may be left
        self._pieces: Iterator[str] | None = None  # the body, as `batches` reads it

    def json(self) -> JSON:
        try:
            data = self._response.read()
        except httpx2.TransportError as exc:
            raise _reading_error(exc, self._timeout) from exc
        try:
            return json.loads(data)
        except ValueError:
            raise StreamError("the server's reply is neither an event stream nor JSON") from None

    def batches(self, idle: Callable[[], None], frame: float = 0.0) -> Iterator[list[str]]:
        """The `data` payloads of the SSE events, grouped by piece of the body.

        `idle` is called after each batch: everything that arrived has been handed over.
        With a `frame` (seconds), a piece the read had to wait for (the stream is not
        ahead of us) is followed by a sleep until a frame after it came, so the next
        reads take at once all that arrived meanwhile: a reply streamed a token at a
        time, ~100 a second, wakes this process about once a frame, not once a token,
        and a stream that is ahead of us (its pieces waiting) is never slowed.
        """
        events = EventData()
        pieces = self._pieces = self._response.iter_text()
        clock, sleep = self._clock, self._sleep
        try:
            while True:
                asked = clock()
                text = next(pieces, None)
                if text is None:
                    break
                came = clock()
                batch = events.feed(text)
                if batch:
                    if batch[-1] == "[DONE]":
                        self._ended = True
                    yield batch
                    idle()
                if frame and came - asked > WAITED:
                    rest = came + frame - clock()
                    if rest > 0:
                        sleep(rest)
        except httpx2.TransportError as exc:
            raise _reading_error(exc, self._timeout) from exc
        last = events.close()  # a last event without its blank line: take it rather than lose it
        if last:
            yield last

    def close(self) -> None:
        """Close the reply. One whose events ended first reads the end of its body, when that is
        here already or comes within DRAIN s: its connection then goes back to the pool for the
        next request (a REPL's next turn, a tool round) rather than being closed with it."""
        hurry = getattr(self._response.extensions.get("network_stream"), "hurry", None)
        if self._ended and self._pieces is not None and hurry is not None:
            try:
                with hurry(DRAIN):
                    for _ in self._pieces:  # nothing, from a server that ends its body at [DONE]
                        pass
            except httpx2.TransportError:  # more than the end, or late: closed, as before
                pass
        self._response.close()

    def abort(self) -> None:
        """Stop this reply from another thread: a read blocked on its socket returns at once (the
        reader then fails, and closes the reply). Closing alone would not wake that read: it would
        wait for the server's next byte. httpcore2's `network_stream` extension holds the socket."""
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            import socket

            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed: nothing to wake
                pass


class Transport:
    """Sends chat requests with retries; holds one connection pool for a session. Several threads
    may send through one Transport at once (a comparison): httpx2's Client is thread-safe, and the
    only state kept here (body fields the server refused) is a set that threads only add to."""

    def __init__(
        self,
        *,
        timeout: float,
        connect_timeout: float,
        retries: int,
        httpx_transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        log: Log | None = None,
        notify: Log | None = None,
        rand: Callable[[], float] = random.random,
        plain_http: bool = False,
        ca_bundle: str | None = None,
        fallbacks: Sequence[Fallback] = (),
        early: Early | None = None,
    ) -> None:
        self.timeout = timeout
        # Body fields a server may refuse (the run says which, and what to do then): once
        # refused, left out of this transport's later requests (a re-ask would be refused again).
        self._fallbacks = fallbacks
        self._refused: set[str] = set()
        self._instead: dict[str, JSON] = {}  # ... or what goes in their place
        self.retries = retries
        self._sleep = sleep
        self._clock = clock
        self._log = log
        self._notify = notify
        self._rand = rand
        # One TLS context for the run: the early connection (early.py) was checked with it.
        context = early.context() if early is not None else tls_context(plain_http, ca_bundle)
        verify: ssl.SSLContext | bool = context if context is not None else False
        self._client = httpx2.Client(
            transport=httpx_transport if httpx_transport is not None else _network(context, early),
            timeout=httpx2.Timeout(timeout, connect=connect_timeout),
            verify=verify,
            headers={"User-Agent": USER_AGENT},  # a request's own headers may replace it
        )

    def open(self, request: ChatRequest, sent: Callable[[], None] | None = None) -> Reply:
        """POST a chat request; retry only before a 2xx response begins (hosted tools re-run).

        `sent` is called once the request's body is on the wire (httpx2's `trace` extension),
        while the server thinks; a transport that traces nothing (a mock) never calls it.
        """
        dropped = False

        def amend(status: int, data: bytes, body: dict[str, Any]) -> dict[str, Any] | None:
            nonlocal dropped
            # Some servers reject stream_options; usage is then simply not reported.
            if not dropped and status in (400, 422) and "stream_options" in body and b"stream_options" in data:
                dropped = True
                return {k: v for k, v in body.items() if k != "stream_options"}
            for fallback in self._fallbacks:
                field = fallback.field
                if field in body and fallback.rejects(status, data):
                    value = fallback.instead(body[field], data)
                    if value is None:
                        self._refused.add(field)
                        self._instead.pop(field, None)
                        return {k: v for k, v in body.items() if k != field}
                    self._instead[field] = value
                    return {**body, field: value}
            return None

        body = {k: self._instead.get(k, v) for k, v in request.body.items() if k not in self._refused}
        response = self._exchange("POST", request.url, request.headers, body, amend,
                                  _on_sent(sent) if sent is not None else None, request.key_hint)
        return Reply(response, self.timeout, clock=self._clock, sleep=self._sleep)

    def get_json(self, url: str, headers: dict[str, str], key_hint: str | None = None) -> JSON:
        """GET a JSON document (e.g. the model list), with the same retries and errors (`key_hint`:
        as a ChatRequest's)."""
        reply = Reply(self._exchange("GET", url, headers, None, None, key_hint=key_hint), self.timeout)
        try:
            return reply.json()
        finally:
            reply.close()

    def close(self) -> None:
        self._client.close()

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        amend: Callable[[int, bytes, dict[str, Any]], dict[str, Any] | None] | None,
        trace: Callable[[str, Any], None] | None = None,
        key_hint: str | None = None,
    ) -> httpx2.Response:
        attempt = 0
        while True:
            try:
                response = self._send(method, url, headers, body, trace)
            except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):  # retrying cannot help
                    raise NetworkError(
                        f"TLS certificate of {_host(url)} not trusted: {_reason(exc)}",
                        hint="point SSL_CERT_FILE or the ca_bundle setting at your CA's PEM file",
                    ) from exc
                if attempt < self.retries:
                    self._wait(self._backoff(attempt), f"cannot connect ({_reason(exc)})", attempt)
                    attempt += 1
                    continue
                raise NetworkError(
                    f"cannot connect to {_host(url)}: {_reason(exc)}",
                    hint="check the network and --base-url",
                ) from exc
            except httpx2.TransportError as exc:
                raise _reading_error(exc, self.timeout) from exc
            if 200 <= response.status_code < 300:
                return response
            try:
                data = response.read()
            except httpx2.TransportError:
                data = b""
            finally:
                response.close()
            status = response.status_code
            message = error_message(status, response.reason_phrase, data)
            amended = amend(status, data, body) if amend and body is not None else None
            if amended is not None:
                body = amended
                continue
            if status in RETRY_STATUSES and attempt < self.retries:
                delay = _retry_after(response.headers.get("retry-after"))
                if delay is None:
                    delay = self._backoff(attempt)
                if delay <= MAX_RETRY_AFTER:
                    self._wait(delay, message, attempt)
                    attempt += 1
                    continue
                message += f" (the server asks to retry after {delay:.0f} s)"
            raise APIError(message, status=status, hint=_hint(status, url, key_hint))

    def _send(self, method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None,
              trace: Callable[[str, Any], None] | None = None) -> httpx2.Response:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        if self._log:
            self._log(f"> {method} {url}")
            for name, value in headers.items():
                self._log(f"> {name}: {shown_header(name, value)}")
            if content is not None:
                self._log(f"> {content.decode('utf-8')}")
        events: list[str] = []

        def traced(event: str, info: Any) -> None:
            if event in _CONNECTION_EVENTS:
                events.append(event)
            if trace is not None:
                trace(event, info)

        def send() -> httpx2.Response:
            events.clear()
            req = self._client.build_request(method, url, headers=headers, content=content,
                                             extensions={"trace": traced})
            return self._client.send(req, stream=True)

        try:
            response = send()
        except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError):
            # On a kept-alive connection (it was sent, and not after connecting), no response at
            # all: the server had closed it (its idle limit, as we sent). Once more, on a new one,
            # as browsers do: no response began, so nothing ran twice.
            if events != ["http11.send_request_headers.started"]:
                raise
            if self._log:
                self._log("* the kept-alive connection had been closed; sending on a new one")
            response = send()
        if self._log:
            self._log(f"< {response.status_code} {response.reason_phrase}")
            for name, value in response.headers.items():
                if name.lower() in LOGGED_HEADERS or name.lower().startswith("x-ratelimit-"):
                    self._log(f"< {name}: {value}")
        return response

    def _backoff(self, attempt: int) -> float:
        return min(MAX_BACKOFF, 0.5 * 2.0**attempt) * (0.5 + self._rand() / 2)

    def _wait(self, delay: float, why: str, attempt: int) -> None:
        if self._notify:
            self._notify(f"{why}; retrying in {delay:.1f} s ({attempt + 1}/{self.retries})")
        self._sleep(delay)


def _on_sent(sent: Callable[[], None]) -> Callable[[str, Any], None]:
    """A `trace` callback (httpcore2's events) that calls `sent` when a request body is out."""

    def trace(event: str, info: object) -> None:
        if event.endswith("send_request_body.complete"):
            sent()

    return trace


def _network(context: ssl.SSLContext | None, early: Early | None) -> httpx2.BaseTransport | None:
    """The transport to the network: ours, whose reads a signal wakes at once (wakeful.py), and
    whose first connection may be the early one; None (httpx2's own) when a proxy is configured,
    so httpx2 honours it and NO_PROXY (the early connection, made without it, is then given up)."""
    from .wakeful import WakefulTransport, direct

    if not direct():
        if early is not None:
            early.close()
        return None
    return WakefulTransport(context, early=early)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reading_error(exc: Exception, timeout: float) -> Exception:
    if isinstance(exc, httpx2.TimeoutException):
        return NetworkError(
            f"no data from the server for {timeout:g} s", hint="raise --timeout for slow tools"
        )
    if isinstance(exc, httpx2.RemoteProtocolError):
        return StreamError(f"the stream broke off: {_reason(exc)}")
    return NetworkError(f"network failure: {_reason(exc)}")


def _hint(status: int, url: str, key_hint: str | None) -> str | None:
    if status in (401, 403):
        return key_hint or "check the API key"
    if status == 402:
        return "out of credit"
    if status == 404:
        return f"is {url.rsplit('/chat/completions', 1)[0]} an OpenAI-compatible API? see --base-url"
    if status == 429:
        return "rate limited; wait and try again"
    return None


def _host(url: str) -> str:
    return httpx2.URL(url).netloc.decode("ascii", "replace")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
