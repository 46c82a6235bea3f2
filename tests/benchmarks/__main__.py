"""Benchmarks: otchat beside a floor measured in the same run, reported as ratios.

    python -m tests.benchmarks            # every case, several runs each (a few minutes)
    python -m tests.benchmarks --quick    # tiny sizes, one run: keeps the runner working

For each case: the median wall time, CPU time (user + system) and peak memory of otchat
and of its floor, and the ratio of the medians. Machines are noisy: read ratios and
medians, never a lone absolute time. The fake server runs in its own process, so
neither side pays for it in CPU or memory.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks import measure
from tests.benchmarks.texts import markdown_answer
from tests.conftest import clean_environ

OTCHAT = str(Path(sys.executable).with_name("otchat"))
FLOOR_CLIENT = str(Path(__file__).with_name("floor_client.py"))
STACK_CLIENT = str(Path(__file__).with_name("stack_client.py"))
HERE = Path(__file__).resolve().parent.parent.parent


@dataclass
class Row:
    case: str
    ours: measure.Stats
    floor_name: str
    floor: measure.Stats
    target: str
    met: bool | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run, no warm-up")
    parser.add_argument("--runs", type=int, default=5, help="runs per case after a warm-up (default 5)")
    parser.add_argument("--only", choices=["startup", "oneshot", "ttft", "link", "pipe", "terminal", "paced", "signal", "mcp"], action="append",
                        help="run only these groups of cases (repeatable)")
    args = parser.parse_args()

    def want(group: str) -> bool:
        return not args.only or group in args.only

    runs = 1 if args.quick else args.runs
    pairs = 1 if args.quick else max(runs, 15)  # the stack-floor rows: at least 15 alternating pairs
    warm = 0 if args.quick else 1
    scale = 50 if args.quick else 1

    home = Path(tempfile.mkdtemp(prefix="otchat-bench-"))
    (home / "config").mkdir()
    (home / "data").mkdir()
    server = measure.ServerProcess(HERE)
    rows: list[Row] = []
    try:
        url = server.url
        env = clean_environ(home, OTCHAT_BASE_URL=url, OPENTOOLS_API_KEY="bench-key-0123456789")
        # An installed package has its bytecode compiled once; with this set (some CI images
        # do), an editable install would compile otchat's modules again on every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        chat_url = f"{url}/chat/completions"
        curl = shutil.which("curl")

        def curl_argv(out: str = os.devnull) -> list[str]:
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "go"}], "stream": True})
            return [curl, "-sN", "-o", out, "-X", "POST", chat_url, "-H", "Content-Type: application/json", "-d", body]

        def python_floor() -> measure.Stats:
            return measure.run([sys.executable, "-c", "pass"], env)

        def startup(case: str, argv: list[str], target: float, extra_env: dict | None = None) -> None:
            stats, floor = measure.paired(lambda: measure.run(argv, {**env, **(extra_env or {})}), python_floor,
                                          runs, warm)
            rows.append(Row(case, stats, "python -c pass", floor, f"≤ {target:g}×", stats.wall / floor.wall <= target))

        if want("startup"):
            startup("otchat --version", [OTCHAT, "--version"], 2.5)
            startup("otchat --help", [OTCHAT, "--help"], 14)
            startup("one TAB completion (otchat con)", [OTCHAT, "con"], 14, {"_OTCHAT_COMPLETE": "bash"})
            stats, floor = measure.paired(lambda: measure.time_to_prompt(OTCHAT, env), python_floor, runs, warm)
            rows.append(Row("otchat chat, to its first prompt (pty)", stats, "python -c pass", floor, "≤ 25×",
                            stats.wall / floor.wall <= 25))

        # One-shot: a 200-character answer into a pipe, beside curl of the same request.
        server.script("short", {"text": "x" * 200, "size": 4})
        if curl and want("oneshot"):
            ours, floor = measure.paired(lambda: measure.run([OTCHAT, "short"], env),
                                         lambda: measure.run(curl_argv(), env), runs, warm)
            rows.append(Row("one-shot, 200 chars, into a pipe", ours, "curl -sN", floor, "≤ 25×",
                            ours.wall / floor.wall <= 25))
            ours, floor = measure.paired(lambda: measure.run([OTCHAT, "--no-log", "short"], env),
                                         lambda: measure.run(curl_argv(), env), runs, warm)
            rows.append(Row("  the same with --no-log", ours, "curl -sN", floor, "(logging's cost)"))
            # Beside the stack's floor: typer parsing the prompt, httpx2 streaming it (stack_client.py).
            ours, floor = measure.paired(lambda: measure.run([OTCHAT, "short"], env),
                                         lambda: measure.run([sys.executable, STACK_CLIENT, "short"], env),
                                         pairs, warm)
            rows.append(Row("  the same beside the stack's floor", ours, "typer + httpx2 client", floor, "≤ 1.1×",
                            ours.wall / floor.wall <= 1.1))

        # Time to first text: from spawn to the answer's first word, beside curl of the same
        # request writing to the same kind of output. The server waits `ttfb` before it
        # answers; what otchat adds beyond curl is the figure (at 0 ms nothing can overlap).
        if curl and want("ttft"):
            for ttfb, targets in ((0.3, {"terminal": 110, "pipe": 100}), (0.0, {})):
                server.script("ttft", {"text": "Zebrafish swim in schools. " * 8, "size": 27, "ttfb": ttfb})
                for label, extra, on_pty in (("terminal", [], True), ("terminal --raw", ["--raw"], True),
                                             ("pipe", [], False)):
                    def ours_run(extra=extra, on_pty=on_pty):
                        return measure.first_text([OTCHAT, *extra, "ttft"], env, b"Zebrafish", on_pty=on_pty)

                    def curl_run(on_pty=on_pty):
                        return measure.first_text(curl_argv("-"), env, b"Zebrafish", on_pty=on_pty)

                    ours, floor = measure.paired(ours_run, curl_run, runs, warm)
                    overhead = (ours.wall - floor.wall) * 1000
                    limit = targets.get(label.split()[0])
                    note = f"+{overhead:.0f} ms" + (f" (≤ {limit} ms)" if limit else "")
                    rows.append(Row(f"first text, TTFB {ttfb * 1000:.0f} ms, {label}", ours, "curl -sN, same output",
                                    floor, note, overhead <= limit if limit else None))
                    if ttfb and label != "terminal --raw":  # beside the stack's floor, in as many pairs
                        def stack_run(on_pty=on_pty):
                            return measure.first_text([sys.executable, STACK_CLIENT, "ttft"], env, b"Zebrafish",
                                                      on_pty=on_pty)

                        ours, floor = measure.paired(ours_run, stack_run, pairs, warm)
                        overhead = (ours.wall - floor.wall) * 1000
                        rows.append(Row("  the same beside the stack's floor", ours, "typer + httpx2 client", floor,
                                        f"+{overhead:.0f} ms (≤ 15 ms)", overhead <= 15))

            # The stack's own floor: what any client parsing with typer and sending with httpx2
            # pays before its request can leave (their imports), beside the interpreter alone.
            stack, bare = measure.paired(lambda: measure.run([sys.executable, "-c", "import typer, httpx2"], env),
                                         python_floor, runs, warm)
            rows.append(Row("python importing typer and httpx2", stack, "python -c pass", bare,
                            f"+{(stack.wall - bare.wall) * 1000:.0f} ms before any request (reported)"))

            # The REPL: from Enter on a message to the answer's first word, beside the
            # server's own wait (what a person at the prompt waits beyond it).
            ttfb = 0.3
            server.script("ttft", {"text": "Zebrafish swim in schools. " * 8, "size": 27, "ttfb": ttfb})
            ours = measure.repeat(lambda: measure.repl_first_text(OTCHAT, env, b"hello", b"Zebrafish"), runs, warm)
            rows.append(Row("REPL: Enter to first text, TTFB 300 ms (pty)", ours, "the server's TTFB",
                            measure.Stats(ttfb, 0.0, None), f"+{(ours.wall - ttfb) * 1000:.0f} ms (reported)"))

        # Streaming into a pipe, beside the stdlib language floor.
        memory = {}
        for size, target in ((100_000, 3.0), (1_000_000, 1.5)) if want("pipe") else ():
            size //= scale
            server.script("stream", {"text": "lorem ipsum " * (size // 12 + 1), "cut": size, "size": 4})
            ours, floor = measure.paired(lambda: measure.run([OTCHAT, "stream"], env),
                                         lambda: measure.run([sys.executable, FLOOR_CLIENT, chat_url], env), runs, warm)
            memory[size] = ours.rss
            met = ours.wall / floor.wall <= target
            note = f"≤ {target:g}×"
            if size == 1_000_000 // scale:
                small = memory[100_000 // scale]
                grows = ours.rss is not None and small is not None and ours.rss > small * 1.25
                over = ours.rss is not None and ours.rss > 50 * 1024
                note += f"; peak ≤ 50 MiB ({_mib(ours.rss)}), 10× the answer: {_mib(small)} → {_mib(ours.rss)}"
                met = met and not grows and not over
            rows.append(Row(f"{size:,} chars in 4-char deltas, into a pipe", ours, "language floor", floor, note,
                            met))

        # Markdown on a pseudo-terminal, beside curl writing the raw stream to the same terminal.
        walls = {}
        for size in (100_000 // scale, 200_000 // scale) if want("terminal") else ():
            server.script("markdown", {"text": markdown_answer(size), "size": 4})
            if curl:
                ours, floor = measure.paired(lambda: measure.run_pty([OTCHAT, "markdown"], env),
                                             lambda: measure.run_pty(curl_argv("-"), env), runs, warm)
                walls[size] = ours.wall
                note = "≤ 15×"
                met = ours.wall / floor.wall <= 15
                if len(walls) == 2:
                    growth = walls[size] / walls[size // 2]
                    note += f"; 2× the size took {growth:.2f}× the time (≤ 2.3×)"
                    met = met and growth <= 2.3
                rows.append(Row(f"markdown on a terminal, {size:,} chars", ours, "curl on the same pty", floor,
                                note, met))
                # What rendering alone costs: rich given the whole text at once, no stream,
                # no HTTP (one process on one core: the floor of any single-process renderer).
                rich_argv = [sys.executable, "-m", "tests.benchmarks.render_floor", str(size)]
                library = measure.repeat(lambda a=rich_argv: measure.run_pty(a, {**env, "PYTHONPATH": str(HERE)}),
                                         runs, 0)
                rows.append(Row("  the same beside rich rendering it whole", ours, "rich alone, same pty", library,
                                "(reported: what the stream and live tail add)"))

        # A paced stream: about 100 tokens (400 chars) a second of markdown on a terminal,
        # beside curl of the same stream on the same terminal: its wall time is how long
        # the stream really lasts (the server's sleeps overshoot a little).
        if want("paced"):
            paced = 8000 // scale
            server.script("paced", {"text": markdown_answer(paced), "size": 4, "delay": 0.01})
            floor = measure.repeat(lambda: measure.run_pty(curl_argv("-"), env), min(runs, 2), 0) if curl else \
                measure.Stats(paced / 4 * 0.01, 0.0, None)
            ours = measure.repeat(lambda: measure.run_pty([OTCHAT, "paced"], env), runs, 0)
            share = ours.cpu / floor.wall
            rows.append(Row(f"paced stream, {paced:,} chars at ~100 tokens/s (pty)", ours, "curl on the same pty",
                            floor, f"CPU {share:.1%} of the stream (≤ 5%); ends with it (≤ 1.05×)",
                            share <= 0.05 and ours.wall <= floor.wall * 1.05))
        if want("signal"):
            rows.append(ctrl_c(server, env, 2 if args.quick else 20))
        if want("mcp"):
            from tests.benchmarks.mcp_rows import mcp_rows

            rows += mcp_rows(HERE, env, 1 if args.quick else runs,
                             lambda case, ours, name, floor, note, met=None: Row(case, ours, name, floor, note, met))
        if want("link"):
            from tests.benchmarks.link import link_rows

            rows += link_rows(HERE, home, env, pairs, warm,
                              lambda case, ours, name, floor, note, met=None: Row(case, ours, name, floor, note, met))
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    report(rows, runs, warm, verdicts=not args.quick)
    if want("mcp") and not args.quick:
        mcp_latency(runs)


def ctrl_c(server: measure.ServerProcess, env: dict[str, str], runs: int) -> Row:
    """Ctrl-C to exit: SIGINT at random moments (seeded) of a slow one-shot stream, words
    every 20 ms, then 30 s of silence (a lost signal would wait it out), beside python
    signalled in a sleep. The median and the worst of the runs."""
    import random

    rng = random.Random(130)
    server.script("slow", {"text": "tick " * 200, "size": 5, "delay": 0.02, "gap": [25, 30.0]})
    floor_argv = [sys.executable, "-c", "import time; print('tick', flush=True); time.sleep(60)"]
    ours = sorted(measure.signal_to_exit([OTCHAT, "slow"], env, b"tick", rng.uniform(0, 0.8)) for _ in range(runs))
    floor = sorted(measure.signal_to_exit(floor_argv, env, b"tick", rng.uniform(0, 0.8)) for _ in range(runs))
    median, worst = statistics.median(ours), ours[-1]
    return Row(f"Ctrl-C to exit, slow stream ({runs} random moments)", measure.Stats(median, 0.0, None),
               "python in a sleep", measure.Stats(statistics.median(floor), 0.0, None),
               f"median ≤ 100 ms; worst {worst * 1000:.0f} ms (≤ 1 s)", median <= 0.1 and worst <= 1.0)


def mcp_latency(runs: int) -> None:
    """What a local tool round adds: starting the server (with its tool list) and one call."""
    import subprocess as sp

    from otchat.mcp.hub import Hub
    from otchat.mcp.specs import parse_command

    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    repo = Path(tempfile.mkdtemp(prefix="otchat-bench-git-"))
    sp.run(["git", "init", "-q", str(repo)], check=True)
    cases = [("mcp-server-time", "time__get_current_time", {"timezone": "Asia/Tokyo"}),
             (f"mcp-server-git --repository {repo}", "git__git_status", {"repo_path": str(repo)})]
    from tests.benchmarks.mcp_rows import everything_command

    everything = everything_command()
    if everything is not None:  # node and npm here: every MCP feature, through the same session
        cases.append((everything, "everything__echo", {"message": "hi"}))
    print("\nlocal MCP servers (median of", runs, "starts; calls: median of 20)")
    old_path = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    try:
        for command, tool, arguments in cases:
            starts, calls = [], []
            for _ in range(runs):
                hub = Hub([parse_command(command)], env)
                begin = time.perf_counter()
                hub.start()
                starts.append(time.perf_counter() - begin)
                for _ in range(20):
                    begin = time.perf_counter()
                    hub.call(tool, arguments)
                    calls.append(time.perf_counter() - begin)
                hub.close()
            print(f"  {command.split()[0].split('=')[0]:<18} start + initialize + list tools {statistics.median(starts) * 1000:7.1f} ms"
                  f"   one call {statistics.median(calls) * 1000:6.1f} ms")
    finally:
        os.environ["PATH"] = old_path
        shutil.rmtree(repo, ignore_errors=True)


def _mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def report(rows: list[Row], runs: int, warm: int, verdicts: bool) -> None:
    head = f"{'case':44} {'otchat wall':>11} {'cpu':>8} {'peak':>9}   {'floor':20} {'wall':>9} {'cpu':>8}  ratio  target"
    print(head)
    print("-" * len(head))
    for row in rows:
        o, f = row.ours, row.floor
        ratio = o.wall / f.wall if f.wall else float("nan")
        verdict = "" if row.met is None or not verdicts else ("  ok" if row.met else "  MISSED")
        print(f"{row.case:44} {o.wall * 1000:9.1f}ms {o.cpu * 1000:6.0f}ms {_mib(o.rss):>9}   {row.floor_name:20}"
              f" {f.wall * 1000:7.1f}ms {f.cpu * 1000:6.0f}ms {ratio:6.2f}×  {row.target}{verdict}")
    if not verdicts:
        print("(quick mode: tiny sizes, one run; the targets apply to the full run only)")
    print(f"\nmedians of {runs} run(s) after {warm} warm-up; Python {sys.version.split()[0]}, {os.cpu_count()} cores,"
          f" {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
