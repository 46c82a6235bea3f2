"""`otchat shell-integration`: the snippets pass their shells' syntax checks, and Alt-E in a real
pseudo-terminal turns the typed line into the command `otchat cmd` prints, without running it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pyte
import pytest

from otchat.shell.integration import SHELLS, snippet

PROMPT = "otchat-test$ "
SENTENCE = "find files over 100 MB here"
ALT_E = "\x1be"
ROWS, COLS = 24, 220  # wide: the command holds a temporary path and must not wrap


@dataclass(frozen=True)
class Shell:
    argv: list[str]
    check: list[str]  # the shell's own syntax check, given the snippet's path
    setup: str  # typed first: our prompt, then the snippet


SHELL_SPECS = {
    "bash": Shell(["bash", "--norc", "--noprofile", "-i"], ["bash", "-n"], "source {snippet}"),
    "zsh": Shell(["zsh", "-f", "-i"], ["zsh", "-n"], f"PS1='{PROMPT}'; source {{snippet}}"),
    "fish": Shell(["fish", "--no-config", "-i"], ["fish", "--no-execute"],
                  f"function fish_prompt; printf '%s' '{PROMPT}'; end; set -g fish_autosuggestion_enabled 0; "
                  "source {snippet}"),
}


def need(shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here (.ci/run installs it)")


def test_every_shell_has_a_snippet_and_others_are_refused():
    assert set(SHELLS) == set(SHELL_SPECS)
    with pytest.raises(ValueError, match="tcsh"):
        snippet("tcsh")


@pytest.mark.parametrize("shell", SHELLS)
def test_the_snippet_binds_alt_e_to_otchat_cmd(shell):
    text = snippet(shell)
    assert "\\ee" in text  # Alt-E: ESC e
    # `--` so a line starting with "-" is a request, /dev/null so no typed-ahead key is read.
    assert 'otchat cmd -- "$' in text and "</dev/null" in text


@pytest.mark.parametrize("shell", SHELLS)
def test_the_snippet_passes_the_shells_syntax_check(shell, tmp_path):
    need(shell)
    path = tmp_path / f"snippet.{shell}"
    path.write_text(snippet(shell))
    proc = subprocess.run([*SHELL_SPECS[shell].check, str(path)], check=False, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


class Terminal:
    """A shell in a pseudo-terminal, its screen read back with pyte."""

    def __init__(self, shell: str, home: Path, bin_dir: Path):
        env = {
            "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TERM": "xterm-256color", "LANG": "C.UTF-8",
            "PS1": PROMPT, "INPUTRC": os.devnull, "HISTFILE": os.devnull, "TMPDIR": str(home),
        }
        spec = SHELL_SPECS[shell]
        self.child = pexpect.spawn(spec.argv[0], spec.argv[1:], env=env, dimensions=(ROWS, COLS), timeout=30)
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def last_line(self) -> str:
        return next((line for line in reversed(self.lines()) if line), "")

    def wait_for(self, what: str, seen: Callable[[], bool]) -> None:
        while not seen():
            try:
                self.stream.feed(self.child.read_nonblocking(4096, timeout=30))
            except (pexpect.TIMEOUT, pexpect.EOF):
                pytest.fail(f"the screen never showed {what}:\n" + "\n".join(self.lines()))

    def wait_for_prompt(self) -> None:
        self.wait_for("an empty prompt", lambda: self.last_line() == PROMPT.rstrip())

    def close(self) -> None:
        self.child.close(force=True)


@pytest.fixture
def stub(tmp_path):
    """An `otchat` earlier on PATH: records how it was called, prints a command, or fails."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"

    def make(output: str, status: int = 0) -> Path:
        script = bin_dir / "otchat"
        script.write_text(
            "#!/bin/sh\n"
            f"printf '%s\\n' \"$@\" > '{calls}'\n"
            f"[ -t 0 ] && echo stdin-is-a-terminal >> '{calls}'\n"
            f"[ -t 1 ] && echo stdout-is-a-terminal >> '{calls}'\n"
            f"echo \"SHELL=${{SHELL##*/}}\" >> '{calls}'\n"
            f"{output}\n"
            f"exit {status}\n"
        )
        script.chmod(0o755)
        return bin_dir

    return make


@pytest.fixture
def terminal(tmp_path):
    opened: list[Terminal] = []

    def open_shell(shell: str, bin_dir: Path) -> Terminal:
        need(shell)
        snippet_path = tmp_path / f"snippet.{shell}"
        snippet_path.write_text(snippet(shell))
        term = Terminal(shell, tmp_path, bin_dir)
        opened.append(term)
        term.child.send(SHELL_SPECS[shell].setup.format(snippet=snippet_path) + "\r")
        term.wait_for_prompt()
        return term

    yield open_shell
    for term in opened:
        term.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_alt_e_replaces_the_line_with_the_command_and_runs_nothing(shell, tmp_path, stub, terminal):
    marker = tmp_path / "ran"
    command = f"touch {marker}"
    term = terminal(shell, stub(f"echo '{command}'"))
    term.child.send(SENTENCE)
    term.wait_for("the typed sentence", lambda: term.last_line() == PROMPT + SENTENCE)
    term.child.send(ALT_E)
    term.wait_for("the command in place of the sentence", lambda: term.last_line() == PROMPT + command)

    assert not marker.exists()  # shown, not run
    assert SENTENCE not in "\n".join(term.lines()) and "thinking" not in "\n".join(term.lines())
    assert (tmp_path / "calls").read_text().splitlines() == ["cmd", "--", SENTENCE, f"SHELL={shell}"]

    term.child.send("\r")  # the user's Enter runs it
    term.wait_for("the next prompt", lambda: term.lines().count(PROMPT.rstrip()) == 1)
    assert marker.exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_failure_leaves_the_line_as_typed_and_shows_the_error(shell, tmp_path, stub, terminal):
    term = terminal(shell, stub("echo 'otchat: error: no API key' >&2", status=3))
    term.child.send(SENTENCE + ALT_E)
    term.wait_for("the error", lambda: "otchat: error: no API key" in term.lines())
    term.wait_for("the sentence, untouched", lambda: PROMPT + SENTENCE in term.lines())
    assert "thinking" not in "\n".join(term.lines())
    assert (tmp_path / "calls").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_an_empty_answer_leaves_the_line_as_typed(shell, tmp_path, stub, terminal):
    term = terminal(shell, stub("true"))
    term.child.send(SENTENCE + ALT_E + " and more")
    term.wait_for("the sentence, continued", lambda: term.last_line() == PROMPT + SENTENCE + " and more")
    assert (tmp_path / "calls").exists()


def test_an_empty_line_does_not_call_otchat(tmp_path, stub, terminal):
    term = terminal("bash", stub("echo ls"))
    term.child.send("  " + ALT_E + "echo done-$((6 * 7))\r")
    term.wait_for("the echo's output", lambda: "done-42" in term.lines())
    assert not (tmp_path / "calls").exists()
