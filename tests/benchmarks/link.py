"""The real-link cases: first text over TLS, straight to a loopback TLS server (a throwaway
CA) through a relay that passes bytes on at once, and through one that holds every piece
50 ms each way (100 ms round trips: DNS aside, what a real link makes TCP and TLS pay)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks import measure
from tests.benchmarks.relay import Relay

OTCHAT = str(Path(sys.executable).with_name("otchat"))
TTFB = 0.3


def link_rows(root: Path, home: Path, env: dict[str, str], pairs: int, warm: int,
              row: Callable[..., object]) -> list[object]:
    """Rows (made by `row(case, ours, floor_name, floor, note)`) of otchat beside curl over the links."""
    curl, openssl = shutil.which("curl"), shutil.which("openssl")
    if curl is None or openssl is None:
        return []
    cert, key = home / "link-cert.pem", home / "link-key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = measure.ServerProcess(root, tls=(str(cert), str(key)))
    rows: list[object] = []
    try:
        server.script("link", {"text": "Zebrafish swim in schools. " * 8, "size": 27, "ttfb": TTFB})
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        for delay, label in ((0.0, "TLS on loopback"), (0.05, "TLS, 50 ms each way")):
            relay = Relay(("127.0.0.1", port), delay)
            url = f"https://127.0.0.1:{relay.port}/v1"
            link_env = {**env, "OTCHAT_BASE_URL": url, "SSL_CERT_FILE": str(cert)}
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "link"}], "stream": True})
            curl_argv = [curl, "-sN", "--cacert", str(cert), "-X", "POST", f"{url}/chat/completions",
                         "-H", "Content-Type: application/json", "-d", body]
            for where, on_pty in (("terminal", True), ("pipe", False)):
                def first(argv: list[str], on_pty: bool = on_pty, link_env: dict[str, str] = link_env) -> measure.Stats:
                    return measure.first_text(argv, link_env, b"Zebrafish", on_pty=on_pty)

                ours, floor = measure.paired(lambda: first([OTCHAT, "link"]), lambda argv=curl_argv: first(argv), pairs, warm)
                rows.append(row(f"first text, {label}, TTFB 300 ms, {where}", ours, "curl -sN, same link", floor,
                                f"+{(ours.wall - floor.wall) * 1000:.0f} ms (reported)"))
            relay.close()
    finally:
        server.stop()
    return rows
