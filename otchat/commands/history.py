"""Logging turns to history.db, and the `otchat history …` commands that read it back."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..env import Env
from ..errors import ExitCode, OtchatError, UsageError
from ..store.db import DB_NAME, Conversation, Message, Store


class Recorder:
    """Writes each turn to the log; a failure is one warning, never a failed chat."""

    def __init__(self, env: Env, enabled: bool) -> None:
        self.env = env
        self.enabled = enabled
        self.cid: str | None = None

    def record(self, model: str, profile: str | None, system: str | None,
               messages: list[Message]) -> list[int | None]:
        """Log `messages`; their row ids (None where nothing was written)."""
        if not self.enabled or not messages:
            return [None] * len(messages)
        try:
            with Store.open(self.env.data_dir) as store:
                head: list[Message] = []
                if self.cid is None:
                    first = next((m.content for m in messages if m.role == "user"), messages[0].content)
                    self.cid = store.new_conversation(first, model, profile)
                    if system:
                        head = [Message("system", system)]
                ids = store.add_messages(self.cid, head + messages, model=model)
                return list(ids[len(head):])
        except OtchatError as exc:
            self._fail(exc.line())
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"{self.env.data_dir / DB_NAME}: {exc}")
        return [None] * len(messages)

    def hide(self, ids: list[int | None]) -> None:
        """Take logged messages off the conversation's path (/undo, /retry); the rows stay."""
        rows = [i for i in ids if i is not None]
        if not self.enabled or not rows:
            return
        try:
            with Store.open(self.env.data_dir) as store:
                store.hide(rows)
        except OtchatError as exc:
            self._fail(exc.line())
        except (sqlite3.Error, OSError) as exc:
            self._fail(f"{self.env.data_dir / DB_NAME}: {exc}")

    def _fail(self, why: str) -> None:
        self.env.warn(f"history not saved: {why}")
        self.enabled = False


def load(env: Env, ref: str | None) -> Conversation:
    """A stored conversation by id prefix, or the most recent one when `ref` is None."""
    with Store.open(env.data_dir) as store:
        cid = store.resolve(ref) if ref else store.latest()
        if cid is None:
            raise UsageError("no earlier conversation to continue")
        return store.conversation(cid)


# Rendering ------------------------------------------------------------------------------


def markdown_of(title: str, messages: list[Message]) -> str:
    lines = [f"# {title}", ""]
    for m in messages:
        head = f"## {m.role}" + (f" ({m.model})" if m.role == "assistant" and m.model else "")
        if m.hidden:  # undone, replaced by /retry, or never answered: kept, never sent again
            head += " · not sent again"
        lines += [head, ""]
        if m.reasoning:  # marked as what it is, apart from the answer
            lines += ["> *reasoning*", ">", *(f"> {line}".rstrip() for line in m.reasoning.strip().split("\n")), ""]
        lines.append(m.content)
        for call in m.tool_calls:
            function = call.get("function", {})
            lines += ["", f"tool call `{function.get('name')}`: `{function.get('arguments')}`"]
        if m.interrupted:
            lines += ["", "*[interrupted]*"]
        lines.append("")
    return "\n".join(lines)


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _out(env: Env, text: str) -> None:
    env.stdout.write(text + "\n")


# Commands ---------------------------------------------------------------------------------


def list_cmd(env: Env, limit: int, as_json: bool) -> int:
    with Store.open(env.data_dir) as store:
        conversations = store.conversations(limit)
    if as_json:
        rows = [{k: v for k, v in c.to_json().items() if k != "messages"} for c in conversations]
        _out(env, json.dumps(rows, indent=2, ensure_ascii=False))
        return ExitCode.OK
    if not conversations and env.stdout_isatty:
        _out(env, "no conversations yet")
    for c in conversations:
        _out(env, f"{c.id[:8]}  {when(c.updated)}  {(c.model or '-'):<28}  {c.count:>3}  {c.title}")
    return ExitCode.OK


def show_cmd(env: Env, ref: str, fmt: str) -> int:
    conversation = load(env, ref)
    text = _export_text(conversation, fmt)
    if fmt == "markdown" and env.stdout_isatty:
        from rich.console import Console

        from ..config import resolve as config
        from ..term.live import CommitMarkdown, print_markdown, with_links

        # The same markdown as a streamed answer: HTML as text, link targets as configured.
        file = config.load_file(config.config_path(env.config_dir), warn=env.warn)
        links = config.resolve(config.Flags(), env.environ, file).links
        console = Console(file=env.stdout, force_terminal=True, no_color=bool(env.environ.get("NO_COLOR")),
                          highlight=False)
        print_markdown(console, with_links(CommitMarkdown, links), text, None, blank_before=False)
    else:
        env.stdout.write(text)
    return ExitCode.OK


def export_cmd(env: Env, ref: str, fmt: str, output: Path | None, yes: bool = False, ask: Any = None) -> int:
    text = _export_text(load(env, ref), fmt)
    if output is None:
        env.stdout.write(text)
        return ExitCode.OK
    if output.exists() and not yes:
        # As `history rm`: replacing a file the user has is asked about, or confirmed with --yes.
        if not env.stdin_isatty or ask is None:
            raise UsageError(f"{output} exists; add --yes to overwrite it")
        if not ask(f"Overwrite {output}? [y/N] ").strip().lower().startswith("y"):
            env.stderr.write("nothing written\n")
            return ExitCode.OK
    from ..files import write_atomic

    try:
        write_atomic(output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    env.stderr.write(f"wrote {output}\n")
    return ExitCode.OK


def _export_text(conversation: Conversation, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(conversation.to_json(), indent=2, ensure_ascii=False) + "\n"
    return markdown_of(conversation.title, conversation.messages)


def search_cmd(env: Env, query: str, limit: int) -> int:
    with Store.open(env.data_dir) as store:
        hits = store.search(query, limit)
    if not hits:
        env.stderr.write(f"nothing matches {query!r}\n")
        return ExitCode.NO_MATCH
    for cid, title, role, created, snippet in hits:
        snippet = " ".join(snippet.split())
        _out(env, f"{cid[:8]}  {when(created)}  {role:<9}  {snippet}   ({title})")
    return ExitCode.OK


def rm_cmd(env: Env, refs: list[str], older_than: str | None, yes: bool, ask: Any) -> int:
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
            answer = ask(f"Remove {len(cids)} conversation(s)? [y/N] ")
            if not answer.strip().lower().startswith("y"):
                env.stderr.write("nothing removed\n")
                return ExitCode.OK
        store.delete(cids)
    env.stderr.write(f"removed {len(cids)} conversation(s)\n")
    return ExitCode.OK


def path_cmd(env: Env) -> int:
    _out(env, str(env.data_dir / DB_NAME))
    return ExitCode.OK


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """`30d`, `12h`, `2w`, `90m` (minutes), `45s` → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not match:
        raise UsageError(f"--older-than takes a number and a unit (s, m, h, d, w), e.g. 30d; got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]

