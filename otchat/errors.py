"""The exception tree and the exit codes it maps to, in one place.

What a command raises reaches one error boundary, `app._boundary`: an OtchatError becomes one
`otchat: error:` line and the process exits with its `exit_code`; Ctrl-C exits 130, a closed
stdout 141, any other exception 1 (`--traceback` shows it). Every exception class otchat
defines, with the status it exits with (a class outside this module is named by its module
under otchat/; tests/test_errors_tree.py holds this drawing to the classes themselves):

    Exception
    └── OtchatError                    1    an error the user sees as one line
        ├── UsageError                 2    bad flags or input (stdin, files)
        ├── ConfigError                3    a broken config file, or no usable API key
        ├── APIError                   by status: 401/403 → 3, 402/429 → 8, 408 → 6, other 4xx → 4, 5xx or none → 5
        ├── StreamError                7    the stream broke off or was undecodable
        ├── NetworkError               6    no connection, or no data within the timeout
        ├── ToolBudgetError            9    the reply stopped with tool calls nobody will run
        ├── store.db.StoreError        1    history.db cannot be used
        └── structured.SchemaMismatch  10   the reply did not match --schema after its re-asks
    BaseException                           (past `except Exception`, like Ctrl-C)
    ├── TurnCut                        its cause's: a turn ended early; the front door keeps the partial reply
    ├── Terminated                     128 + signal: 129 on SIGHUP, 143 on SIGTERM
    └── compare.Cancelled              none: it stops one comparison worker and never leaves compare.py
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import TurnResult


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    # grep's convention: `history search` found nothing, `config get` names an unset key.
    # It shares 1 with UNEXPECTED, which the tables document together (an alias here).
    NO_MATCH = 1
    USAGE = 2
    CONFIG = 3
    API_REJECTED = 4
    API_FAILURE = 5
    NETWORK = 6
    BAD_STREAM = 7
    RATE_LIMIT = 8
    TOOL_BUDGET = 9
    SCHEMA_MISMATCH = 10
    SIGHUP = 129
    INTERRUPTED = 130
    SIGTERM = 143


# The exit statuses, the one copy: `--help` shows the short words, the README's table and
# the man page the long ones (shell/docgen.py writes both; tests/test_docs.py checks them).
EXIT_STATUS: tuple[tuple[str, str, str], ...] = (
    ("0", "ok", "ok"),
    ("1", "no match (history search, config get of an unset key) or an unexpected error",
     "no match, as with grep: `history search` found nothing, `config get` named an unset key; also an"
     " unexpected error (`--traceback` shows it) or an unreadable history (these print an `otchat: error:` line)"),
    ("2", "bad usage or input", "bad usage or input (flags, undecodable or oversized stdin, unreadable files)"),
    ("3", "config or API key (401/403)", "config error, or missing/rejected API key (401/403)"),
    ("4", "request rejected (other 4xx)", "the API rejected the request (other 4xx)"),
    ("5", "server failure (5xx, in-stream error)", "server failure (5xx after retries, or an error event mid-stream)"),
    ("6", "network failure or timeout", "network failure or timeout (including 408 after retries)"),
    ("7", "broken stream", "broken stream (ended with neither `[DONE]` nor a finish reason, or undecodable)"),
    ("8", "rate limit (429) or out of credit (402)", "rate limited after retries (429) or out of credit (402)"),
    ("9", "stopped at a tool budget with tool calls unrun",
     "the reply stopped at a tool budget with tool calls nobody ran"),
    ("10", "the reply did not match --schema",
     "the reply did not match `--schema` after its re-asks (stdout stays empty)"),
    ("N", "after otchat cmd ran a command: its status",
     "after `otchat cmd` ran a command (`e`, or Enter after `m`): that command's exit status (killed by"
     " signal N: 128 + N)"),
    ("130", "interrupted", "Ctrl-C (the partial reply stays printed and logged)"),
    ("141", "stdout closed", "stdout was closed (`otchat … | head -1`); nothing is printed"),
    ("129 / 143", "SIGHUP/SIGTERM", "SIGHUP / SIGTERM (the partial reply is logged)"),
)


def exit_status_summary() -> str:
    """The exit statuses in one paragraph, for --help."""
    return "Exit status: " + ", ".join(f"{code.replace(' ', '')} {short}" for code, short, _ in EXIT_STATUS) + "."


class OtchatError(Exception):
    """An error the user should see as one line; `exit_code` says how the process ends."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(OtchatError):
    """Bad flags or bad input (stdin, files)."""

    exit_code = ExitCode.USAGE


class ConfigError(OtchatError):
    """A broken config file, or no usable API key."""

    exit_code = ExitCode.CONFIG


class APIError(OtchatError):
    """The server answered with an error; the exit code follows the status."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.exit_code = exit_code_for_status(status)


class StreamError(OtchatError):
    """The stream broke off, or carried something undecodable."""

    exit_code = ExitCode.BAD_STREAM


class NetworkError(OtchatError):
    """No connection, or no data within the timeout."""

    exit_code = ExitCode.NETWORK


class ToolBudgetError(OtchatError):
    """The reply stopped with tool calls nobody will run."""

    exit_code = ExitCode.TOOL_BUDGET


class TurnCut(BaseException):
    """A turn that ended early: `cause` (an OtchatError, Ctrl-C, SIGTERM...) and the `partial`
    reply (a TurnResult) of what arrived before it. The engine raises it; the front door
    keeps the partial reply, then raises `cause` on to the error boundary."""

    def __init__(self, partial: TurnResult, cause: BaseException) -> None:
        super().__init__(partial, cause)
        self.partial = partial
        self.cause = cause


class Terminated(BaseException):
    """Raised from a SIGTERM/SIGHUP handler, so `finally` blocks still run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.exit_code = 128 + signum


def exit_code_for_status(status: int | None) -> ExitCode:
    if status is None:
        return ExitCode.API_FAILURE
    if status in (401, 403):
        return ExitCode.CONFIG
    if status in (402, 429):
        return ExitCode.RATE_LIMIT
    if status == 408:
        return ExitCode.NETWORK
    if 400 <= status < 500:
        return ExitCode.API_REJECTED
    return ExitCode.API_FAILURE
