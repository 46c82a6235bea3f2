"""A hand-written stdio MCP server of the 2025-11-25 era (no SDK: it sends what an SDK server would
refuse to). Tools: `sample` sends sampling/createMessage and `roots` roots/list mid-call, whatever
the client declared, and answer with the client's reply as it came; `grow` adds a tool and says
notifications/tools/list_changed; `shout` sends a log message with control characters in it."""

import json
import sys

TOOLS = ["sample", "roots", "grow", "shout"]


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def tool(name: str) -> dict:
    return {"name": name, "description": f"the {name} tool", "inputSchema": {"type": "object", "properties": {}}}


def reply_to(request_id: object, text: str) -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}})


def ask_client(method: str, params: dict) -> dict:
    """Send the client a request and wait for its response (nothing else comes meanwhile)."""
    send({"jsonrpc": "2.0", "id": f"ask-{method}", "method": method, "params": params})
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("id") == f"ask-{method}" and "method" not in message:
            return message
    return {}


def call(request_id: object, name: str) -> None:
    if name == "sample":
        params = {"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 5}
        reply_to(request_id, json.dumps(ask_client("sampling/createMessage", params)))
    elif name == "roots":
        reply_to(request_id, json.dumps(ask_client("roots/list", {})))
    elif name == "grow":
        TOOLS.append(f"grown{len(TOOLS)}")
        send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        reply_to(request_id, f"now {len(TOOLS)} tools")
    elif name == "shout":
        send({"jsonrpc": "2.0", "method": "notifications/message",
              "params": {"level": "warning", "logger": "raw", "data": "red \x1b[31malert\x1b[0m\x07 done"}})
        reply_to(request_id, "shouted")
    else:
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32602, "message": f"no tool {name}"}})


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if request_id is None:
            continue  # a notification
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": request_id, "result": {
                "protocolVersion": "2025-11-25", "serverInfo": {"name": "raw", "version": "1"},
                "capabilities": {"tools": {"listChanged": True}, "logging": {}}}})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": request_id, "result": {"tools": [tool(name) for name in TOOLS]}})
        elif method == "tools/call":
            call(request_id, message["params"]["name"])
        else:  # server/discover among them: this server is of the older era
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "Method not found"}})


if __name__ == "__main__":
    main()
