"""Command-line option types shared by the commands (typer Annotated aliases)."""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import complete


class Format(str, Enum):
    auto = "auto"
    markdown = "markdown"
    plain = "plain"
    json = "json"
    jsonl = "jsonl"


# Request options, shared by the one-shot command and (later) `chat`.
ModelOpt = Annotated[
    Optional[str],
    typer.Option("-m", "--model", help="Model id or alias, e.g. anthropic/claude-3.7-sonnet.",
                 autocompletion=complete.models),
]
SystemOpt = Annotated[Optional[str], typer.Option("-s", "--system", help="System prompt.")]
ToolOpt = Annotated[
    Optional[list[str]],
    typer.Option("-t", "--tool", metavar="REF", help="Hosted MCP tool from the OpenTools registry (repeatable).",
                 autocompletion=complete.tools),
]
NoToolOpt = Annotated[
    Optional[list[str]],
    typer.Option("--no-tool", metavar="REF", help="Leave out a tool that config, profile or role adds (repeatable).",
                 autocompletion=complete.tools),
]
FunctionOpt = Annotated[
    Optional[list[Path]],
    typer.Option("--function", metavar="FILE", help="JSON function definition to declare as a tool (repeatable)."),
]
ToolChoiceOpt = Annotated[
    Optional[str], typer.Option("--tool-choice", metavar="auto|none|required|NAME", help="How the model may use tools.")
]
FileOpt = Annotated[
    Optional[list[Path]],
    typer.Option("-f", "--file", metavar="PATH", help="Add a text file to the message (repeatable)."),
]
TemperatureOpt = Annotated[
    Optional[float], typer.Option("--temperature", min=0.0, max=2.0, help="Sampling temperature, 0 to 2.")
]
MaxTokensOpt = Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="Longest reply, in tokens.")]
OptionOpt = Annotated[
    Optional[list[str]],
    typer.Option("-o", "--option", metavar="KEY=VALUE", help="Extra request body field; VALUE is JSON if it parses."),
]
NoStreamOpt = Annotated[bool, typer.Option("--no-stream", help="Ask for the whole reply at once.")]
BaseUrlOpt = Annotated[
    Optional[str], typer.Option("--base-url", metavar="URL", help="API base URL [default: https://api.opentools.com/v1].")
]
TimeoutOpt = Annotated[
    Optional[float], typer.Option("--timeout", metavar="SECONDS", min=0.001, help="Read timeout [default: 300].")
]
ProfileOpt = Annotated[
    Optional[str],
    typer.Option("--profile", metavar="NAME", help="Use [profiles.NAME] from config.toml.",
                 autocompletion=complete.profiles),
]
RoleOpt = Annotated[
    Optional[str],
    typer.Option("--role", metavar="NAME", help="Use [roles.NAME] from config.toml.", autocompletion=complete.roles),
]
ContinueOpt = Annotated[bool, typer.Option("-c", "--continue", help="Continue the most recent conversation.")]
CidOpt = Annotated[
    Optional[str],
    typer.Option("--cid", metavar="ID", help="Continue conversation ID (a unique prefix is enough).",
                 autocompletion=complete.history_ids),
]
NoLogOpt = Annotated[bool, typer.Option("--no-log", help="Do not keep this conversation in history.db.")]
McpOpt = Annotated[
    Optional[list[str]],
    typer.Option("--mcp", metavar="NAME", help="Use configured MCP server NAME for this run (repeatable)."),
]
McpCommandOpt = Annotated[
    Optional[list[str]],
    typer.Option("--mcp-command", metavar="[NAME=]CMD ARGS", help="Run a local stdio MCP server (repeatable)."),
]
YesOpt = Annotated[bool, typer.Option("-y", "--yes", help="Run local MCP tools without asking.")]
MaxRoundsOpt = Annotated[
    Optional[int], typer.Option("--max-tool-rounds", metavar="N", min=1, help="Tool rounds per message [default: 8].")
]
RetriesOpt = Annotated[
    Optional[int], typer.Option("--retries", metavar="N", min=0, help="Retries before a reply begins [default: 2].")
]
