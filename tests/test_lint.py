"""The type checker and the linter pass, at the strictness pyproject.toml states: mypy
strict on otchat/, ruff's bug-catching rules on the whole repository (tests included)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """A tool of the test extra, from this interpreter's environment, at the repository's root."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_mypy_passes_on_the_package():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_passes_on_the_repository():
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checks_stay_as_strict_as_stated():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    mypy = config["mypy"]
    assert mypy["files"] == ["otchat"] and mypy["strict"] is True and mypy["warn_unreachable"] is True
    assert "ignore_missing_imports" not in mypy  # only per module, for a dependency without types
    selected = set(config["ruff"]["lint"]["select"])
    assert {"E", "F", "W", "I", "B", "UP", "RUF", "PLE", "PLW", "PGH"} <= selected
