"""`otchat cmd` on a terminal: the command shown, then a one-key menu; nothing runs without `e`."""

import pexpect
import pytest

from tests.conftest import OTCHAT
from tests.fakeserver import Stream, text_chunks
from tests.helpers import screen
from tests.test_cmd import last_logged

MENU = "[e]xecute  [m]odify  [d]escribe  [c]opy  [a]bort"
COLS, ROWS = 100, 40


@pytest.fixture
def spawn(spawn_pty, home):
    """`otchat cmd ARGS` in a terminal, in `home`; with `shell_line`, that sh line instead."""

    def start(*args, env=None, shell_line=None):
        env = {"SHELL": "/bin/sh", **(env or {})}
        if shell_line is not None:  # stdin a pipe, stdout the terminal
            return spawn_pty(["-c", shell_line], program="/bin/sh", env=env, cwd=home, dimensions=(ROWS, COLS))
        return spawn_pty(["cmd", *args], env=env, cwd=home, dimensions=(ROWS, COLS))

    return start


def finish(child):
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_e_runs_the_command_and_exits_with_its_status(spawn, server, home):
    server.enqueue(Stream(text_chunks("```sh\ntouch marker && exit 3\n```", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    assert not (home / "marker").exists()  # shown, not run
    assert "touch marker && exit 3" in screen(child)
    child.send("e")
    assert finish(child) == 3
    assert (home / "marker").exists()


def test_the_run_is_logged_with_its_status(spawn, server, home, otchat):
    server.enqueue(Stream(text_chunks("exit 4", 6)))
    child = spawn("fail")
    child.expect_exact(MENU)
    child.send("e")
    assert finish(child) == 4
    assert last_logged(otchat)[-3:] == [("user", "fail"), ("assistant", "exit 4"),
                                        ("user", "$ exit 4\n[exit status 4]")]


def test_a_runs_nothing(spawn, server, home):
    server.enqueue(Stream(text_chunks("touch marker", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("a")
    assert finish(child) == 0
    assert not (home / "marker").exists()


def test_ctrl_c_runs_nothing_and_exits_130(spawn, server, home):
    server.enqueue(Stream(text_chunks("touch marker", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("\x03")
    assert finish(child) == 130
    assert not (home / "marker").exists()


def test_m_runs_the_edited_command(spawn, server, home):
    server.enqueue(Stream(text_chunks("touch marker", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("m")
    child.expect_exact("touch marker")  # prefilled, the cursor at its end
    child.send(" edited\r")
    assert finish(child) == 0
    assert (home / "marker").exists() and (home / "edited").exists()


def test_m_then_ctrl_c_returns_to_the_menu(spawn, server, home):
    server.enqueue(Stream(text_chunks("touch marker", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("m")
    child.expect_exact("touch marker")
    child.send("\x03")
    child.expect_exact(MENU)
    child.send("a")
    assert finish(child) == 0
    assert not (home / "marker").exists()


def test_d_describes_in_the_same_conversation_then_shows_the_menu(spawn, server, home):
    server.enqueue(Stream(text_chunks("touch marker", 6)),
                   Stream(text_chunks("It **creates** an empty file named marker.", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("d")
    child.expect_exact(MENU)  # again, after the answer
    lines = screen(child)
    described = lines.index("It creates an empty file named marker.")  # rendered: no ** left
    assert lines[-1].startswith(MENU) and described < len(lines) - 1
    child.send("a")
    assert finish(child) == 0
    assert len(server.requests) == 2
    messages = server.requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "touch marker"
    assert "touch marker" in messages[3]["content"] and "Explain briefly" in messages[3]["content"]
    assert not (home / "marker").exists()


def test_piped_stdin_reads_keys_from_the_terminal(spawn, server, home):
    # The command gets the terminal as its stdin: `test -t 0` holds.
    server.enqueue(Stream(text_chunks("test -t 0 && touch marker", 6)))
    child = spawn(shell_line=f"printf 'a.txt\\n' | {OTCHAT} cmd 'touch if a terminal'")
    child.expect_exact(MENU)
    child.send("e")
    assert finish(child) == 0
    assert (home / "marker").exists()
    assert server.requests[0].body["messages"][-1]["content"] == "touch if a terminal\n\na.txt\n"


def test_text_typed_ahead_or_pasted_is_not_a_key(spawn, server, home):
    # "echo hi" starts with e: pasted (several bytes at once) it must not execute.
    server.enqueue(Stream(text_chunks("touch marker", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("echo hi")
    child.expect_exact(MENU)  # the menu again, nothing run
    child.send("a")
    assert finish(child) == 0
    assert not (home / "marker").exists()


def test_a_command_killed_by_a_signal_exits_128_plus_its_number(spawn, server):
    server.enqueue(Stream(text_chunks("kill -TERM $$", 6)))
    child = spawn("stop yourself")
    child.expect_exact(MENU)
    child.send("e")
    assert finish(child) == 128 + 15


def test_c_copies_and_says_how(spawn, server):
    import base64

    server.enqueue(Stream(text_chunks("ls -la", 6)))
    child = spawn("list", env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "SSH_TTY": "/dev/pts/9"})
    child.expect_exact(MENU)
    child.send("c")
    child.expect_exact("copied to the clipboard (OSC 52)")
    assert "\x1b]52;c;" + base64.b64encode(b"ls -la").decode() + "\x07" in child.logfile_read.getvalue()
    child.expect_exact(MENU)
    child.send("a")
    assert finish(child) == 0


def test_no_controlling_terminal_behaves_as_a_pipe(spawn, server, home):
    # stdout is a terminal, but stdin is a pipe and there is no /dev/tty to read keys from.
    server.enqueue(Stream(text_chunks("touch marker", 6)))
    child = spawn(shell_line=f"printf 'ctx\\n' | setsid -w {OTCHAT} cmd 'make a marker'")
    assert finish(child) == 0
    assert screen(child) == ["touch marker"]
    assert not (home / "marker").exists()


# What is not one visible command is shown with a warning, and run only after a second yes.

def test_a_command_with_a_hidden_character_asks_twice_and_n_runs_nothing(spawn, server, home):
    server.enqueue(Stream(text_chunks("```sh\ntouch marker\u200b\n```", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    shown_lines = "\n".join(screen(child))
    assert "touch marker<U+200B>" in shown_lines
    assert "a zero-width character U+200B (ZERO WIDTH SPACE)" in shown_lines
    child.send("e")
    child.expect_exact("Run it anyway? [y/N]")
    child.send("n")
    child.expect_exact("no")
    child.expect_exact(MENU)  # back to the menu, nothing run
    assert not list(home.glob("marker*"))
    child.send("a")
    assert finish(child) == 0
    assert not list(home.glob("marker*"))


def test_two_command_lines_run_only_after_y(spawn, server, home):
    server.enqueue(Stream(text_chunks("```sh\ntouch one\ntouch two\n```", 6)))
    child = spawn("make markers")
    child.expect_exact(MENU)
    assert "warning: the command holds 2 command lines, not one: the second begins at line 2" in "\n".join(
        screen(child))
    child.send("e")
    child.expect_exact("Run it anyway? [y/N]")
    child.send("y")
    assert finish(child) == 0
    assert (home / "one").exists() and (home / "two").exists()


def test_a_plain_command_is_not_asked_twice(spawn, server, home):
    server.enqueue(Stream(text_chunks("```sh\ntouch plain\n```", 6)))
    child = spawn("make a marker")
    child.expect_exact(MENU)
    child.send("e")
    assert finish(child) == 0
    assert (home / "plain").exists()
    assert "anyway" not in child.logfile_read.getvalue()
