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
from collections.abc import Callable
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


def _pty() -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    return master, slave


@dataclass
class Run:
    """One spawned command, waited for."""

    start: float  # time.perf_counter() at the spawn
    wall: float  # from the spawn until it was reaped
    cpu: float  # user + system, the whole run
    rss: float | None  # KiB (see Stats)
    code: int  # its exit status; minus the signal that ended it
    stderr: str  # what it wrote to stderr, with stdout to /dev/null only


@dataclass
class Child:
    """A running command, as a `watch` sees it: write to its terminal, or signal it."""

    pid: int
    fd: int

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)


def spawned(argv: list[str], env: dict[str, str], *, output: str = "null",
            watch: Callable[[bytes, Child], None] | None = None, peak: bool = True) -> Run:
    """THE way a benchmark starts a command and times it: spawn it, read what it writes, reap it.

    `output` is "null" (stdin and stdout /dev/null, stderr kept), "pipe" (stdout a pipe,
    stdin and stderr /dev/null) or "pty" (stdin, stdout and stderr a pseudo-terminal of
    ROWS x COLS, in a session of its own). `watch(chunk, child)` sees each chunk read from
    the pipe or terminal, as it arrives. With `peak`, GNU time (where there is one) reports
    the command's peak memory; a signal for the command needs it without (GNU time would
    take the signal).
    """
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss, tempfile.TemporaryFile() as err:
        full = _wrapped(argv, rss.name) if peak else [shutil.which(argv[0]) or argv[0], *argv[1:]]
        null_in = (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
        if output == "pty":
            ours, theirs = _pty()
            actions = [(os.POSIX_SPAWN_DUP2, theirs, 0), (os.POSIX_SPAWN_DUP2, theirs, 1),
                       (os.POSIX_SPAWN_DUP2, theirs, 2), (os.POSIX_SPAWN_CLOSE, ours)]
        elif output == "pipe":
            ours, theirs = os.pipe()
            actions = [null_in, (os.POSIX_SPAWN_DUP2, theirs, 1), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                       (os.POSIX_SPAWN_CLOSE, ours)]
        elif output == "null":
            ours = theirs = None
            actions = [null_in, (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                       (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        else:
            raise ValueError(f"output must be null, pipe or pty, not {output!r}")
        start = time.perf_counter()
        pid = os.posix_spawn(full[0], full, env, setsid=output == "pty", file_actions=actions)
        try:
            if ours is not None:
                os.close(theirs)
                child = Child(pid, ours)
                while True:
                    try:
                        chunk = os.read(ours, 65536)
                    except OSError:  # EIO: the child closed the terminal
                        break
                    if not chunk:
                        break
                    if watch is not None:
                        watch(chunk, child)
        finally:
            _, status, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - start
            if ours is not None:
                os.close(ours)
        err.seek(0)
        return Run(start, wall, usage.ru_utime + usage.ru_stime, _rss(rss.name) if peak else None,
                   os.waitstatus_to_exitcode(status), err.read().decode(errors="replace"))


class Marker:
    """A `watch` that notes when `marker` is first written (time.perf_counter()), then calls `then`."""

    def __init__(self, marker: bytes, then: Callable[[Child], None] | None = None) -> None:
        self.marker, self.then = marker, then
        self.seen = b""
        self.at: float | None = None

    def __call__(self, chunk: bytes, child: Child) -> None:
        if self.at is None:
            self.seen = (self.seen + chunk)[-4096:]
            if self.marker in self.seen:
                self.at = time.perf_counter()
                if self.then is not None:
                    self.then(child)


def run(argv: list[str], env: dict[str, str]) -> Stats:
    """Run with stdin /dev/null and stdout a pipe-like sink (/dev/null)."""
    done = spawned(argv, env)
    if done.code != 0:
        raise SystemExit(f"benchmark command failed: {argv}\n{done.stderr}")
    return Stats(done.wall, done.cpu, done.rss)


def run_pty(argv: list[str], env: dict[str, str], until: bytes | None = None, then: bytes = b"") -> Stats:
    """Run on a pseudo-terminal, reading everything it draws. With `until`, the wall time
    stops when those bytes appear (then `then` is typed), the CPU time covers the whole run."""
    watch = Marker(until, lambda child: child.write(then)) if until is not None else None
    done = spawned(argv, {**env, "TERM": "xterm-256color"}, output="pty", watch=watch)
    if done.code != 0:
        raise SystemExit(f"benchmark command failed on a terminal: {argv}")
    wall = watch.at - done.start if watch is not None and watch.at is not None else done.wall
    return Stats(wall, done.cpu, done.rss)


def first_text(argv: list[str], env: dict[str, str], marker: bytes, *, on_pty: bool) -> Stats:
    """Spawn to the moment `marker` (the answer's first word) is written, on a pseudo-terminal
    or into a pipe; the CPU time covers the whole run."""
    if on_pty:
        return run_pty(argv, env, until=marker)
    watch = Marker(marker)
    done = spawned(argv, env, output="pipe", watch=watch)
    if done.code != 0 or watch.at is None:
        raise SystemExit(f"benchmark command failed or never wrote {marker!r}: {argv}")
    return Stats(watch.at - done.start, done.cpu, done.rss)


def signal_to_exit(argv: list[str], env: dict[str, str], marker: bytes, after: float) -> float:
    """Spawn with stdout a pipe; `after` seconds once `marker` was written, SIGINT; the seconds
    from the signal until the process has exited (blocking reads and wait: no polling in the figure)."""
    import signal

    sent: list[float] = []

    def interrupt(child: Child) -> None:
        time.sleep(after)
        sent.append(time.perf_counter())
        os.kill(child.pid, signal.SIGINT)

    done = spawned(argv, env, output="pipe", watch=Marker(marker, interrupt), peak=False)
    if not sent:
        raise SystemExit(f"benchmark command never wrote {marker!r}: {argv}")
    if done.code not in (130, -signal.SIGINT):
        raise SystemExit(f"benchmark command did not end as Ctrl-C has it ({done.code}): {argv}")
    return done.start + done.wall - sent[0]


def time_to_prompt(otchat: str, env: dict[str, str]) -> Stats:
    """`otchat chat` from spawn to its first prompt; then Ctrl-D."""
    env = {**env, "PROMPT_TOOLKIT_NO_CPR": "1"}
    return run_pty([otchat, "chat"], env, until="\u203a".encode(), then=b"\x04")


def repl_first_text(otchat: str, env: dict[str, str], message: bytes, marker: bytes, turns: int = 1) -> Stats:
    """`otchat chat` on a pseudo-terminal: from Enter on `message` (typed once the prompt
    shows) to `marker` (the answer's first word), `turns` times; then Ctrl-D at the next
    prompt. The time of the last turn (a later turn may reuse the first one's connection)."""
    env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    prompt = "\u203a".encode()
    state = {"stage": "prompt", "seen": b"", "sent": 0.0, "wall": None, "left": turns}

    def converse(chunk: bytes, child: Child) -> None:
        state["seen"] = seen = (state["seen"] + chunk)[-4096:]
        if state["stage"] == "prompt" and prompt in seen:
            child.write(message)
            time.sleep(0.2)  # as a person does: the line is typed, then Enter
            state.update(stage="answer", seen=b"", sent=time.perf_counter())
            child.write(b"\r")
        elif state["stage"] == "answer" and marker in seen:
            state["left"] -= 1
            state.update(stage="done" if not state["left"] else "again", seen=b"",
                         wall=time.perf_counter() - state["sent"])
        elif state["stage"] == "again" and prompt in seen:
            state.update(stage="prompt")
            converse(b"", child)
        elif state["stage"] == "done" and prompt in seen:
            child.write(b"\x04")
            state["stage"] = "leaving"

    done = spawned([otchat, "chat"], env, output="pty", watch=converse)
    if done.code != 0 or state["wall"] is None or state["left"]:
        raise SystemExit(f"benchmark REPL failed or never showed {marker!r}")
    return Stats(state["wall"], done.cpu, done.rss)


class ServerProcess:
    """The fake server in a process of its own, serving whatever answer was scripted last."""

    def __init__(self, root: Path, tls: tuple[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.server", *(tls or ())], cwd=root,
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()
        self.context = None
        if tls is not None:  # its certificate is its own CA
            import ssl

            self.context = ssl.create_default_context(cafile=tls[0])

    def script(self, name: str, spec: dict) -> None:
        data = json.dumps({"name": name, **spec}).encode()
        request = urllib.request.Request(self.url.replace("/v1", "/_bench/script"), data=data, method="POST")
        with urllib.request.urlopen(request, timeout=120, context=self.context) as response:
            response.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
