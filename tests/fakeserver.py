"""A fake OpenTools server on 127.0.0.1 (stdlib only), scripted per test.

Each request takes the reply `server.per_model` holds for its model (a reply, a list taken in
turn, or a callable of the body), else the next scripted reply from `server.queue`; with neither
it echoes the last user message (streamed or not, as asked). Every request is recorded, with when
it came and when its reply ended (so a test can see two were in flight at once).

Run it by hand to try otchat without an account (tests/fakedemo.py adds scripted replies
there: slow streams, tool calls, errors; `--help` lists them):

    python -m tests.fakeserver --port 8765
    OTCHAT_BASE_URL=http://127.0.0.1:8765/v1 OPENTOOLS_API_KEY=anything otchat "hello"
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    started: float = 0.0  # time.monotonic() when it came
    ended: float | None = None  # ... and when its reply was all sent


# Replies ---------------------------------------------------------------------------


@dataclass
class Stream:
    """An SSE reply. `events` are dicts (sent as JSON) or raw strings (sent as they are)."""

    events: list[Any]
    done: bool = True  # send `data: [DONE]`
    complete: bool = True  # end the HTTP body properly (False: drop the connection)
    crlf: bool = False
    split: int | None = None  # cut the byte stream into pieces of this size
    piece_delay: float = 0.0
    keepalive: bool = False  # a `: keep-alive` comment between events
    fields: bool = False  # `event:` and `id:` fields on every event
    gap: tuple[int, float] | None = None  # (before event index, seconds of silence)
    gap_keepalive: float | None = None  # during the gap, a comment every N seconds
    first_byte_delay: float = 0.0  # seconds before the response begins (the server "thinks")
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    _bytes: bytes | None = field(default=None, repr=False)

    def encoded(self) -> bytes:
        """The whole stream's bytes, encoded once (benchmarks send the same stream often)."""
        if self._bytes is None:
            self._bytes = b"".join(_encode_events(self))
        return self._bytes


@dataclass
class Body:
    """A non-streamed reply: JSON (dict/list) or raw text."""

    content: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    first_byte_delay: float = 0.0


@dataclass
class Text:
    """An answer of plain text, streamed or not as the request asks."""

    text: str
    first_byte_delay: float = 0.0


def error(status: int, body: Any, headers: dict[str, str] | None = None) -> Body:
    content_type = "application/json" if isinstance(body, (dict, list)) else "text/html"
    return Body(body, status=status, headers=headers or {}, content_type=content_type)


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict | None = None,
          *, model: str = "fake/model", choices: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "genr_fake", "object": "chat.completion.chunk", "model": model}
    out["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else []
    if usage is not None:
        out["usage"] = usage
    return out


USAGE = {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}


def text_chunks(text: str, size: int = 4, *, usage: str | None = "empty-choices", finish: str | None = "stop",
                reasoning: str | None = None, model: str = "fake/model") -> list[dict[str, Any]]:
    """Chunks streaming `text` in `size`-character deltas.

    usage: "empty-choices" (a last chunk with `choices: []`), "on-chunk" (on an ordinary
    content chunk), "finish" (on the finish chunk) or None.
    """
    events = [chunk({"role": "assistant"}, model=model)]
    if reasoning:
        events.append(chunk({"reasoning_content": reasoning}, model=model))
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    for i, piece in enumerate(pieces):
        extra = USAGE if usage == "on-chunk" and i == len(pieces) - 1 else None
        events.append(chunk({"content": piece}, usage=extra, model=model))
    if finish is not None:
        events.append(chunk({}, finish, usage=USAGE if usage == "finish" else None, model=model))
    if usage == "empty-choices":
        events.append(chunk(usage=USAGE, choices=False, model=model))
    return events


def paused_text(shown: str, rest: str, pause: float, *, size: int = 8, piece_delay: float = 0.0) -> Stream:
    """A reply that streams `shown`, falls silent for `pause` seconds (a slow model: time to
    press Ctrl-C while `shown` is on the screen), then streams `rest` and finishes."""
    first = text_chunks(shown, size, finish=None, usage=None)
    return Stream(first + text_chunks(rest, size)[1:], gap=(len(first), pause), piece_delay=piece_delay)


def tool_call_chunks(calls: list[tuple[str, str]], *, style: str = "once", pieces: int = 3,
                     finish: str = "tool_calls", text: str = "") -> list[dict[str, Any]]:
    """Chunks streaming tool calls. style "once": id and name in the first delta only;
    "repeat": id, type and name repeated in every delta (as some servers do)."""
    events = [chunk({"role": "assistant"})]
    if text:
        events.extend(chunk({"content": text[i : i + 4]}) for i in range(0, len(text), 4))
    for index, (name, arguments) in enumerate(calls):
        step = max(1, -(-len(arguments) // pieces))
        parts = [arguments[i : i + step] for i in range(0, len(arguments), step)] or [""]
        for n, part in enumerate(parts):
            call: dict[str, Any] = {"index": index, "function": {"arguments": part}}
            if n == 0 or style == "repeat":
                call.update(id=f"call_{index}", type="function")
                call["function"]["name"] = name
            events.append(chunk({"tool_calls": [call]}))
    events.append(chunk({}, finish))
    events.append(chunk(usage=USAGE, choices=False))
    return events


def completion(text: str, *, finish: str = "stop", tool_calls: list | None = None,
               usage: dict | None = USAGE) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    out: dict[str, Any] = {"id": "genr_fake", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if usage is not None:
        out["usage"] = usage
    return out


# Server ------------------------------------------------------------------------------


class FakeServer:
    def __init__(self, port: int = 0, tls: tuple[str, str] | None = None) -> None:
        self.queue: deque[Stream | Body | Text] = deque()
        # A server without structured outputs: a request with response_format gets a 400.
        self.reject_response_format: bool | str = False  # True: any; "json_schema": only that, with a 500
        self.requests: list[Recorded] = []
        self.models: Any = {"object": "list", "data": [
            {"id": "fake/echo", "owned_by": "otchat-tests", "context_length": 8192},
        ]}
        # Replies chosen by the request when the queue is empty (None: echo); see tests/fakedemo.py.
        self.script: Callable[[Any], Stream | Body | None] | None = None
        self.per_model: dict[str, Any] = {}  # model -> reply, [replies], or callable(body) -> reply
        self.delay = 0.0  # seconds every reply waits before its first byte (a server that thinks)
        self.keep_alive = False  # True: a connection stays open after a whole stream, for the next request
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:  # (certfile, keyfile): serve https
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/v1"

    def enqueue(self, *replies: Stream | Body | Text) -> None:
        with self._lock:
            self.queue.extend(replies)

    def answer(self, *texts: str) -> None:
        """Answer the next requests with these texts, one per request."""
        self.enqueue(*(Text(text) for text in texts))

    def next_reply(self, body: Any) -> Stream | Body:
        if self.reject_response_format and isinstance(body, dict) and "response_format" in body:
            if self.reject_response_format != "json_schema":
                return error(400, {"error": {"message": "response_format is not supported by this model"}})
            if body["response_format"].get("type") == "json_schema":  # as llama-cpp-python answers it
                return error(500, {"error": {"message": "[{'type': 'literal_error', 'loc': ('body', "
                                             "'response_format', 'type'), 'msg': \"Input should be 'text' or "
                                             "'json_object'\", 'input': 'json_schema'}]"}})
        with self._lock:
            reply = self._for_model(body)
            if reply is None and self.queue:
                reply = self.queue.popleft()
        if isinstance(reply, Text):
            return text_reply(reply.text, body, reply.first_byte_delay)
        return reply or (self.script and self.script(body)) or echo_reply(body)

    def _for_model(self, body: Any) -> Stream | Body | Text | None:
        mine = self.per_model.get(body.get("model")) if isinstance(body, dict) else None
        if isinstance(mine, list):
            mine = mine.pop(0) if mine else None
        if callable(mine):
            mine = mine(body)
        return Text(mine) if isinstance(mine, str) else mine

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    @property
    def last_body(self) -> Any:
        return self.requests[-1].body

    def last_request_header(self, name: str) -> str | None:
        return self.requests[-1].headers.get(name.lower())

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in this thread until Ctrl-C (`python -m tests.fakeserver`)."""
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.queue.clear()
            self.requests.clear()
            self.reject_response_format = False
            self.per_model.clear()
            self.delay = 0.0

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def echo_reply(body: Any) -> Stream | Body:
    """The default: a short markdown answer quoting the last user message."""
    last = ""
    if isinstance(body, dict):
        for message in reversed(body.get("messages") or []):
            if isinstance(message, dict) and message.get("role") == "user":
                last = str(message.get("content"))
                break
    return text_reply(f"You said: {last}", body)


def text_reply(text: str, body: Any, delay: float = 0.0) -> Stream | Body:
    """`text` as the request asks for it: streamed, or one JSON completion."""
    if isinstance(body, dict) and body.get("stream"):
        return Stream(text_chunks(text, 8), first_byte_delay=delay)
    return Body(completion(text), first_byte_delay=delay)


def _handler_for(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            server.record(Recorded("GET", self.path, _headers(self), None))
            if self.path.rstrip("/") in ("/v1/models", "/models") and server.models is not None:
                self._send_body(Body(server.models))
            else:
                self._send_body(error(404, {"error": {"message": f"no route {self.path}"}}))

        def do_POST(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            entry = Recorded("POST", self.path, _headers(self), body, started)
            server.record(entry)
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send_body(error(404, {"error": {"message": f"no route {self.path}"}}))
                return
            reply = server.next_reply(body)
            try:
                time.sleep(server.delay)
                if isinstance(reply, Stream):
                    self._send_stream(reply)
                else:
                    time.sleep(reply.first_byte_delay)
                    self._send_body(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                entry.ended = time.monotonic()

        def _send_body(self, reply: Body) -> None:
            content = reply.content
            data = (json.dumps(content) if isinstance(content, (dict, list)) else str(content)).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", "req_fake")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, reply: Stream) -> None:
            if reply.first_byte_delay:
                time.sleep(reply.first_byte_delay)
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("x-request-id", "req_fake")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.flush()
            if reply.gap is None and reply.split:
                # Cut the whole byte stream anywhere, across event boundaries.
                for piece in _pieces(reply.encoded(), reply.split):
                    self._chunk(piece)
                    if reply.piece_delay:
                        time.sleep(reply.piece_delay)
            else:
                for i, data in enumerate(_encode_events(reply)):
                    if reply.gap and i == reply.gap[0]:
                        self._silence(reply)
                    self._chunk(data)
                    if reply.piece_delay:
                        time.sleep(reply.piece_delay)
            if reply.complete:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            self.close_connection = not (server.keep_alive and reply.complete)

        def _silence(self, reply: Stream) -> None:
            assert reply.gap is not None
            end = time.monotonic() + reply.gap[1]
            while time.monotonic() < end:
                step = min(reply.gap_keepalive or reply.gap[1], end - time.monotonic())
                time.sleep(max(0.0, step))
                if reply.gap_keepalive and time.monotonic() < end:
                    self._chunk(b": keep-alive\n\n")

        def _chunk(self, piece: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()

    return Handler


def _encode_events(reply: Stream) -> Iterable[bytes]:
    nl = "\r\n" if reply.crlf else "\n"
    events = list(reply.events) + (["[DONE]"] if reply.done else [])
    for n, event in enumerate(events):
        payload = event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)
        head = f"event: message{nl}id: {n}{nl}" if reply.fields else ""
        comment = f": keep-alive{nl}{nl}" if reply.keepalive else ""
        yield f"{comment}{head}data: {payload}{nl}{nl}".encode()


def _pieces(data: bytes, size: int | None) -> Iterable[bytes]:
    if not size:
        yield data
        return
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    return {name.lower(): value for name, value in handler.headers.items()}


if __name__ == "__main__":
    # Run as the importable modules, so the classes are the ones tests/fakedemo.py builds replies from.
    from tests import fakedemo

    fakedemo.main()
