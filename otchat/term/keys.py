"""Single key presses from the terminal, read raw (no Enter, no echo): `cmd`'s menu and tool approvals."""

from __future__ import annotations

import os

CTRL_C, CTRL_D, ESC = "\x03", "\x04", "\x1b"


class Keys:
    """The terminal single keys are read from (stdin, or /dev/tty when stdin is a pipe)."""

    def __init__(self, fd: int, *, own: bool) -> None:
        self.fd = fd
        self.own = own  # opened here (/dev/tty): the command run gets it as stdin, and it is closed

    def read(self) -> str:
        """One key press, unechoed; Ctrl-C and Ctrl-D arrive as characters (the terminal is raw).

        Keys typed before the question was drawn are discarded (TCSAFLUSH): they were not typed
        at it. Several bytes at once (a paste, a line typed ahead, an arrow key's escape
        sequence) are no key: "" — so "echo hi" pasted never means `e`, "yes" never `y`.
        The terminal's mode is restored whatever happens (a signal, an error).
        """
        import termios
        import tty

        saved = termios.tcgetattr(self.fd)
        try:
            tty.setraw(self.fd, termios.TCSAFLUSH)
            data = os.read(self.fd, 64)
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)
        if not data:
            return CTRL_D
        return data.decode("ascii") if len(data) == 1 and data < b"\x80" else ""

    def close(self) -> None:
        if self.own:
            os.close(self.fd)
