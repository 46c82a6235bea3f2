"""The benchmark runner keeps working (quick mode; it asserts correctness, never timing)."""

import subprocess
import sys
from pathlib import Path


def test_quick_benchmark_runs():
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "tests.benchmarks", "--quick"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "otchat --version" in proc.stdout and "python -c pass" in proc.stdout
    assert "MCP tool result: the server's answer to the screen, terminal" in proc.stdout
