"""Copying to the clipboard: which method a session gets, and what each one is handed."""

from __future__ import annotations

import subprocess

import pytest

from otchat.term.clipboard import copy, osc52


class Fakes:
    """Tools on a fake PATH, the commands run, and the bytes written to the terminal."""

    def __init__(self, *tools: str, failing: tuple[str, ...] = (), raising: tuple[str, ...] = ()):
        self.tools, self.failing, self.raising = tools, failing, raising
        self.runs: list[tuple[list[str], dict]] = []
        self.tty = b""

    def which(self, name: str) -> str | None:
        return f"/fake/bin/{name}" if name in self.tools else None

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess[bytes]:
        self.runs.append((argv, kwargs))
        name = argv[0].rsplit("/", 1)[-1]
        if name in self.raising:
            raise subprocess.TimeoutExpired(argv, 5)
        return subprocess.CompletedProcess(argv, 1 if name in self.failing else 0)

    def write_tty(self, data: bytes) -> None:
        self.tty += data

    def copy(self, text: str, **environ: str) -> str:
        return copy(text, environ, run=self.run, which=self.which, write_tty=self.write_tty)


ALL = ("wl-copy", "xclip", "pbcopy")


def test_osc52_bytes_are_exact():
    assert osc52("ls -la") == b"\x1b]52;c;bHMgLWxh\x07"
    assert osc52("echo héllo") == b"\x1b]52;c;ZWNobyBow6lsbG8=\x07"  # UTF-8, then base64


@pytest.mark.parametrize("remote", ["SSH_CONNECTION", "SSH_TTY"])
def test_a_remote_session_uses_osc52_even_with_tools_present(remote):
    fakes = Fakes(*ALL)
    assert fakes.copy("ls -la", DISPLAY=":0", WAYLAND_DISPLAY="wayland-0", **{remote: "10.0.0.1 22 10.0.0.2 22"}) \
        == "OSC 52"
    assert fakes.runs == [] and fakes.tty == b"\x1b]52;c;bHMgLWxh\x07"


def test_wayland_uses_wl_copy_with_the_text_on_stdin():
    fakes = Fakes(*ALL)
    assert fakes.copy("echo héllo", WAYLAND_DISPLAY="wayland-0", DISPLAY=":0") == "wl-copy"
    [(argv, kwargs)] = fakes.runs
    assert argv == ["/fake/bin/wl-copy"] and kwargs["input"] == "echo héllo".encode()
    # Not pipes: the tool's background child would keep them open and `run` would wait for it.
    assert kwargs["stdout"] == subprocess.DEVNULL and kwargs["stderr"] == subprocess.DEVNULL
    assert fakes.tty == b""


def test_x11_uses_xclip_on_the_clipboard_selection():
    fakes = Fakes(*ALL)
    assert fakes.copy("ls", DISPLAY=":0") == "xclip"
    assert [argv for argv, _ in fakes.runs] == [["/fake/bin/xclip", "-selection", "clipboard"]]


def test_wayland_without_wl_copy_falls_to_xclip():
    fakes = Fakes("xclip")
    assert fakes.copy("ls", WAYLAND_DISPLAY="wayland-0", DISPLAY=":0") == "xclip"


def test_macos_uses_pbcopy():
    fakes = Fakes("pbcopy")
    assert fakes.copy("ls") == "pbcopy"
    assert [argv for argv, _ in fakes.runs] == [["/fake/bin/pbcopy"]]


def test_a_display_without_its_tool_and_no_pbcopy_uses_osc52():
    fakes = Fakes("wl-copy")  # present, but this is an X11 session
    assert fakes.copy("ls -la", DISPLAY=":0") == "OSC 52"
    assert fakes.runs == [] and fakes.tty == b"\x1b]52;c;bHMgLWxh\x07"


def test_nothing_found_uses_osc52():
    fakes = Fakes()
    assert fakes.copy("ls -la") == "OSC 52" and fakes.tty == b"\x1b]52;c;bHMgLWxh\x07"


def test_a_failing_tool_falls_back_to_the_next_and_then_to_osc52():
    fakes = Fakes(*ALL, failing=("wl-copy",), raising=("xclip",))
    assert fakes.copy("ls", WAYLAND_DISPLAY="wayland-0", DISPLAY=":0") == "pbcopy"
    fakes = Fakes(*ALL, failing=ALL)
    assert fakes.copy("ls -la", WAYLAND_DISPLAY="wayland-0", DISPLAY=":0") == "OSC 52"
    assert len(fakes.runs) == 3 and fakes.tty == b"\x1b]52;c;bHMgLWxh\x07"


def test_no_terminal_to_write_to_is_an_oserror():
    def no_tty(data: bytes) -> None:
        raise OSError(6, "No such device or address")

    with pytest.raises(OSError):
        copy("ls", {}, run=Fakes().run, which=Fakes().which, write_tty=no_tty)
