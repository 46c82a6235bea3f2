"""The benchmark's fake server: every chat request gets the answer scripted last.

POST /_bench/script {"text", "size", "cut"?, "delay"?, "ttfb"?, "gap"?} prepares the stream once
(encoded ahead, sent in 64 KiB pieces, or one event per write every `delay` seconds),
`ttfb` seconds after the request arrived; `gap` [event index, seconds]: a silence there.
"""

import json
import sys

from tests.fakeserver import FakeServer, Stream, text_chunks


class BenchServer(FakeServer):
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        super().__init__(tls=tls)
        self.current: Stream | None = None
        self.keep_alive = True  # as a real server: a REPL's next turn may go on the same connection

    def next_reply(self, body):
        return self.current or super().next_reply(body)

    def record(self, entry) -> None:  # keep nothing: runs are long
        pass


def main() -> None:
    server = BenchServer(tls=(sys.argv[1], sys.argv[2]) if len(sys.argv) > 2 else None)  # CERT KEY: https
    base = server._httpd.RequestHandlerClass

    class Handler(base):  # type: ignore[misc, valid-type]
        def do_POST(self) -> None:
            if self.path != "/_bench/script":
                return base.do_POST(self)
            spec = json.loads(self.rfile.read(int(self.headers["content-length"])))
            text = spec["text"][: spec.get("cut")] if spec.get("cut") else spec["text"]
            delay = spec.get("delay", 0.0)
            gap = tuple(spec["gap"]) if spec.get("gap") else None
            stream = Stream(text_chunks(text, spec["size"]), split=None if delay or gap else 65536,
                            piece_delay=delay, first_byte_delay=spec.get("ttfb", 0.0), gap=gap)
            stream.encoded()
            server.current = stream
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server._httpd.RequestHandlerClass = Handler
    print(server.url, flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
