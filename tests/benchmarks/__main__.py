"""Benchmarks: otchat beside a floor measured in the same run, reported as ratios.

    python -m tests.benchmarks            # full sizes, several runs each
    python -m tests.benchmarks --quick    # tiny sizes, one run (CI keeps it working)

Machines are noisy: read the ratios and medians, not a lone absolute time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import clean_environ
from tests.fakeserver import FakeServer, Stream, text_chunks

OTCHAT = str(Path(sys.executable).with_name("otchat"))


def timed(argv: list[str], env: dict[str, str], runs: int, stdout=subprocess.DEVNULL) -> float:
    """Median wall time of `argv` over `runs`, after one warm-up run."""
    times = []
    for n in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed ({proc.returncode}): {argv}\n{proc.stderr.decode()}")
        if n:
            times.append(elapsed)
    return statistics.median(times)


def time_to_prompt(env: dict[str, str], runs: int) -> float:
    """Median wall time from spawning `otchat chat` in a pseudo-terminal to its first prompt."""
    import pexpect

    env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    times = []
    for n in range(runs + 1):
        start = time.perf_counter()
        child = pexpect.spawn(OTCHAT, ["chat"], env=env, dimensions=(40, 120), timeout=30)
        child.expect("\u203a".encode())  # the prompt character
        elapsed = time.perf_counter() - start
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
        child.close()
        if n:
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    size = 2_000 if args.quick else 100_000

    home = Path(tempfile.mkdtemp(prefix="otchat-bench-"))
    (home / "config").mkdir()
    (home / "data").mkdir()
    rows: list[tuple[str, float, str, float]] = []
    with FakeServer() as server:
        env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY="bench-key")
        py_floor = timed([sys.executable, "-c", "pass"], env, runs)
        rows.append(("otchat --version", timed([OTCHAT, "--version"], env, runs), "python -c pass", py_floor))
        rows.append(("otchat --help", timed([OTCHAT, "--help"], env, runs), "python -c pass", py_floor))
        completing = {**env, "_OTCHAT_COMPLETE": "bash"}
        rows.append(("one TAB completion (otchat con)", timed([OTCHAT, "con"], completing, runs),
                     "python -c pass", py_floor))
        rows.append(("otchat chat, to its first prompt", time_to_prompt(env, runs), "python -c pass", py_floor))

        short = text_chunks("x" * 200, 4)
        server.enqueue(*[Stream(short) for _ in range(2 * (runs + 1))])
        logged = timed([OTCHAT, "short"], env, runs)
        unlogged = timed([OTCHAT, "--no-log", "short"], env, runs)
        rows.append(("one-shot 200 chars, logged", logged, "same with --no-log", unlogged))

        answer = ("lorem ipsum " * (size // 12 + 1))[:size]
        events = text_chunks(answer, 4)
        server.enqueue(*[Stream(events) for _ in range(2 * (runs + 1))])
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "go"}], "stream": True})
        curl = shutil.which("curl")
        out = home / "answer.txt"
        with open(out, "w") as sink:
            ours = timed([OTCHAT, "go"], env, runs, stdout=sink)
        if curl:
            curl_argv = [curl, "-sN", "-o", os.devnull, "-X", "POST", f"{server.url}/chat/completions",
                         "-H", "Content-Type: application/json", "-d", body]
            floor = timed(curl_argv, env, runs)
            rows.append((f"{size:,} chars streamed to a file", ours, "curl -sN", floor))
        else:
            rows.append((f"{size:,} chars streamed to a file", ours, "(curl missing)", float("nan")))
        if out.read_text() != (answer + "\n") * (runs + 1):  # warm-up + runs, appended
            raise SystemExit("benchmark: the streamed answer came out wrong")

    print(f"{'case':34} {'otchat':>9} {'floor':>9}  {'ratio':>6}  floor command")
    for name, value, floor_name, floor in rows:
        print(f"{name:34} {value * 1000:8.1f}ms {floor * 1000:8.1f}ms  {value / floor:5.1f}x  {floor_name}")
    print(f"(median of {runs} run(s) after a warm-up; Python {sys.version.split()[0]}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
