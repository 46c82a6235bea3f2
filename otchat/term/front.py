"""The terminal as a run's front (`seams.Front`): the sinks, boards, spinner and approval that
show a run's answers for the output asked for, on this Env's streams."""

from __future__ import annotations

from ..env import Env
from ..models import Prose
from ..plan import Output
from ..seams import Approve, Board, McpUi, TurnSink, Waiting


class TermFront:
    def __init__(self, env: Env, output: Output) -> None:
        self.env = env
        self.output = output

    def reply_sink(self, prose: Prose, model: str | None = None) -> TurnSink:
        from .output import make_sink

        o = self.output
        return make_sink(self.env, o.format, usage=o.usage, verbose=o.verbose, prose=prose, model=model)

    def code_sink(self, last: bool) -> TurnSink:
        from .code import CodeSink

        return CodeSink(self.env, last=last, usage=self.output.usage)

    def waiting(self) -> Waiting:
        from .jsonout import Waiting

        return Waiting(self.env)

    def board(self, models: list[str], prose: Prose) -> Board:
        from .boards import make_board

        return make_board(self.env, models, self.output, self.env.clock, prose=prose)

    def approver(self, auto: bool | list[str]) -> Approve:
        from .prompts import Approver

        return Approver(self.env, auto)

    def mcp_ui(self) -> McpUi:
        from .mcpui import TermMcpUi

        return TermMcpUi(self.env, verbose=self.output.verbose)
