"""Shared fixtures: the fake server, private config/data dirs, and an `otchat` runner."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        if not k.startswith(("OTCHAT_", "OPENTOOLS_")) and "proxy" not in k.lower() and k != "NO_COLOR"
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


@pytest.fixture
def otchat(server: FakeServer, home: Path):
    """Run the installed `otchat` executable against the fake server."""

    def run(*args: str, input: bytes | str | None = b"", env: dict[str, str] | None = None,
            key: str | None = KEY, timeout: float = 60, cwd: Path | None = None) -> Result:
        extra = {"OTCHAT_BASE_URL": server.url}
        if key is not None:
            extra["OPENTOOLS_API_KEY"] = key
        extra.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [str(OTCHAT), *args],
            input=data,
            stdin=subprocess.DEVNULL if data is None else None,
            capture_output=True,
            env=clean_environ(home, **extra),
            timeout=timeout,
            cwd=cwd,
        )
        result = Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))
        assert KEY not in result.stdout and KEY not in result.stderr, "the API key leaked"
        assert "Traceback" not in result.stderr, result.stderr
        return result

    return run


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
