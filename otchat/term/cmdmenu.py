"""The menu of `otchat cmd` on a terminal: show the command, then execute, modify, describe, copy or abort."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..cmdcheck import findings, shown, warnings
from ..env import Env, screen
from ..errors import ExitCode
from ..runner import Run
from .keys import CTRL_C, CTRL_D, ESC, Keys

MENU = "[e]xecute  [m]odify  [d]escribe  [c]opy  [a]bort"
DESCRIBE = ("Explain briefly what this command does, part by part, and any risk in running it:\n\n"
            "```{lexer}\n{command}\n```")
LEXERS = {"fish": "fish", "sh": "bash", "bash": "bash", "zsh": "zsh", "ksh": "bash", "dash": "bash"}


class Menu:
    """One command on screen and the keys that act on it; `run` returns otchat's exit status."""

    def __init__(self, env: Env, run: Run, keys: Keys, shell: str) -> None:
        from .console import console_for

        self.env = env
        self.owner = run  # the run the command was asked in: describe asks in it too
        self.keys = keys
        self.shell = shell
        self.console = console_for(env)

    def run(self, command: str) -> int:
        self.show(command)
        while True:
            self.console.print(MENU, style="bold", end=" ", markup=False)
            self.env.stdout.flush()
            key = self.keys.read().lower()
            if key == CTRL_C:
                self.console.print("^C")
                return ExitCode.INTERRUPTED
            if key in ("a", "q", CTRL_D, ESC):
                self.console.print("abort")
                return ExitCode.OK
            if key == "e":
                self.console.print("execute")
                sure = self.second_look(command)
                if sure is None:
                    return ExitCode.INTERRUPTED
                if sure:
                    return self.execute(command)
            elif key == "m":
                self.console.print("modify (Enter runs it, Ctrl-C returns to the menu)")
                edited = self.modify(command)
                sure = self.second_look(edited) if edited else False
                if sure is None:
                    return ExitCode.INTERRUPTED
                if edited and sure:
                    return self.execute(edited)
                command = edited or command  # not run: what was edited stays, for another look
                self.show(command)
            elif key == "d":
                self.console.print("describe")
                self.describe(command)
            elif key == "c":
                self.console.print("copy")
                self.copy(command)
            else:
                self.console.print()  # an unknown key: the menu again

    def show(self, command: str) -> None:
        """The command highlighted, what a terminal would not show made visible, and a warning
        for each thing that keeps it from being one visible command."""
        from rich.syntax import Syntax

        lexer = LEXERS.get(self.shell, "bash")
        self.console.print(Syntax(shown(command), lexer, background_color="default", word_wrap=True))
        for line in warnings(findings(command, self.shell)):
            self.console.print(f"warning: {line}", style="bold yellow", markup=False)

    def second_look(self, command: str) -> bool | None:
        """Whether to run it: yes at once when nothing was found in it, else only when `y`
        answers a second question (None: Ctrl-C)."""
        if not findings(command, self.shell):
            return True
        self.console.print("It is not one plain command (see the warning above). Run it anyway? [y/N]",
                           style="bold", end=" ", markup=False)
        self.env.stdout.flush()
        key = self.keys.read().lower()
        if key == CTRL_C:
            self.console.print("^C")
            return None
        self.console.print("yes" if key == "y" else "no")
        return key == "y"

    def execute(self, command: str) -> int:
        """Run `command` with the user's shell, in the current directory, on the terminal."""
        import signal
        import subprocess

        self.env.stdout.flush()
        argv = [shell_path(self.env.environ), "-c", command]
        stdin = self.keys.fd if self.keys.own else None  # stdin was a pipe (already read): the terminal
        # Ctrl-C and Ctrl-\ are the command's while it runs (the terminal sends them to both);
        # a Python handler, unlike SIG_IGN, is reset in the child, which gets them as usual.
        previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGQUIT)}
        try:
            status = subprocess.run(argv, stdin=stdin, check=False).returncode
        except OSError as exc:
            self.env.error(f"cannot run {argv[0]}: {exc.strerror or exc}")
            status = 127
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        status = 128 - status if status < 0 else status  # killed by signal N: 128 + N, as shells say
        self.log(f"$ {command}\n[exit status {status}]")
        return status

    def modify(self, command: str) -> str | None:
        """The command in an editable line, the cursor at its end; None on Ctrl-C / Ctrl-D / empty."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.input import create_input
        from prompt_toolkit.output import create_output

        tty = open(self.keys.fd, closefd=False, encoding="utf-8")
        try:
            output = create_output(screen(self.env.stdout))
            session: PromptSession[str] = PromptSession(input=create_input(tty), output=output)
            multiline = "\n" in command
            edited = session.prompt("> ", default=command, multiline=multiline,
                                    bottom_toolbar="Esc Enter runs it" if multiline else None)
        except (KeyboardInterrupt, EOFError):
            return None
        finally:
            tty.close()
        return edited.strip() or None

    def describe(self, command: str) -> None:
        """Ask, in the same conversation, what the command does; render the answer. An error
        or Ctrl-C ends only the answer: the command is still there to run, copy or abort."""
        from ..plan import Format
        from .output import make_sink

        sink = make_sink(self.env, Format.auto, prose=self.owner.settings.prose)
        text = DESCRIBE.format(lexer=LEXERS.get(self.shell, "bash"), command=command)
        self.owner.survive(lambda: self.owner.send(text, sink),
                           interrupted=lambda: self.console.print("[interrupted]", markup=False))
        self.console.print()

    def copy(self, command: str) -> None:
        from .clipboard import copy

        try:
            method = copy(command, self.env.environ)
        except OSError as exc:
            self.console.print(f"could not copy: {exc.strerror or exc}", markup=False)
            return
        self.console.print(f"copied to the clipboard ({method})", markup=False)

    def log(self, note: str) -> None:
        """What ran and how it ended joins the logged conversation."""
        self.owner.session.note(note)


def shell_path(environ: Mapping[str, str]) -> str:
    """$SHELL when it names a program that can run, else /bin/sh."""
    shell = environ.get("SHELL", "")
    return shell if os.path.isabs(shell) and os.access(shell, os.X_OK) else "/bin/sh"


def _ignore(signum: int, frame: object) -> None:
    pass
