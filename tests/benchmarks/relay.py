"""A TCP relay for the benchmark's real-link cases: it passes bytes on as they come, each
piece `delay` seconds later in each direction (50 ms: round trips of 100 ms, a TLS handshake
paying them as on a real link). A relay of bytes, not an HTTP proxy: TLS goes end to end.
It counts what it saw (tests ask when a connection came, and how many)."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable


class Relay:
    def __init__(self, target: tuple[str, int], delay: float = 0.0) -> None:
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"127.0.0.1:{self.port}"
        self.accepted = 0  # connections taken
        self.down = 0  # bytes passed from the server to the client
        self.ended = 0  # connections the client ended (its side closed)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            server = socket.create_connection(self.target)
            # Each piece goes on as it came: with Nagle on, a small piece would wait for the
            # ACK of the one before (delayed up to 40 ms), an artefact no router adds.
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ends = [2]  # directions still open; the last to end closes both sockets
            lock = threading.Lock()

            def ended(pair: tuple[socket.socket, socket.socket] = (client, server), ends: list[int] = ends,
                      lock: threading.Lock = lock) -> None:
                with lock:
                    ends[0] -= 1
                    if ends[0]:
                        return
                for sock in pair:
                    sock.close()

            self._pipe(client, server, ended, up=True)
            self._pipe(server, client, ended, up=False)

    def _pipe(self, source: socket.socket, sink: socket.socket, ended: Callable[[], None], *, up: bool) -> None:
        pieces: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                if not up:
                    self.down += len(data)
                elif not data:
                    self.ended += 1
                pieces.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def write() -> None:
            try:
                while True:
                    due, data = pieces.get()
                    time.sleep(max(0.0, due - time.monotonic()))
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(data)
            except OSError:
                return
            finally:
                ended()

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
