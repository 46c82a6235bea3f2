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
DELAY = 0.05  # each way, on the link


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
    lags: dict[tuple[float, str], float] = {}
    try:
        server.script("link", {"text": "Zebrafish swim in schools. " * 8, "size": 27, "ttfb": TTFB})
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        for delay, label in ((0.0, "TLS on loopback"), (DELAY, "TLS, 50 ms each way")):
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
                lags[delay, where] = ours.wall - floor.wall
                rows.append(row(f"first text, {label}, TTFB 300 ms, {where}", ours, "curl -sN, same link", floor,
                                f"+{lags[delay, where] * 1000:.0f} ms (reported)"))
            if delay:
                rows += repl_rows(link_env, pairs, warm, row)
            relay.close()
    finally:
        server.stop()
    for where in ("terminal", "pipe"):  # the handshake hidden under start-up: the lag shrinks over the link
        gain = lags[0.0, where] - lags[DELAY, where]
        rows.append(row(f"lag behind curl over the link, {where}", measure.Stats(lags[DELAY, where], 0.0, None),
                        "the lag on loopback", measure.Stats(lags[0.0, where], 0.0, None),
                        f"{gain * 1000:.0f} ms smaller (≥ 80 ms)", gain >= 0.08))
    return rows


def repl_rows(link_env: dict[str, str], pairs: int, warm: int, row: Callable[..., object]) -> list[object]:
    """The REPL over the link: Enter to first text on the first turn (which pays the handshake) and
    on the second (on the first one's kept-alive connection), beside the server's wait plus the
    request's round trip."""
    floor = measure.Stats(TTFB + 2 * DELAY, 0.0, None)
    rows = []
    for turns, what in ((1, "first turn"), (2, "second turn")):
        ours = measure.repeat(lambda turns=turns: measure.repl_first_text(OTCHAT, link_env, b"link", b"Zebrafish", turns),
                              pairs, warm)
        over = ours.wall - floor.wall
        if turns == 1:
            rows.append(row(f"REPL, TLS 50 ms each way: {what}, Enter to first text (pty)", ours,
                            "TTFB + a round trip", floor, f"+{over * 1000:.0f} ms (reported: its handshake)"))
        else:
            rows.append(row(f"REPL, TLS 50 ms each way: {what}, Enter to first text (pty)", ours,
                            "TTFB + a round trip", floor, f"+{over * 1000:.0f} ms (≤ 25 ms: no handshake)", over <= 0.025))
    return rows
