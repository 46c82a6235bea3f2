"""The exception tree and the exit codes it maps to (design.md §2), in one place."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


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
    SIGHUP = 129
    INTERRUPTED = 130
    SIGTERM = 143


class OtchatError(Exception):
    """An error the user should see as one line; `exit_code` says how the process ends."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The reply received before the failure, if any (a TurnResult); kept for the caller.
        self.partial: Any = None

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
