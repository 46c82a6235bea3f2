"""A session nobody watches (`otchat mcp tools`): its `seams.McpUi`."""

from __future__ import annotations

from ..seams import Answer, Elicitation


class NoUi:
    """Elicitations are declined; progress, log lines and notes go unseen."""

    def elicit(self, request: Elicitation) -> Answer:
        return Answer("decline")

    def progress(self, function: str, done: float, total: float | None, message: str | None) -> None:
        pass

    def progress_end(self) -> None:
        pass

    def log(self, server: str, level: str, text: str) -> None:
        pass

    def note(self, line: str) -> None:
        pass
