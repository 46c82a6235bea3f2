"""`otchat chat`: the interactive REPL (term/repl.py), or one message per line from a pipe."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .group import env_of
from .options import Format, flags_from, one_model, resume_from, with_request_options


@with_request_options
def chat(
    ctx: typer.Context,
    first: Annotated[list[str] | None, typer.Argument(metavar="[FIRST MESSAGE]...", show_default=False)] = None,
    *,
    multiline: Annotated[
        bool, typer.Option("--multiline", help="Enter inserts a new line; Alt-Enter sends.")
    ] = False,
    format: Annotated[Format, typer.Option("--format", help="Output format of replies.")] = Format.auto,
    **request: Any,
) -> int:
    """Chat interactively (one message per line when stdin is not a terminal)."""
    from ..runner import Output, prepare
    from ..term import repl
    from .inputs import read_text_file

    env = env_of(ctx)
    output = Output(format=format.value, usage=request["usage"], verbose=request["verbose"])
    flags = flags_from(request)
    one_model(flags, "otchat chat", hint="compare models in the REPL with /compare MODEL [MODEL...]")
    resume = resume_from(request)
    setup = prepare(env, flags, resume=resume)
    files = [read_text_file(path, setup.settings.max_input_bytes) for path in request["file"] or []]
    return repl.run(env, setup, output, " ".join(first) if first else None, multiline=multiline,
                    resume=resume, files=files)
