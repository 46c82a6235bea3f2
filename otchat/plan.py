"""A plan: what one invocation asked for (flags, output, mode, what it continues), and the one
place where what was asked is checked for contradictions, before anything starts or is sent.

A run (`runner.Run`) is opened from a plan; the front doors (commands, the REPL) only build
plans and hand them over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .config.resolve import Flags
from .errors import UsageError
from .seams import JSONObject

if TYPE_CHECKING:
    from .config.resolve import Settings

MAX_MODELS = 8  # models one comparison asks at once
MODELS_LIMIT = f"at most {MAX_MODELS} models at once"  # the one wording of it (also --models's help, README)


class Format(str, Enum):
    auto = "auto"
    markdown = "markdown"
    plain = "plain"
    json = "json"
    jsonl = "jsonl"


Extract = Literal["all", "last"]  # -x: every fenced block; --extract-last: the last one


@dataclass(frozen=True)
class Output:
    """How answers are shown."""

    format: Format = Format.auto
    usage: bool = False
    verbose: bool = False
    dry_run: bool = False
    extract: Extract | None = None


@dataclass(frozen=True)
class Resume:
    """Continue a stored conversation: `ref` an id prefix, or None for the latest."""

    ref: str | None = None


class NoSchema:
    """`--schema -`: no schema, not even the one a continued conversation had."""


Schema = JSONObject | NoSchema


@dataclass(frozen=True)
class Mode:
    """What a run falls back on when the flags do not say: `otchat cmd`'s role and system prompt
    (the config's top-level `system` is for chats)."""

    role: str | None = None
    system: str | None = None


@dataclass
class Plan:
    """What was asked. `flags` are the request flags (several models in `flags.models`)."""

    flags: Flags
    output: Output = field(default_factory=Output)
    resume: Resume | None = None
    schema: Schema | None = None  # None: as the conversation has it
    schema_retries: int = 2
    regenerate: bool = False
    files: list[Path] = field(default_factory=list)
    mode: Mode = field(default_factory=Mode)

    @property
    def compares(self) -> bool:
        return bool(self.flags.models)


def output_format(format: Format | None, *, json_: bool, raw: bool) -> Format:
    """The one format that --format, --json and --raw ask for; two different ones contradict."""
    asked: dict[str, Format] = {}
    if json_:
        asked["--json"] = Format.json
    if raw:
        asked["--raw"] = Format.plain
    if format is not None:
        asked[f"--format {format.value}"] = format
    if len(set(asked.values())) > 1:
        raise UsageError(f"{' and '.join(asked)} contradict each other")
    return next(iter(asked.values()), Format.auto)


def schema_spec(spec: str | None, multi: str | None) -> tuple[str, bool] | None:
    """The SPEC text that --schema / --schema-multi give and whether it is the list form."""
    if spec is not None and multi is not None:
        raise UsageError("--schema and --schema-multi contradict each other")
    if spec is not None:
        return spec, False
    return (multi, True) if multi is not None else None


def check(plan: Plan, where: Literal["one-shot", "repl", "chat", "cmd"], prompt: list[str] | None = None) -> None:
    """Every contradiction in what was asked that can be seen before settings resolve."""
    output = plan.output
    if output.extract and output.format in (Format.json, Format.jsonl):
        raise UsageError(f"-x/--extract-last and --format {output.format.value} contradict each other")
    if plan.compares:
        given = [name for name, on in (("--regenerate", plan.regenerate), ("--schema", isinstance(plan.schema, dict)),
                                       ("-x/--extract", output.extract)) if on]
        if given:
            raise UsageError(f"{given[0]} asks one model; several -m/--models cannot be used with it")
    if plan.regenerate and (prompt or plan.files or plan.resume is None):
        raise UsageError("--regenerate asks a conversation's last question again: give -c or --cid, no prompt",
                         hint="try: otchat -c --regenerate, with -m MODEL to ask another model")
    if where == "repl":
        if plan.schema is not None:
            raise UsageError("--schema is for one-shot prompts", hint="use /schema SPEC in the REPL")
        if output.extract:
            raise UsageError("-x and --extract-last are for one-shot prompts", hint="use /extract in the REPL")
    if plan.compares and where != "one-shot":
        name, hint = {"repl": ("the REPL", "give a prompt, or use /compare MODEL [MODEL...] in the REPL"),
                      "chat": ("otchat chat", "compare models in the REPL with /compare MODEL [MODEL...]"),
                      "cmd": ("otchat cmd", None)}[where]
        raise UsageError(f"{name} talks to one model; several -m/--models are for one-shot prompts", hint=hint)


def check_resolved(plan: Plan, settings: Settings) -> None:
    """What contradicts the settings the flags resolved to."""
    if plan.compares and settings.mcp_servers:
        raise UsageError("several models at once cannot use local MCP servers yet (approving their tool calls"
                         " across answers that arrive together is not designed)",
                         hint="add --no-mcp to leave config.toml's servers out, leave out --mcp/--mcp-command,"
                         " or ask one model")


def check_started(plan: Plan, schema: JSONObject | None) -> None:
    """What contradicts the conversation the run continues."""
    if plan.compares and schema is not None:
        raise UsageError("the conversation asks for a --schema, which one model answers at a time",
                         hint="--schema - leaves it out")
