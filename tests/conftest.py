"""Shared fixtures: the fake server, private config/data dirs, and an `otchat` runner."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest
from hypothesis import settings

from tests.fakeserver import FakeServer

# CI runs the property tests with a fixed seed, so a landing never depends on luck; a
# developer's run explores new examples each time (and keeps failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

# A sentinel key: every end-to-end run asserts it never shows up in stdout or stderr.
KEY = "sk-test-SENTINEL-4f1c2b9e7d"
OTCHAT = Path(sys.executable).with_name("otchat")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def clean_environ(home: Path, **extra: str) -> dict[str, str]:
    """The process environment minus anything of the developer's otchat, proxies or key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTCHAT_", "OPENTOOLS_")) and "proxy" not in k.lower()
        # pytest-xdist's workers export COLUMNS=80 and LINES=24: rich would take them over the
        # size of the pseudo-terminal a test gives the child.
        and k not in ("NO_COLOR", "COLUMNS", "LINES")
    }
    env.update(
        OTCHAT_CONFIG_DIR=str(home / "config"),
        OTCHAT_DATA_DIR=str(home / "data"),
        NO_PROXY="127.0.0.1,localhost",
        PYTHONIOENCODING="utf-8",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def fake_server():
    with FakeServer() as server:
        yield server


@pytest.fixture
def server(fake_server: FakeServer):
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "data").mkdir()
    return tmp_path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "process: the `otchat` fixture runs the installed executable, for what only a process has "
        "(signals, a terminal, pipes and EPIPE, start-up, the executable's exit status, the process "
        "environment, its children)",
    )


# What `otchat(...)` takes: the arguments, then
#   input   its stdin (bytes or str; None: no stdin at all, /dev/null for the executable)
#   env     added to the environment; key the API key (None: none)
#   expect  the exit status the call expects (or a tuple of them): any other fails the test
#   timeout the executable's (in-process a hang shows as a hung test); cwd its working directory
Expect = int | tuple[int, ...]


@pytest.fixture
def otchat(request: pytest.FixtureRequest):
    """Run otchat against the fake server: in-process (`otchat_inprocess`), or in a test
    marked `process`, the installed executable (`otchat_process`): the same calls and checks."""
    if request.node.get_closest_marker("process"):
        return request.getfixturevalue("otchat_process")
    return request.getfixturevalue("otchat_inprocess")


@pytest.fixture
def otchat_process(server: FakeServer, home: Path):
    """Run the installed `otchat` executable against the fake server."""

    def run(*args: str, input: bytes | str | None = b"", env: dict[str, str] | None = None,
            key: str | None = KEY, timeout: float = 60, cwd: Path | None = None, expect: Expect = 0) -> Result:
        extra, data = _call(server, input, env, key)
        proc = subprocess.run(
            [str(OTCHAT), *args],
            input=data,
            stdin=subprocess.DEVNULL if data is None else None,
            capture_output=True,
            env=clean_environ(home, **extra),
            timeout=timeout,
            cwd=cwd,
        )
        return checked(Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")), expect)

    return run


def _call(server: FakeServer, input: bytes | str | None, env: dict[str, str] | None,
          key: str | None) -> tuple[dict[str, str], bytes | None]:
    """What one `otchat(...)` call adds to the environment (the server, the key, `env`), and its stdin."""
    extra = {"OTCHAT_BASE_URL": server.url, **({"OPENTOOLS_API_KEY": key} if key is not None else {}), **(env or {})}
    return extra, input.encode() if isinstance(input, str) else input


@pytest.fixture
def otchat_inprocess(server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch):
    """`otchat` without the process: `app.run(args, env)` in this process, over real HTTP to
    the fake server, with the environment the executable would get. What only a process
    has (signals, terminals, start-up, the process environment) keeps the executable:
    mark the test `process`."""
    from otchat.app import run as run_app
    from otchat.env import Env

    # httpx2 takes proxies from the process environment, as the executable's would.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    def run(*args: str, input: bytes | str | None = b"", env: dict[str, str] | None = None,
            key: str | None = KEY, timeout: float = 60, cwd: Path | None = None, expect: Expect = 0) -> Result:
        extra, data = _call(server, input, env, key)
        # No transport injected: real HTTP to the fake server over loopback. `timeout` is the
        # executable's; in-process a hang shows as a hung test.
        process_env = Env(stdin=io.BytesIO(data or b""), stdout=io.StringIO(), stderr=io.StringIO(),
                          environ=clean_environ(home, **extra))
        # What click prints itself (--help) goes to sys.stdout: the same stream, as in a process.
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(process_env.stdout))
            stack.enter_context(contextlib.redirect_stderr(process_env.stderr))
            if cwd is not None:
                stack.enter_context(contextlib.chdir(cwd))
            code = exit_code(lambda: run_app(list(args), process_env), process_env)
        return checked(Result(code, process_env.stdout.getvalue(), process_env.stderr.getvalue()), expect)

    return run


@pytest.fixture
def spawn_pty(server: FakeServer, home: Path):
    """Start the otchat executable (or `program`) in a pseudo-terminal of `dimensions` (rows,
    cols) against the fake server, in the environment `otchat` gives it; what it draws is kept
    in `child.logfile_read` (tests.helpers.screen reads it). Children still running are ended."""
    children = []

    def start(args: list[str], *, env: dict[str, str] | None = None, dimensions: tuple[int, int] = (40, 120),
              program: str = str(OTCHAT), cwd: Path | None = None) -> pexpect.spawn:
        # pexpect answers no cursor-position request: tell prompt-toolkit not to ask.
        extra = {"OTCHAT_BASE_URL": server.url, "OPENTOOLS_API_KEY": KEY, "TERM": "xterm-256color",
                 "PROMPT_TOOLKIT_NO_CPR": "1", **(env or {})}
        child = pexpect.spawn(program, args, env=clean_environ(home, **extra), cwd=None if cwd is None else str(cwd),
                              dimensions=dimensions, timeout=20, encoding="utf-8")
        child.dimensions = dimensions
        child.logfile_read = io.StringIO()  # everything shown, for `screen`
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)


@pytest.fixture
def llama():
    """A second fake server, for a profile on another host."""
    with FakeServer() as other:
        yield other


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """A config directory (not created)."""
    return tmp_path / "config"


def exit_code(call: Any, env: Any) -> int:
    """What the process would exit with, as otchat.entry.entry maps a SystemExit."""
    try:
        return call()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        env.stderr.write(f"{exc.code}\n")
        return 1


def checked(result: Result, expect: Expect = 0) -> Result:
    """Every run's output: the key never shows, nor does a traceback; the exit status is the
    one the call expects (0 unless it says `expect=`)."""
    assert KEY not in result.stdout and KEY not in result.stderr, "the API key leaked"
    assert "Traceback" not in result.stderr, result.stderr
    expected = (expect,) if isinstance(expect, int) else expect
    assert result.code in expected, (f"otchat exited {result.code}, the call expects {expect}\n"
                                     f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}")
    return result


def make_env(*, stdin: bytes | None = None, stdout_isatty: bool = False, transport: Any = None,
             environ: dict[str, str] | None = None, home: Path | None = None, sleep=None):
    """An Env over in-memory streams, for tests that run commands in-process."""
    from otchat.env import Env

    base = {"OPENTOOLS_API_KEY": KEY}
    if home is not None:
        base.update(OTCHAT_CONFIG_DIR=str(home / "config"), OTCHAT_DATA_DIR=str(home / "data"))
    base.update(environ or {})
    env = Env(
        stdin=io.BytesIO(stdin) if stdin is not None else None,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdout_isatty=stdout_isatty,
        environ=base,
        transport=transport,
    )
    if sleep is not None:
        env.sleep = sleep
    return env


def self_signed(where: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key, made in `where` (skips without openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed here")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(tmp_path):
    """A fake server over TLS, its certificate (for 127.0.0.1) its own CA: (server, cert path)."""
    cert, key = self_signed(tmp_path)
    with FakeServer(tls=(str(cert), str(key))) as server:
        yield server, cert
