"""The local MCP rows: a tool result's time from the MCP server's answer to the screen (the
server's own clock in the result, read off the line otchat draws), and Ctrl-C to exit in the
middle of a tool call (the test server's, which honours the cancellation, and
server-everything's long operation, which does not).

The model is the fake server in its demo mode (`tool NAME JSON` asks for that call)."""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.benchmarks import measure

OTCHAT = str(Path(sys.executable).with_name("otchat"))
TEST_SERVER = Path(__file__).resolve().parent.parent / "mcp_testserver.py"
SENT = re.compile(rb"sent at (\d+\.\d+)")


def mcp_rows(root: Path, env: dict[str, str], runs: int, row: Callable[..., object]) -> list[object]:
    port = _free_port()
    model = subprocess.Popen([sys.executable, "-m", "tests.fakeserver", "--port", str(port)], cwd=root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**env, "OTCHAT_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    server = f"t={sys.executable} {TEST_SERVER}"
    rows: list[object] = []
    try:
        _wait_for(port)
        for where, on_pty in (("pipe", False), ("terminal", True)):
            lags = [_result_lag(env, server, on_pty) for _ in range(runs * 2)]
            median = statistics.median(lags)
            rows.append(row(f"MCP tool result: the server's answer to the screen, {where}",
                            measure.Stats(median, 0.0, None), "none (a clock in the result)",
                            measure.Stats(0.0, 0.0, None), f"median {median * 1000:.1f} ms (< 50 ms)", median < 0.05))
        quit_in = [_ctrl_c_in_call(env, ["--mcp-command", server], 't__slow {"seconds": 30}') for _ in range(runs)]
        median = statistics.median(quit_in)
        rows.append(row("Ctrl-C to exit during a tool call (test server)", measure.Stats(median, 0.0, None),
                        "python in a sleep", measure.Stats(_python_floor(env), 0.0, None),
                        f"median {median * 1000:.0f} ms (reported: the SDK gives a server 2 s to exit)"))
        everything = everything_command()
        if everything is not None:
            quit_in = [_ctrl_c_in_call(env, ["--mcp-command", everything],
                                       'everything__trigger-long-running-operation {"duration": 30, "steps": 30}')
                       for _ in range(runs)]
            median = statistics.median(quit_in)
            rows.append(row("Ctrl-C to exit during a tool call (server-everything)", measure.Stats(median, 0.0, None),
                            "python in a sleep", measure.Stats(_python_floor(env), 0.0, None),
                            f"median {median * 1000:.0f} ms (reported: the SDK waits 2 s for a server that"
                            " ignores the cancellation)"))
    finally:
        model.terminate()
        model.wait(timeout=10)
    return rows


def _result_lag(env: dict[str, str], server: str, on_pty: bool) -> float:
    """One run: the time from the server's clock in its result to otchat writing it (stderr in a
    pipe, the terminal on a pty)."""
    seen: list[float] = []
    buffer = [b""]

    def watch(chunk: bytes, child: measure.Child) -> None:
        buffer[0] += chunk
        found = SENT.search(buffer[0])
        if found and not seen:
            seen.append(time.time() - float(found.group(1)))

    argv = [OTCHAT, "-y", "--mcp-command", server, "tool t__now {}"]
    if on_pty:
        measure.spawned(argv, env, output="pty", watch=watch, peak=False)
    else:
        # In a pipe the result line goes to stderr: read it there.
        start = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        assert start.stderr is not None
        for line in start.stderr:
            found = SENT.search(line)
            if found and not seen:
                seen.append(time.time() - float(found.group(1)))
        start.wait()
    if not seen:
        raise SystemExit("benchmark: no tool result seen")
    return seen[0]


def _ctrl_c_in_call(env: dict[str, str], mcp: list[str], call: str) -> float:
    """SIGINT 0.5 s into a tool call (its panel drawn in a pipe: `tool call:` on stderr); the
    seconds until the process has exited."""
    child = subprocess.Popen([OTCHAT, "-y", *mcp, f"tool {call}"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    for line in child.stderr:
        if line.startswith(b"tool call:"):
            break
    time.sleep(0.5)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    child.stderr.read()
    code = child.wait()
    took = time.perf_counter() - sent
    if code != 130:
        raise SystemExit(f"benchmark: Ctrl-C during a tool call exited {code}")
    return took


def _python_floor(env: dict[str, str]) -> float:
    child = subprocess.Popen([sys.executable, "-c", "import time; print('x', flush=True); time.sleep(60)"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    child.stdout.readline()
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    child.wait()
    return time.perf_counter() - sent


def everything_command() -> str | None:
    try:
        from tests.everything import command

        return command()
    except BaseException:  # noqa: BLE001 (no node or npm here: the row is left out)
        return None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int) -> None:
    import socket

    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("benchmark: the fake server did not start")


if __name__ == "__main__":  # a quick look: python -m tests.benchmarks.mcp_rows
    print(*mcp_rows(Path.cwd(), dict(os.environ), 3, lambda *fields: fields[:1] + fields[4:]), sep="\n")
