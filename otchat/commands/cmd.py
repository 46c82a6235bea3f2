"""`otchat cmd REQUEST...`: one shell command from words; a menu on a terminal, the bare command into a pipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Unpack

import typer

from ..env import Env
from ..errors import ExitCode, OtchatError, UsageError
from .group import env_of
from .options import RequestOptions, files_from, flags_from, request_options_without

if TYPE_CHECKING:
    from ..config.resolve import Settings
    from ..models import Usage
    from ..runner import Run
    from ..term.keys import Keys

HELP = """\
Ask the model for one command for your shell and OS.

On a terminal the command is shown, then a menu: [e]xecute [m]odify [d]escribe
[c]opy [a]bort. Nothing runs until you press e (or Enter after m); after e,
otchat's exit status is the command's. Into a pipe or a file the command is
printed alone and never run. Text piped on stdin is context for the request
(ls | otchat cmd "delete the ones older than a week")."""

# Request options that make no sense here: -c/--cid would continue a chat under the command
# prompt, and --function declares tools that otchat only prints, never a command.
LEFT_OUT = ("continue_", "cid", "function")
ROLE = "cmd"  # [roles.cmd] in config.toml is used when no --role is given


@request_options_without(*LEFT_OUT)
def cmd(
    ctx: typer.Context,
    words: Annotated[list[str] | None, typer.Argument(metavar="REQUEST...", show_default=False)] = None,
    *,
    json_: Annotated[bool, typer.Option("--json", help="Print {command, shell, model, usage} as JSON.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")] = False,
    **request: Unpack[RequestOptions],
) -> int:
    from ..extract import command_system_prompt, os_name, shell_name
    from ..plan import Mode, Output, Plan, check
    from ..runner import Run
    from ..session import refuse
    from ..term.front import TermFront

    env = env_of(ctx)
    asked = " ".join(words or [])
    if not asked.strip():
        raise UsageError("no request given", hint='try: otchat cmd "find files over 100 MB here"')
    shell = shell_name(env.environ)
    # [roles.cmd] when no --role is given; -s, else the role's, else the built-in system prompt
    mode = Mode(role=ROLE, system=command_system_prompt(shell, os_name()))
    output = Output(usage=request["usage"], verbose=request["verbose"], dry_run=dry_run)
    plan = Plan(flags_from(request), output, files=files_from(request), mode=mode)
    check(plan, "cmd")
    with Run(env, plan, TermFront(env, output), approve=refuse) as run:
        run.connect()  # while stdin is read and the rest loads
        message = _message(env, run.settings, asked, plan.files)
        run.start()
        if dry_run:
            return run.answer(message)
        keys = None if json_ else open_keys(env)
        try:
            return _ask(env, run, message, shell, keys, json_=json_)
        finally:
            if keys is not None:
                keys.close()


def _message(env: Env, settings: Settings, words: str, files: list[Path]) -> str:
    """The request, with the -f files and piped stdin as its context."""
    from ..wire.request import compose_user_message
    from .inputs import read_inputs

    blocks, piped = read_inputs(env, words, files, settings.max_input_bytes)
    return compose_user_message(words, blocks, piped)


def _ask(env: Env, run: Run, message: str, shell: str, keys: Keys | None, *, json_: bool) -> int:
    """The command, asked for and shown: alone into a pipe, else in the menu."""
    from ..extract import clean_command
    from ..term.code import WaitSink

    result = run.send(message, WaitSink(env, f"asking {run.settings.model}…"))
    run.finished(result)
    if run.plan.output.usage:  # on stderr: stdout (or the menu) is the command alone
        from ..term.sinks import usage_line

        env.stderr.write(usage_line(result) + "\n")
    command = clean_command(result.content)
    if not command:
        raise OtchatError("the reply holds no command", hint="ask again in other words, or try -m MODEL")
    if keys is None:
        model = result.model or run.settings.model
        return print_command(env, command, shell, model, result.usage, json_=json_)
    from ..term.cmdmenu import Menu

    return Menu(env, run, keys, shell).run(command)


def open_keys(env: Env) -> Keys | None:
    """Where the menu reads keys, or None to print the bare command (stdout not a terminal,
    or no terminal to read from): stdin when it is the terminal, else /dev/tty."""
    if not env.stdout_isatty:
        return None
    if env.stdin_isatty and env.stdin is not None:
        from ..term.keys import Keys

        return Keys(env.stdin.fileno(), own=False)
    try:
        import os

        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:  # no controlling terminal (cron, CI): behave as a pipe
        return None
    from ..term.keys import Keys

    return Keys(fd, own=True)


def print_command(env: Env, command: str, shell: str, model: str, usage: Usage | None, *, json_: bool) -> int:
    """Into a pipe or a file: the command alone (or as JSON), never run; what keeps it from being
    one visible command is said on stderr (`otchat cmd … | sh` and Alt-E would take it as it is)."""
    from ..cmdcheck import findings, warnings

    for line in warnings(findings(command, shell)):
        env.warn(line)
    if json_:
        shown = {"command": command, "shell": shell, "model": model,
                 "usage": usage.raw if usage is not None else None}
        env.stdout.write(json.dumps(shown, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(command + "\n")
    env.stdout.flush()
    return ExitCode.OK
