"""The default command: `otchat [OPTIONS] [PROMPT]...` asks once (prompt, piped stdin, -f files)
and prints the reply; with no prompt on a terminal it opens the REPL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..env import Env
from ..errors import ExitCode, UsageError
from .group import env_of
from .options import Format, VersionOpt, flags_from, resume_from, with_request_options

HELP = """\
Chat with the OpenTools API from the shell.

Give the prompt as arguments; text piped on stdin is appended to it (or replaces
{input} in it). A first word that names a command runs that command: quote the
prompt, or put -- before it, to send such a word as a prompt. A near miss of a
command name (otchat histroy list) is refused, not sent."""


@with_request_options
def ask(
    ctx: typer.Context,
    prompt: Annotated[Optional[list[str]], typer.Argument(metavar="[PROMPT]...", show_default=False)] = None,
    *,
    format: Annotated[
        Optional[Format], typer.Option("--format", help="Output format [default: auto].", show_default=False)
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Same as --format plain.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")] = False,
    regenerate: Annotated[bool, typer.Option(
        "--regenerate", help="With -c or --cid: ask the last question again, as a new answer beside the old one."
    )] = False,
    extract: Annotated[
        bool, typer.Option("-x", "--extract", help="Print only the code of the answer's fenced blocks.")] = False,
    extract_last: Annotated[
        bool, typer.Option("--extract-last", help="Print only the code of the last fenced block.")] = False,
    version: VersionOpt = False,
    **request: Any,
) -> int:
    from ..runner import Output

    env = env_of(ctx)
    fmt = output_format(format, json_=json_, raw=raw)
    flags = flags_from(request)
    output = Output(format=fmt, usage=request["usage"], verbose=request["verbose"], dry_run=dry_run,
                    extract="last" if extract_last else "all" if extract else None)
    if output.extract and fmt in ("json", "jsonl"):
        raise UsageError(f"-x/--extract-last and --format {fmt} contradict each other")
    resume = resume_from(request)
    files = list(request["file"] or [])
    if regenerate:
        if prompt or files or resume is None:
            raise UsageError("--regenerate asks a conversation's last question again: give -c or --cid, no prompt",
                             hint="try: otchat -c --regenerate, with -m MODEL to ask another model")
        return run(env, flags, output, [], [], resume=resume, regenerate=True)
    if not prompt and not files and env.stdin_isatty and not dry_run:
        from ..runner import prepare
        from ..term import repl

        return repl.run(env, prepare(env, flags), output, None, resume=resume)
    return run(env, flags, output, list(prompt or []), files, resume=resume)


def output_format(format: Format | None, *, json_: bool, raw: bool) -> str:
    """The one format that --format, --json and --raw ask for; two different ones are a usage error."""
    asked: dict[str, str] = {}
    if json_:
        asked["--json"] = "json"
    if raw:
        asked["--raw"] = "plain"
    if format is not None:
        asked[f"--format {format.value}"] = format.value
    if len(set(asked.values())) > 1:
        raise UsageError(f"{' and '.join(asked)} contradict each other")
    return next(iter(asked.values()), Format.auto.value)


def run(env: Env, flags: Any, output: Any, prompt_words: list[str], files: list[Path], resume: Any = None,
        regenerate: bool = False) -> int:
    """Gather the input, run one exchange, pick the exit code."""
    from .. import runner
    from ..term.prompts import Approver
    from ..term.output import make_sink
    from ..wire import request

    setup = runner.prepare(env, flags, need_key=not output.dry_run)
    settings = setup.settings
    message = "" if regenerate else _message(env, settings, " ".join(prompt_words), files)
    hub = runner.start_tools(env, settings)
    try:
        session = runner.Session(env, setup, tools=hub, approve=Approver(env, settings.auto_approve))
        if resume is not None:
            session.resume(resume.ref)
        if regenerate:
            message = session.regenerate()
        if output.dry_run:
            shown = request.redacted(session.request_for(message))
            env.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
            env.stdout.flush()
            return ExitCode.OK
        if output.extract:
            from ..term.code import CodeSink

            sink: Any = CodeSink(env, last=output.extract == "last", usage=output.usage)
        else:
            sink = make_sink(env, output.format, usage=output.usage, verbose=output.verbose,
                             links=session.settings.links)
        transport = runner.make_transport(env, session.settings, output)
        try:
            result = runner.finish_turn(env, sink, lambda: session.send(message, sink, transport))
        finally:
            transport.close()
        return runner.check_finish(env, result, session.settings)
    finally:
        if hub is not None:
            hub.close()


def _message(env: Env, settings: Any, prompt: str, files: list[Path]) -> str:
    """The user's message: the prompt, -f files and piped stdin."""
    from ..wire import request
    from .inputs import read_stdin, read_text_file

    piped = read_stdin(env, settings.max_input_bytes)
    blocks = [read_text_file(path, settings.max_input_bytes) for path in files]
    if not prompt and piped is None and not blocks:
        raise UsageError('no prompt given', hint='try: otchat "your question", or pipe text in')
    return request.compose_user_message(prompt, blocks, piped)
