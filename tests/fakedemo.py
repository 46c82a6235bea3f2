"""Scripted replies for the fake server run by hand: the first word of a message picks one."""

from __future__ import annotations

from typing import Any

from tests.fakeserver import Body, Stream, chunk, completion, error, text_chunks

HELP = """\
The first word of the last message picks a reply; anything else is echoed back:
  slow [SECONDS]      a long markdown answer streamed over SECONDS (default 10); try Ctrl-C
  think               reasoning (shown dim), then the answer
  tool                a hosted tool call (a panel on a terminal), then the answer
  tool NAME [JSON]    a call of your own tool NAME (--function, or an MCP server's SERVER__tool):
                      otchat prints it or runs it, and the reply quotes the result
  error STATUS        that HTTP error (401, 404, 429, 500, ...); 429 and 5xx are retried first
  cut                 a stream that breaks off mid-answer (exit 7)
otchat cmd gets a command: `find` for a request that mentions files or MB, else `ls -la`;
its `d` gets a short explanation."""

SLOW_TEXT = """\
# A slow answer

This reply arrives a few characters at a time, so you can watch otchat draw it:
finished blocks are printed **once**, and only the unfinished tail is redrawn.

## A list

- Ctrl-C stops the reply; what was shown stays on the screen, then `[interrupted]`.
- In the REPL you are back at the prompt; in one-shot otchat exits 130.
- Either way the partial reply is kept in the history, marked interrupted.

## Some code

```python
def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)
```

| model | speed |
|---|---|
| fake/slow | a few tokens a second |

That is all: the usage line comes next.
"""


def demo_reply(body: Any) -> Stream | Body | None:
    """The scripted reply a message asks for, or None to echo it."""
    if not isinstance(body, dict) or not body.get("messages"):
        return None
    stream = bool(body.get("stream"))
    last = body["messages"][-1]
    if not isinstance(last, dict):
        return None
    if last.get("role") == "tool":
        return _text(f"The tool answered:\n\n```\n{last.get('content')}\n```\n", stream)
    system = body["messages"][0] if isinstance(body["messages"][0], dict) else {}
    if system.get("role") == "system" and str(system.get("content")).startswith("You turn requests into shell"):
        return _text(_command_for(str(last.get("content") or "")), stream)
    words = str(last.get("content") or "").split(maxsplit=2)
    command = words[0].lower() if words else ""
    if command == "slow":
        seconds = float(words[1]) if len(words) > 1 and _is_number(words[1]) else 10.0
        events = text_chunks(SLOW_TEXT, 6, model="fake/slow")
        return Stream(events, piece_delay=seconds / len(events)) if stream else Body(completion(SLOW_TEXT))
    if command == "think":
        answer, thought = "The answer is 42.", "The user wants a demo of reasoning. Think, then answer briefly."
        if not stream:
            return Body({**completion(answer), "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": answer, "reasoning_content": thought}}]})
        return Stream(text_chunks(answer, reasoning=thought))
    if command == "tool":
        return _tool(words[1:], stream)
    if command == "error" and len(words) > 1 and words[1].isdigit():
        status = int(words[1])
        return error(status, {"error": {"message": f"a demo error with status {status}", "type": "demo"}},
                     headers={"Retry-After": "1"} if status in (429, 503) else None)
    if command == "cut":
        events = text_chunks("This answer breaks off in the middle of a sen", finish=None, usage=None)
        return Stream(events, done=False, complete=False) if stream else Body('{"choices": [')
    return None


def _tool(words: list[str], stream: bool) -> Stream | Body:
    if not words:  # a hosted tool: OpenTools ran it; the reply may show the call, then the answer
        call = {"index": 0, "id": "call_hosted", "type": "function",
                "function": {"name": "firecrawl__scrape", "arguments": '{"url": "https://example.com"}'}}
        answer = "example.com says it is *for use in illustrative examples*."
        if not stream:
            message = {"role": "assistant", "content": answer, "tool_calls": [call]}
            return Body({**completion(answer), "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
        return Stream([chunk({"role": "assistant", "tool_calls": [call]}), *text_chunks(answer)[1:]])
    arguments = words[1] if len(words) > 1 else "{}"
    call = {"id": "call_demo", "type": "function", "function": {"name": words[0], "arguments": arguments}}
    if not stream:
        return Body(completion("", finish="tool_calls", tool_calls=[call]))
    return Stream([chunk({"role": "assistant", "tool_calls": [{"index": 0, **call}]}), chunk({}, "tool_calls")])


def _command_for(request: str) -> str:
    """A fake `otchat cmd` model: a fenced command (otchat unwraps it), or an explanation for `d`."""
    if request.startswith("Explain briefly"):
        return ("- `find .` walks the current directory,\n- `-type f` keeps files,\n"
                "- `-size +100M` keeps those over 100 MiB.\n\nIt only lists; nothing is changed.")
    if any(word in request.lower() for word in ("file", "mb", "big")):
        return "```bash\nfind . -type f -size +100M\n```"
    return "`ls -la`"


def _text(text: str, stream: bool) -> Stream | Body:
    return Stream(text_chunks(text, 8)) if stream else Body(completion(text))


def _is_number(text: str) -> bool:
    try:
        return float(text) >= 0
    except ValueError:
        return False


def main() -> None:
    """`python -m tests.fakeserver`: the fake server with these scripted replies, until Ctrl-C."""
    import argparse

    from tests.fakeserver import FakeServer

    parser = argparse.ArgumentParser(description="A fake OpenTools server that echoes.", epilog=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long before every reply's first byte")
    args = parser.parse_args()
    server = FakeServer(args.port)
    server.script = demo_reply
    server.delay = args.delay
    print(f"fake OpenTools server on {server.url} (Ctrl-C stops it)\n{HELP}", flush=True)
    server.serve()
