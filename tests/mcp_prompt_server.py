"""A small stdio MCP server with the prompts server-everything lacks: several roles in one
prompt, an image, and text with control characters in it. Run `python tests/mcp_prompt_server.py`."""

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import AssistantMessage, UserMessage
from mcp.types import ImageContent

server = MCPServer("otchat-prompts")


@server.prompt(description="Turns of both roles: two user lines, a reply, two more user lines.")
def dialogue(topic: str) -> list[UserMessage | AssistantMessage]:
    return [UserMessage("You are a careful reviewer."), UserMessage(f"We talk about {topic}."),
            AssistantMessage("Understood."), AssistantMessage("Go on."),
            UserMessage("First question:"), UserMessage(f"what is {topic}?")]


@server.prompt(description="Says \x1b[31mred\x1b[0m\x1b]0;title\x07 on purpose.")
def hostile() -> list[UserMessage]:
    return [UserMessage("look \x1b[2J here"),
            UserMessage(ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png"))]


@server.prompt(description="Ends with the assistant's turn.")
def answered() -> list[UserMessage | AssistantMessage]:
    return [UserMessage("hi"), AssistantMessage("hello")]


if __name__ == "__main__":
    server.run()
