"""`otchat cmd REQUEST...`: one shell command from words; a menu on a terminal, the bare command into a pipe."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ..env import Env
from ..errors import ExitCode, OtchatError, UsageError
from .group import env_of
from .options import flags_from, one_model, request_options_without

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
    **request: Any,
) -> int:
    from .. import runner
    from ..extract import clean_command, os_name, shell_name
    from ..term.code import WaitSink
    from ..wire import request as wire
    from .inputs import read_stdin, read_text_file

    env = env_of(ctx)
    if not words:
        raise UsageError("no request given", hint='try: otchat cmd "find files over 100 MB here"')
    flags = flags_from(request)
    one_model(flags, "otchat cmd")
    setup = runner.prepare(env, flags, need_key=not dry_run)
    shell = shell_name(env.environ)
    use_command_prompt(env, setup, shell, os_name())
    piped = read_stdin(env, setup.settings.max_input_bytes)
    blocks = [read_text_file(path, setup.settings.max_input_bytes) for path in request["file"] or []]
    message = wire.compose_user_message(" ".join(words), blocks, piped)
    hub = runner.start_tools(env, setup.settings)
    keys = None
    try:
        session = runner.Session(env, setup, tools=hub)
        if dry_run:
            shown = wire.redacted(session.request_for(message))
            env.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
            return ExitCode.OK
        keys = None if json_ else open_keys(env)
        output = runner.Output(usage=request["usage"], verbose=request["verbose"])
        transport = runner.make_transport(env, session.settings, output)
        try:
            sink = WaitSink(env, f"asking {session.settings.model}…")
            result = runner.finish_turn(env, sink, lambda: session.send(message, sink, transport))
            runner.check_finish(env, result, session.settings)
            if output.usage:  # on stderr: stdout (or the menu) is the command alone
                from ..term.sinks import usage_line

                env.stderr.write(usage_line(result) + "\n")
            command = clean_command(result.content)
            if not command:
                raise OtchatError("the reply holds no command", hint="ask again in other words, or try -m MODEL")
            if keys is None:
                model = result.model or session.settings.model
                return print_command(env, command, shell, model, result.usage, json_=json_)
            from ..term.cmdmenu import Menu

            return Menu(env, session, transport, keys, shell).run(command)
        finally:
            transport.close()
    finally:
        if keys is not None:
            keys.close()
        if hub is not None:
            hub.close()


def use_command_prompt(env: Env, setup: Any, shell: str, os: str) -> None:
    """The system prompt of a command request: -s, else the role's (--role, or [roles.cmd]
    when there is one), else the built-in one; the config's top-level `system` is for chats."""
    from .. import runner
    from ..extract import command_system_prompt

    flags = setup.flags
    roles = setup.file.get("roles", {})
    if flags.role is None and ROLE in roles:
        flags.role = ROLE
        setup.settings = runner.settings_for(env, flags, setup.file, setup.settings.api_key)
    role_system = roles.get(flags.role, {}).get("system") if flags.role else None
    setup.settings.system = flags.system or role_system or command_system_prompt(shell, os)


def open_keys(env: Env) -> Any:
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


def print_command(env: Env, command: str, shell: str, model: str, usage: Any, *, json_: bool) -> int:
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
