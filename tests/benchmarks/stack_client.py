"""The stack's floor: the least a client built on otchat's own stack does to stream an answer.

typer parses the prompt, httpx2 streams one request, the deltas go to stdout as they come.
What otchat takes beyond this is otchat's own; below it is the stack's.
    OTCHAT_BASE_URL=URL python tests/benchmarks/stack_client.py PROMPT...
"""

import json
import os
import sys

import httpx2
import typer


def main(prompt: list[str]) -> None:
    url = os.environ["OTCHAT_BASE_URL"].rstrip("/") + "/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": " ".join(prompt)}], "stream": True}
    headers = {"Authorization": f"Bearer {os.environ.get('OPENTOOLS_API_KEY', 'none')}"}
    with httpx2.Client(timeout=300) as client, client.stream("POST", url, json=body, headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                choices = json.loads(line[6:])["choices"]
                sys.stdout.write((choices and choices[0]["delta"].get("content")) or "")
                sys.stdout.flush()
    sys.stdout.write("\n")


if __name__ == "__main__":
    typer.run(main)
