"""Running one command and measuring it: wall time, CPU time, peak memory; in a pipe or a pty."""

import fcntl
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None  # for peak memory
ROWS, COLS = 50, 120


@dataclass
class Stats:
    wall: float
    cpu: float
    rss: float | None  # KiB, the child's own peak (None without GNU time)


def repeat(fn, runs: int, warm: int) -> Stats:
    return _median([fn() for _ in range(warm + runs)][warm:])


def paired(ours, floor, runs: int, warm: int) -> tuple[Stats, Stats]:
    """Run otchat's case and its floor alternately, so a machine that slows down or speeds
    up during the run moves both medians alike instead of skewing their ratio."""
    pairs = [(ours(), floor()) for _ in range(warm + runs)][warm:]
    return _median([p[0] for p in pairs]), _median([p[1] for p in pairs])


def _median(results: list[Stats]) -> Stats:
    peaks = [r.rss for r in results if r.rss is not None]
    return Stats(statistics.median(r.wall for r in results), statistics.median(r.cpu for r in results),
                 max(peaks) if peaks else None)


def _wrapped(argv: list[str], rss_file: str) -> list[str]:
    path = shutil.which(argv[0]) or argv[0]
    if GNU_TIME is None:
        return [path, *argv[1:]]
    # GNU time is a small process, so the peak it reports is otchat's own, not the
    # benchmark's (a child forked from this Python would inherit this process's peak).
    return [GNU_TIME, "-f", "%M", "-o", rss_file, path, *argv[1:]]


def _rss(rss_file: str) -> float | None:
    try:
        return float(Path(rss_file).read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def run(argv: list[str], env: dict[str, str]) -> Stats:
    """Run with stdin /dev/null and stdout a pipe-like sink (/dev/null)."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss, tempfile.TemporaryFile() as err:
        full = _wrapped(argv, rss.name)
        start = time.perf_counter()
        pid = os.posix_spawn(full[0], full, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"benchmark command failed: {argv}\n{err.read().decode(errors='replace')}")
        return Stats(wall, usage.ru_utime + usage.ru_stime, _rss(rss.name))


def _pty() -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    return master, slave


def run_pty(argv: list[str], env: dict[str, str], until: bytes | None = None, then: bytes = b"") -> Stats:
    """Run on a pseudo-terminal, reading everything it draws. With `until`, the wall time
    stops when those bytes appear (then `then` is typed), the CPU time covers the whole run."""
    env = {**env, "TERM": "xterm-256color"}
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        master, slave = _pty()
        full = _wrapped(argv, rss.name)
        start = time.perf_counter()
        pid = os.posix_spawn(full[0], full, env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, slave, 0), (os.POSIX_SPAWN_DUP2, slave, 1), (os.POSIX_SPAWN_DUP2, slave, 2),
            (os.POSIX_SPAWN_CLOSE, master),
        ])
        os.close(slave)
        wall = None
        seen = b""
        try:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                if until is not None and wall is None:
                    seen = (seen + chunk)[-4096:]
                    if until in seen:
                        wall = time.perf_counter() - start
                        os.write(master, then)
        finally:
            _, status, usage = os.wait4(pid, 0)
            os.close(master)
        if wall is None:
            wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"benchmark command failed on a terminal: {argv}")
        return Stats(wall, usage.ru_utime + usage.ru_stime, _rss(rss.name))


def first_text(argv: list[str], env: dict[str, str], marker: bytes, *, on_pty: bool) -> Stats:
    """Spawn to the moment `marker` (the answer's first word) is written, on a pseudo-terminal
    or into a pipe; the CPU time covers the whole run."""
    if on_pty:
        return run_pty(argv, env, until=marker)
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        read, write = os.pipe()
        full = _wrapped(argv, rss.name)
        start = time.perf_counter()
        pid = os.posix_spawn(full[0], full, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, write, 1),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_CLOSE, read),
        ])
        os.close(write)
        wall, seen = None, b""
        try:
            while chunk := os.read(read, 65536):
                if wall is None:
                    seen = (seen + chunk)[-4096:]
                    if marker in seen:
                        wall = time.perf_counter() - start
        finally:
            _, status, usage = os.wait4(pid, 0)
            os.close(read)
        if os.waitstatus_to_exitcode(status) != 0 or wall is None:
            raise SystemExit(f"benchmark command failed or never wrote {marker!r}: {argv}")
        return Stats(wall, usage.ru_utime + usage.ru_stime, _rss(rss.name))


def signal_to_exit(argv: list[str], env: dict[str, str], marker: bytes, after: float) -> float:
    """Spawn with stdout a pipe; `after` seconds once `marker` was written, SIGINT; the seconds
    from the signal until the process has exited (a blocking wait: no polling in the figure)."""
    import signal

    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    seen = b""
    while marker not in seen:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            raise SystemExit(f"benchmark command never wrote {marker!r}: {argv}")
        seen = (seen + chunk)[-4096:]
    time.sleep(after)
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait()
    took = time.perf_counter() - start
    proc.stdout.close()
    if proc.returncode not in (130, -signal.SIGINT):
        raise SystemExit(f"benchmark command did not end as Ctrl-C has it ({proc.returncode}): {argv}")
    return took


def time_to_prompt(otchat: str, env: dict[str, str]) -> Stats:
    """`otchat chat` from spawn to its first prompt; then Ctrl-D."""
    env = {**env, "PROMPT_TOOLKIT_NO_CPR": "1"}
    return run_pty([otchat, "chat"], env, until="\u203a".encode(), then=b"\x04")


def repl_first_text(otchat: str, env: dict[str, str], message: bytes, marker: bytes) -> Stats:
    """`otchat chat` on a pseudo-terminal: from Enter on `message` (typed once the prompt
    shows) to `marker` (the answer's first word); then Ctrl-D at the next prompt."""
    env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    prompt = "\u203a".encode()
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        master, slave = _pty()
        full = _wrapped([otchat, "chat"], rss.name)
        pid = os.posix_spawn(full[0], full, env, setsid=True, file_actions=[
            (os.POSIX_SPAWN_DUP2, slave, 0), (os.POSIX_SPAWN_DUP2, slave, 1), (os.POSIX_SPAWN_DUP2, slave, 2),
            (os.POSIX_SPAWN_CLOSE, master),
        ])
        os.close(slave)
        stage, seen, sent, wall = "prompt", b"", 0.0, None
        try:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen = (seen + chunk)[-4096:]
                if stage == "prompt" and prompt in seen:
                    os.write(master, message)
                    time.sleep(0.2)  # as a person does: the line is typed, then Enter
                    stage, seen, sent = "answer", b"", time.perf_counter()
                    os.write(master, b"\r")
                elif stage == "answer" and marker in seen:
                    wall = time.perf_counter() - sent
                    stage, seen = "done", b""
                elif stage == "done" and prompt in seen:
                    os.write(master, b"\x04")
                    stage = "leaving"
        finally:
            _, status, usage = os.wait4(pid, 0)
            os.close(master)
        if os.waitstatus_to_exitcode(status) != 0 or wall is None:
            raise SystemExit(f"benchmark REPL failed or never showed {marker!r}")
        return Stats(wall, usage.ru_utime + usage.ru_stime, _rss(rss.name))


class ServerProcess:
    """The fake server in a process of its own, serving whatever answer was scripted last."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.server"], cwd=root,
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()

    def script(self, name: str, spec: dict) -> None:
        data = json.dumps({"name": name, **spec}).encode()
        request = urllib.request.Request(self.url.replace("/v1", "/_bench/script"), data=data, method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
