"""The default command: `otchat [OPTIONS] [PROMPT]...` asks once (prompt, piped stdin, -f files)
and prints the reply; with no prompt on a terminal it opens the REPL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..env import Env
from ..errors import ExitCode, UsageError
from ..shell import values
from .group import env_of
from .options import Format, VersionOpt, flags_from, one_model, resume_from, split_models, with_request_options

HELP = """\
Chat with the OpenTools API from the shell.

Give the prompt as arguments; text piped on stdin is appended to it (or replaces
{input} in it). A first word that names a command runs that command: quote the
prompt, or put -- before it, to send such a word as a prompt. A near miss of a
command name (otchat histroy list) is refused, not sent."""


@with_request_options
def ask(
    ctx: typer.Context,
    prompt: Annotated[list[str] | None, typer.Argument(metavar="[PROMPT]...", show_default=False)] = None,
    *,
    format: Annotated[
        Format | None, typer.Option("--format", help="Output format [default: auto].", show_default=False)
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
    schema: Annotated[str | None, typer.Option(
        "--schema", metavar="SPEC",
        help="Reply with JSON matching a schema: a file, inline JSON or 'name, age int, bio: a note' (- clears).",
    )] = None,
    schema_multi: Annotated[str | None, typer.Option(
        "--schema-multi", metavar="SPEC", help='As --schema, for a list: {"items": [...]} of such objects.',
    )] = None,
    schema_retries: Annotated[int, typer.Option(
        "--schema-retries", metavar="N", min=0, max=10, help="Re-asks when a reply does not match [default: 2].",
        show_default=False,
    )] = 2,
    models: Annotated[str | None, typer.Option(
        "--models", metavar="A,B,...", help="Ask several models at once (as -m repeated), up to 8.",
        autocompletion=values.models,
    )] = None,
    version: VersionOpt = False,
    **request: Any,
) -> int:
    from ..runner import Output

    env = env_of(ctx)
    fmt = output_format(format, json_=json_, raw=raw)
    flags = flags_from(request, split_models(models))
    output = Output(format=fmt, usage=request["usage"], verbose=request["verbose"], dry_run=dry_run,
                    extract="last" if extract_last else "all" if extract else None)
    if output.extract and fmt in ("json", "jsonl"):
        raise UsageError(f"-x/--extract-last and --format {fmt} contradict each other")
    resume = resume_from(request)
    wanted = schema_from(schema, schema_multi)
    files = list(request["file"] or [])
    if flags.models:
        refuse_for_models(regenerate=regenerate, schema=isinstance(wanted, dict), extract=output.extract)
    if regenerate:
        if prompt or files or resume is None:
            raise UsageError("--regenerate asks a conversation's last question again: give -c or --cid, no prompt",
                             hint="try: otchat -c --regenerate, with -m MODEL to ask another model")
        return run(env, flags, output, [], [], resume=resume, regenerate=True)
    if not prompt and not files and env.stdin_isatty and not dry_run:
        from ..runner import prepare
        from ..term import repl

        if wanted is not None:
            raise UsageError("--schema is for one-shot prompts", hint="use /schema SPEC in the REPL")
        if output.extract:
            raise UsageError("-x and --extract-last are for one-shot prompts", hint="use /extract in the REPL")
        one_model(flags, "the REPL", hint="give a prompt, or use /compare MODEL [MODEL...] in the REPL")
        return repl.run(env, prepare(env, flags, resume=resume), output, None, resume=resume)
    return run(env, flags, output, list(prompt or []), files, resume=resume, schema=wanted,
               schema_retries=schema_retries)


def refuse_for_models(*, regenerate: bool, schema: bool, extract: str | None) -> None:
    """What a comparison of several models cannot do, refused before anything is sent."""
    asked = [name for name, given in (("--regenerate", regenerate), ("--schema", schema), ("-x/--extract", extract))
             if given]
    if asked:
        raise UsageError(f"{asked[0]} asks one model; several -m/--models cannot be used with it")


class NoSchema:
    """`--schema -`: no schema, not even the one a continued conversation had."""


def schema_from(spec: str | None, multi: str | None) -> dict[str, Any] | NoSchema | None:
    """The schema --schema / --schema-multi ask for; NoSchema for `-`; None: not given."""
    if spec is not None and multi is not None:
        raise UsageError("--schema and --schema-multi contradict each other")
    text = spec if spec is not None else multi
    if text is None:
        return None
    if text.strip() == "-":
        return NoSchema()
    from ..structured import parse_spec

    return parse_spec(text, multi=multi is not None)


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
        regenerate: bool = False, schema: dict[str, Any] | NoSchema | None = None, schema_retries: int = 2) -> int:
    """Gather the input, run one exchange (or a comparison of several models), pick the exit code."""
    from .. import compare, runner
    from ..term.output import make_sink
    from ..term.prompts import Approver
    from ..wire import request

    setup = runner.prepare(env, flags, need_key=not output.dry_run, resume=resume)
    settings = setup.settings
    models = compare.model_ids(flags.models, setup.file) if flags.models else []
    if models and settings.mcp_servers:
        raise UsageError("several models at once cannot use local MCP servers yet (approving their tool calls"
                         " across answers that arrive together is not designed)",
                         hint="leave out --mcp/--mcp-command or disable the servers, or ask one model")
    message = "" if regenerate else _message(env, settings, " ".join(prompt_words), files)
    hub = runner.start_tools(env, settings)
    try:
        session = runner.Session(env, setup, tools=hub, approve=Approver(env, settings.auto_approve))
        if resume is not None:
            session.resume(resume.ref)  # a continued conversation keeps its schema...
        if regenerate:
            message = session.regenerate()
        if schema is not None:  # ...unless --schema gives another, or `-` none
            session.set_schema(None if isinstance(schema, NoSchema) else schema)
        if models and session.schema is not None:
            raise UsageError("the conversation asks for a --schema, which one model answers at a time",
                             hint="--schema - leaves it out")
        if output.dry_run:
            shown: Any = ([request.redacted(r) for r in compare.requests_for(session, models, message)] if models
                          else request.redacted(session.request_for(message)))
            env.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
            env.stdout.flush()
            return ExitCode.OK
        transport = runner.make_transport(env, session.settings, output)
        if models:
            from functools import partial

            from ..term.boards import make_board

            board = partial(make_board, env, models, output, env.clock, links=session.settings.links)
            try:
                return compare.ask(env, session, transport, board, models, message)
            finally:
                transport.close()
        if session.schema is not None:
            from ..term import jsonout

            try:
                return jsonout.run(env, session, transport, output, message, schema_retries)
            finally:
                transport.close()
        if output.extract:
            from ..term.code import CodeSink

            sink: Any = CodeSink(env, last=output.extract == "last", usage=output.usage)
        else:
            sink = make_sink(env, output.format, usage=output.usage, verbose=output.verbose,
                             links=session.settings.links)
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
