"""What a person sees: otchat in a real pseudo-terminal, its screen read back with pyte."""

import pexpect
import pyte

from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import Stream, text_chunks, tool_call_chunks

ANSWER = """## Why the sky is blue

Sunlight is **scattered** by the air; blue light scatters the most.

1. Light enters the atmosphere.
2. Short wavelengths scatter.

```python
def colour(wavelength):
    return "blue" if wavelength < 500 else "red"
```

## In short

Rayleigh scattering.
"""

ROWS, COLS = 60, 90


def run_in_pty(server, home, *args, env=None):
    extra = {"OTCHAT_BASE_URL": server.url, "OPENTOOLS_API_KEY": KEY, "TERM": "xterm-256color", **(env or {})}
    child = pexpect.spawn(str(OTCHAT), list(args), env=clean_environ(home, **extra), dimensions=(ROWS, COLS),
                          timeout=30)
    raw = child.read()  # until EOF
    child.close()
    screen = pyte.Screen(COLS, ROWS)
    pyte.ByteStream(screen).feed(raw)
    return child.exitstatus, [line.rstrip() for line in screen.display], raw


def test_markdown_is_rendered_not_shown_raw(server, home):
    server.enqueue(Stream(text_chunks(ANSWER, 3), piece_delay=0.001))
    code, lines, raw = run_in_pty(server, home, "why is the sky blue")
    text = "\n".join(lines)
    assert code == 0
    assert "Why the sky is blue" in text and "In short" in text
    assert "return \"blue\" if wavelength < 500" in text
    assert "##" not in text and "```" not in text and "**" not in text
    assert text.count("Rayleigh scattering.") == 1 and text.count("Short wavelengths scatter.") == 1
    assert "11 in · 22 out" in text  # the dim usage line
    assert KEY.encode() not in raw


def test_tool_calls_are_panels(server, home):
    server.enqueue(Stream(tool_call_chunks([("firecrawl_scrape", '{"url": "https://example.com"}')],
                                           text="Let me look.")))
    code, lines, _ = run_in_pty(server, home, "-t", "firecrawl", "look")
    text = "\n".join(lines)
    assert code == 9
    assert "tool call · firecrawl_scrape" in text and '"url": "https://example.com"' in text
    assert "╭" in text  # drawn as a panel


def test_term_dumb_gets_plain_text(server, home):
    server.enqueue(Stream(text_chunks("## Raw heading\n", 3)))
    code, lines, raw = run_in_pty(server, home, "hi", env={"TERM": "dumb"})
    assert code == 0 and "## Raw heading" in "\n".join(lines) and b"\x1b[" not in raw


def test_input_placeholder_with_a_terminal_on_stdin_is_refused(server, home):
    code, lines, _ = run_in_pty(server, home, "translate {input} to French")
    text = "\n".join(lines)
    assert code == 2 and "otchat: error: the prompt has {input}" in text and server.requests == []
