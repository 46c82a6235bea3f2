"""`otchat history list|show|search|export|fork|switch|rm|path`: reading the log back, and its branches.

The store (sqlite3) is imported inside each command: --help and TAB completion load this module.
"""

from __future__ import annotations

import json
import re
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..env import Env
from ..errors import ExitCode, UsageError
from ..shell import values
from ..term.prompts import Ask, ask, confirm
from .group import env_of, new_group

app = new_group("List, search, show, export or remove past conversations.")


class ExportFormat(str, Enum):
    markdown = "markdown"
    json = "json"


IdArg = Annotated[
    str,
    typer.Argument(metavar="ID", help="A conversation id (a unique prefix is enough).",
                   autocompletion=values.history_ids),
]
FormatOpt = Annotated[ExportFormat, typer.Option("--format", help="markdown or json.")]
TreeOpt = Annotated[bool, typer.Option("--tree", help="The whole tree, every branch (default: the current path).")]


@app.command("list")
def list_(
    ctx: typer.Context,
    number: Annotated[int, typer.Option("-n", "--number", min=1, help="How many, newest first.")] = 20,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """Recent conversations: id, time, model, message count, title."""
    return list_cmd(env_of(ctx), number, json_)


@app.command("show")
def show(ctx: typer.Context, cid: IdArg, format: FormatOpt = ExportFormat.markdown, tree: TreeOpt = False) -> int:
    """Print one conversation: its current path (JSON adds the other branches), or --tree."""
    return show_cmd(env_of(ctx), cid, format.value, tree)


@app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[list[str], typer.Argument(help="Words that must all appear.")],
    number: Annotated[int, typer.Option("-n", "--number", min=1, help="Most results.")] = 50,
) -> int:
    """Full-text search of every message, newest first."""
    return search_cmd(env_of(ctx), " ".join(query), number)


@app.command("export")
def export(
    ctx: typer.Context,
    cid: IdArg,
    format: FormatOpt = ExportFormat.markdown,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write to FILE.")] = None,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Overwrite FILE without asking.")] = False,
    tree: TreeOpt = False,
) -> int:
    """Write one conversation's current path (--tree: every branch) as markdown or JSON (asks before
    replacing FILE on a terminal)."""
    env = env_of(ctx)
    return export_cmd(env, cid, format.value, output, yes, lambda question: ask(env, question), tree)


@app.command("fork")
def fork(
    ctx: typer.Context,
    cid: IdArg,
    at: Annotated[int | None, typer.Option("--at", metavar="N", min=1,
                                              help="Copy up to turn N (default: all of it).")] = None,
) -> int:
    """Copy a conversation's current path into a new conversation; print the new id."""
    return fork_cmd(env_of(ctx), cid, at)


@app.command("switch")
def switch(
    ctx: typer.Context,
    cid: IdArg,
    leaf: Annotated[str, typer.Argument(metavar="LEAF", help="A branch: its last message's number (#12 or 12;"
                                        " a unique prefix is enough), as show --tree prints it.",
                                        autocompletion=values.branch_leaves)],
) -> int:
    """Make a branch the current one: -c and --cid continue it."""
    return switch_cmd(env_of(ctx), cid, leaf)


@app.command("rm")
def rm(
    ctx: typer.Context,
    cids: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ID]...", help="Conversations to remove.", autocompletion=values.history_ids),
    ] = None,
    older_than: Annotated[
        str | None, typer.Option("--older-than", metavar="AGE", help="Remove those idle longer than AGE (30d, 12h).")
    ] = None,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask.")] = False,
) -> int:
    """Remove conversations (asks first on a terminal)."""
    env = env_of(ctx)
    return rm_cmd(env, list(cids or []), older_than, yes, lambda question: ask(env, question))


@app.command("path")
def path(ctx: typer.Context) -> int:
    """Print where history.db lives."""
    return path_cmd(env_of(ctx))


def list_cmd(env: Env, limit: int, as_json: bool) -> int:
    from ..store.db import Store
    from ..store.views import listing

    with Store.open(env.data_dir) as store:
        conversations = store.conversations(limit)
    if as_json:
        rows = [{k: v for k, v in c.to_json().items() if k != "messages"} for c in conversations]
        env.out(json.dumps(rows, indent=2, ensure_ascii=False))
        return ExitCode.OK
    if not conversations and env.stdout_isatty:
        env.out("no conversations yet")
    for line in listing(conversations, env.columns()):
        env.out(line)
    return ExitCode.OK


def _text(env: Env, ref: str, fmt: str, tree: bool, drawn: bool = False, beside: bool = True) -> tuple[str, bool]:
    """A conversation as `fmt` (its current path, or with `tree` every branch); and whether it is
    markdown. `beside`: JSON of the path lists the other branches too (`history show`)."""
    from ..store.db import Store
    from ..store.schemas import schema_of
    from ..store.views import export_text, markdown_of, path_json, tree_lines

    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref)
        conversation = store.conversation(cid)
        path, branches, schema = store.path(cid), store.branches(cid), schema_of(store, cid)
    if tree and fmt == "json":
        return export_text(conversation, "json", schema), False
    if tree:
        width = env.columns() if drawn else None  # drawn for a terminal: cut to it
        lines = tree_lines(conversation.messages, conversation.current, drawn=drawn, width=width)
        return "\n".join(lines) + "\n", False
    if fmt == "json":
        return path_json(conversation, path, branches if beside else None, schema), False
    return markdown_of(conversation.title, path), True


def show_cmd(env: Env, ref: str, fmt: str, tree: bool = False) -> int:
    text, is_markdown = _text(env, ref, fmt, tree, drawn=env.stdout_isatty)
    if is_markdown and env.stdout_isatty:
        from ..config import resolve as config
        from ..term.console import console_for
        from ..term.markdown import CommitMarkdown, print_markdown, with_links

        # The same markdown as a streamed answer: HTML as text, link targets as configured.
        file = config.load_file(config.config_path(env.config_dir), warn=env.warn)
        prose = config.resolve(config.Flags(), env.environ, file).prose
        from ..text import visible

        print_markdown(console_for(env), with_links(CommitMarkdown, prose), visible(text), None, blank_before=False)
    else:
        env.stdout.write(text)
    return ExitCode.OK


def export_cmd(env: Env, ref: str, fmt: str, output: Path | None, yes: bool = False, ask: Ask | None = None,
               tree: bool = False) -> int:
    from ..store.recorder import load
    from ..store.views import markdown_of

    if tree and fmt == "markdown":  # every message, each headed by its id and what it follows
        stored = load(env, ref)
        text = markdown_of(stored.title, stored.messages, ids=True)
    else:
        text = _text(env, ref, fmt, tree, beside=False)[0]  # the path alone, as markdown has it
    if output is None:
        env.stdout.write(text)
        return ExitCode.OK
    if output.exists() and not yes:
        # As `history rm`: replacing a file the user has is asked about, or confirmed with --yes.
        if not env.stdin_isatty or ask is None:
            raise UsageError(f"{output} exists; add --yes to overwrite it")
        if not confirm(env, f"Overwrite {output}? [y/N] ", ask):
            env.stderr.write("nothing written\n")
            return ExitCode.OK
    from ..files import write_atomic

    try:
        write_atomic(output, text, make_dirs=False)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    env.stderr.write(f"wrote {output}\n")
    return ExitCode.OK


def fork_cmd(env: Env, ref: str, turn: int | None) -> int:
    from ..store.db import Store

    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref)
        path = store.path(cid)
        upto = path[-1].id if path else None
        if turn is not None:
            starts = [n for n, m in enumerate(path) if m.role == "user"]
            if turn > len(starts):
                raise UsageError(f"no turn {turn}: {cid[:8]} has {len(starts)} on its current path")
            upto = path[starts[turn] - 1].id if turn < len(starts) else upto
        new = store.fork(cid, upto)
    env.stderr.write(f"forked {cid[:8]}" + (f" at turn {turn}" if turn else "") + "\n")
    env.out(new)
    return ExitCode.OK


def switch_cmd(env: Env, ref: str, leaf_ref: str) -> int:
    from ..store.db import Store
    from ..store.views import pick_leaf

    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref)
        leaf = pick_leaf(store, cid, leaf_ref)
        store.set_current(cid, leaf)
        turns = sum(m.role == "user" for m in store.path(cid))
    env.stderr.write(f"{cid[:8]} goes on from #{leaf} ({turns} turn{'s' if turns != 1 else ''})\n")
    return ExitCode.OK


def search_cmd(env: Env, query: str, limit: int) -> int:
    from ..store.db import Store
    from ..store.views import when

    with Store.open(env.data_dir) as store:
        hits = store.search(query, limit)
    if not hits:
        env.stderr.write(f"nothing matches {query!r}\n")
        return ExitCode.NO_MATCH
    for cid, title, role, created, snippet in hits:
        snippet = " ".join(snippet.split())
        env.out(f"{cid[:8]}  {when(created)}  {role:<9}  {snippet}   ({title})")
    return ExitCode.OK


def rm_cmd(env: Env, refs: list[str], older_than: str | None, yes: bool, ask: Ask | None = None) -> int:
    from ..store.db import Store

    if not refs and not older_than:
        raise UsageError("history rm needs conversation ids or --older-than")
    with Store.open(env.data_dir) as store:
        cids = [store.resolve(ref) for ref in refs]
        if older_than:
            cids += store.older_than(time.time() - parse_age(older_than))
        cids = list(dict.fromkeys(cids))
        if not cids:
            env.stderr.write("nothing to remove\n")
            return ExitCode.OK
        if not yes:
            if not env.stdin_isatty:
                raise UsageError(f"this removes {len(cids)} conversation(s); add --yes to confirm")
            if not confirm(env, f"Remove {len(cids)} conversation(s)? [y/N] ", ask):
                env.stderr.write("nothing removed\n")
                return ExitCode.OK
        store.delete(cids)
    env.stderr.write(f"removed {len(cids)} conversation(s)\n")
    return ExitCode.OK


def path_cmd(env: Env) -> int:
    from ..store.db import DB_NAME

    env.out(str(env.data_dir / DB_NAME))
    return ExitCode.OK


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """`30d`, `12h`, `2w`, `90m` (minutes), `45s` → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise UsageError(f"--older-than takes a number and a unit (s, m, h, d, w), e.g. 30d; got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]

