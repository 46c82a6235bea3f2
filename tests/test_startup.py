"""Fast start: --version, --help and the CLI module import nothing heavy."""

import subprocess
import sys

import pytest

HEAVY = ("httpx2", "httpx", "rich.markdown", "prompt_toolkit", "sqlite3", "markdown_it", "pydantic", "mcp", "jsonschema")

PROBE = """
import sys
sys.argv = ["otchat", *{args!r}]
try:
    from otchat.entry import main
    main()
except SystemExit:
    pass
loaded = [m for m in {heavy!r} if m in sys.modules]
sys.stderr.write("LOADED=" + ",".join(loaded) + "\\n")
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_nothing_heavy_is_imported(args):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=30)
    assert proc.stdout.startswith("otchat 0.") or "Usage: otchat" in proc.stdout
    assert "LOADED=\n" in proc.stderr, proc.stderr


def test_version_does_not_even_import_typer():
    probe = PROBE.format(args=["--version"], heavy=("typer", "otchat.app"))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert "LOADED=\n" in proc.stderr, proc.stderr


def test_python_dash_m_works():
    proc = subprocess.run([sys.executable, "-m", "otchat", "--version"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.startswith("otchat ")


def test_the_console_script_is_the_entry_module():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"] == {"otchat": "otchat.entry:entry"}
