"""`otchat chat`: the interactive REPL (term/repl.py), or one message per line from a pipe."""

from __future__ import annotations

from typing import Annotated, Unpack

import typer

from ..env import Env
from ..errors import UsageError
from ..plan import Format, Output, Plan, check
from .group import env_of
from .options import RequestOptions, files_from, flags_from, resume_from, with_request_options


@with_request_options
def chat(
    ctx: typer.Context,
    first: Annotated[list[str] | None, typer.Argument(metavar="[FIRST MESSAGE]...", show_default=False)] = None,
    *,
    multiline: Annotated[
        bool, typer.Option("--multiline", help="Enter inserts a new line; Alt-Enter sends.")
    ] = False,
    format: Annotated[Format, typer.Option("--format", help="Output format of replies.")] = Format.auto,
    **request: Unpack[RequestOptions],
) -> int:
    """Chat interactively (one message per line when stdin is not a terminal)."""
    env = env_of(ctx)
    output = Output(format=format, usage=request["usage"], verbose=request["verbose"])
    plan = Plan(flags_from(request), output, resume_from(request), files=files_from(request))
    check(plan, "chat")
    from .inputs import STDIN

    if STDIN in plan.files:
        raise UsageError("-f - is for one-shot prompts and otchat cmd: otchat chat reads its messages from stdin",
                         hint="name a file")
    return chat_in(env, plan, " ".join(first) if first else None, multiline=multiline)


def chat_in(env: Env, plan: Plan, first: str | None, *, multiline: bool = False) -> int:
    """The REPL of a run of `plan`; the -f files go with the first message."""
    from ..runner import Run
    from ..term import repl
    from ..term.front import TermFront
    from .inputs import read_text_file

    with Run(env, plan, TermFront(env, plan.output)) as run:
        files = [read_text_file(path, run.settings.max_input_bytes) for path in plan.files]
        return repl.serve(env, run, first, multiline=multiline, files=files)
