"""The default command: `otchat [OPTIONS] [PROMPT]...` asks once (prompt, piped stdin, -f files)
and prints the reply; with no prompt on a terminal it opens the REPL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Unpack

import typer

from ..env import Env
from ..errors import UsageError
from ..plan import Format, NoSchema, Output, Plan, Schema, check, output_format, schema_spec
from ..shell import values
from .group import env_of
from .options import (
    RequestOptions,
    VersionOpt,
    files_from,
    flags_from,
    resume_from,
    split_models,
    with_request_options,
)

if TYPE_CHECKING:
    from ..config.resolve import Settings
    from ..runner import Run

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
        "--models", metavar="A,B,...", help="Ask several models (as -m repeated), at most 8 models at once.",
        autocompletion=values.models,
    )] = None,
    version: VersionOpt = False,
    **request: Unpack[RequestOptions],
) -> int:
    env = env_of(ctx)
    output = Output(format=output_format(format, json_=json_, raw=raw), usage=request["usage"],
                    verbose=request["verbose"], dry_run=dry_run,
                    extract="last" if extract_last else "all" if extract else None)
    flags = flags_from(request, split_models(models))
    plan = Plan(flags, output, resume_from(request), schema=schema_from(schema, schema_multi),
                schema_retries=schema_retries, regenerate=regenerate, files=files_from(request))
    words = list(prompt or [])
    chat = not regenerate and not words and not plan.files and env.stdin_isatty and not dry_run
    check(plan, "repl" if chat else "one-shot", words)
    if chat:
        from .chat import chat_in

        return chat_in(env, plan, None)
    return one_shot(env, plan, words)


def schema_from(spec: str | None, multi: str | None) -> Schema | None:
    """The schema --schema / --schema-multi ask for; NoSchema for `-`; None: not given."""
    given = schema_spec(spec, multi)
    if given is None:
        return None
    text, is_multi = given
    if text.strip() == "-":
        return NoSchema()
    from ..structured import parse_spec

    return parse_spec(text, multi=is_multi)


def one_shot(env: Env, plan: Plan, words: list[str]) -> int:
    """Gather the input and answer it once, in the plan's mode; the exit code."""
    from ..runner import Run
    from ..term.front import TermFront

    with Run(env, plan, TermFront(env, plan.output)) as run:
        run.connect()  # while stdin is read and the rest loads
        inputs = None if plan.regenerate else _inputs(env, run.settings, " ".join(words), plan.files)
        run.start()
        return run.answer("" if inputs is None else _message(env, run, *inputs))


def _inputs(env: Env, settings: Settings, prompt: str, files: list[Path]
            ) -> tuple[str, list[tuple[str, str]], str | None]:
    """What the user's message is made of: the prompt, -f files and piped stdin."""
    from .inputs import read_inputs

    prompt = prompt if prompt.strip() else ""  # a prompt of only whitespace is none
    blocks, piped = read_inputs(env, prompt, files, settings.max_input_bytes)
    if not prompt and piped is None and not blocks:
        raise UsageError('no prompt given', hint='try: otchat "your question", or pipe text in')
    return prompt, blocks, piped


def _message(env: Env, run: Run, prompt: str, blocks: list[tuple[str, str]], piped: str | None) -> str:
    """The user's message: the prompt, the resources it mentions (`@SERVER:URI`, read from the
    run's MCP servers), -f files and piped stdin."""
    from ..wire import request
    from .mcp_resources import prompt_resources

    prompt, mentioned = prompt_resources(env, run.session.tools, prompt, run.settings.max_input_bytes)
    return request.compose_user_message(prompt, mentioned + blocks, piped)
