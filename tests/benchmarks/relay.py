"""A TCP relay for the benchmark's real-link cases: it passes bytes on as they come, each
piece `delay` seconds later in each direction (50 ms: round trips of 100 ms, a TLS handshake
paying them as on a real link). A relay of bytes, not an HTTP proxy: TLS goes end to end."""

from __future__ import annotations

import queue
import socket
import threading
import time


class Relay:
    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for one, other in ((client, server), (server, client)):
                self._pipe(one, other)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        pieces: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                pieces.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = pieces.get()
                time.sleep(max(0.0, due - time.monotonic()))
                try:
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
