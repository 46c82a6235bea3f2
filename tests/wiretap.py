"""A stdio MCP server behind a tap: `python tests/wiretap.py LOG CMD ARGS...` runs CMD and passes
stdin and stdout through, writing every line the client sent to LOG (flushed at once), so a test
can see what otchat said to a real server (a notifications/cancelled, a response to its request)."""

import subprocess
import sys
import threading


def main() -> None:
    log_path, command = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None

    def down() -> None:
        out = sys.stdout.buffer
        for line in iter(child.stdout.readline, b""):
            out.write(line)
            out.flush()

    threading.Thread(target=down, daemon=True).start()
    with open(log_path, "ab", buffering=0) as log:
        for line in iter(sys.stdin.buffer.readline, b""):
            log.write(line)
            child.stdin.write(line)
            child.stdin.flush()
    child.stdin.close()
    child.wait()


if __name__ == "__main__":
    main()
