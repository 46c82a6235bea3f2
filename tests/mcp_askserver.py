"""A stdio MCP server that asks its client (the SDK's own server, so it speaks 2026-07-28: what it
asks comes back as an `input_required` result, answered by retrying the call): `greet` elicits a
name and a count; `sample` wants the client's model (sampling); `roots` wants its roots;
`chatty` logs a line (sent only to a client that asked for log lines)."""

from typing import Annotated

from mcp.server.mcpserver import Context, ElicitationResult, MCPServer
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample
from mcp.types import ListRootsResult, SamplingMessage, TextContent
from pydantic import BaseModel, Field

server = MCPServer("otchat-ask")


class Who(BaseModel):
    name: str = Field(description="Your name")
    times: int = Field(default=1, ge=1, le=5, description="How many greetings")
    loud: bool = False


def ask_who() -> Elicit[Who]:
    return Elicit("Who should be greeted?", Who)


@server.tool(description="Greet someone whose name the user gives.")
def greet(who: Annotated[ElicitationResult[Who], Resolve(ask_who)]) -> str:
    if who.action != "accept":
        return f"no greeting: the user chose {who.action}"
    hello = f"hello {who.data.name}" + ("!" if who.data.loud else "")
    return " ".join([hello] * who.data.times)


def ask_model() -> Sample:
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text="say hi"))], max_tokens=10)


@server.tool(description="Ask the client's model for a word.")
def sample(said: Annotated[object, Resolve(ask_model)]) -> str:
    return f"the model said {said}"


def ask_roots() -> ListRoots:
    return ListRoots()


@server.tool(description="List the client's roots.")
def roots(listed: Annotated[ListRootsResult, Resolve(ask_roots)], ctx: Context) -> str:
    return f"{len(listed.roots)} roots"


@server.tool(description="Log a line as it works.")
async def chatty(ctx: Context) -> str:
    await ctx.info("working on it")
    return "worked"


if __name__ == "__main__":
    server.run()
