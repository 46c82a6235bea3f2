"""Drives a ColumnsView on the real terminal from two threads, as a comparison's workers would:
canned markdown streamed at different speeds (`python -m tests.columns_driver --help`)."""

from __future__ import annotations

import argparse
import threading
import time

from otchat.env import Env
from otchat.models import Error, TextDelta, TurnResult, Usage
from otchat.term.columns import ColumnsView
from otchat.term.console import console_for

SHORT = """## Model A says

Sunlight is **scattered** by the air; blue scatters most.

- Light enters the atmosphere.
- Short wavelengths scatter.

```python
print("blue")
```

Rayleigh scattering, in short.
"""


def long_answer(paragraphs: int) -> str:
    lines = ["## Model B says", ""]
    for n in range(1, paragraphs + 1):
        lines += [f"Point {n}: the second model goes on about the sky.", ""]
    return "\n".join(lines)


def stream(view: ColumnsView, index: int, text: str, delay: float, size: int, fail: bool) -> None:
    sink = view.sink(index)
    start = time.monotonic()
    for at in range(0, len(text), size):
        sink.handle(TextDelta(text[at:at + size]))
        sink.flush()
        time.sleep(delay)
    result = TurnResult(model=view_model(index), content=text, usage=Usage(12, len(text) // 4),
                        elapsed=time.monotonic() - start, finish_reason="stop")
    view.done(index, result, Error("500 Internal Server Error: overloaded", 5) if fail else None)


def view_model(index: int) -> str:
    return ["fake/model-a", "fake/model-b"][index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paragraphs", type=int, default=40, help="paragraphs of the second answer")
    parser.add_argument("--delay", type=float, default=0.01, help="seconds between two pieces of the second")
    parser.add_argument("--fail", action="store_true", help="the first model fails after its answer")
    args = parser.parse_args()
    env = Env.from_process()
    view = ColumnsView(console_for(env), [view_model(0), view_model(1)], clock=time.monotonic,
                       echo_off=env.echo_off)
    workers = [
        threading.Thread(target=stream, args=(view, 0, SHORT, 0.03, 5, args.fail), daemon=True),
        threading.Thread(target=stream, args=(view, 1, long_answer(args.paragraphs), args.delay, 7, False),
                         daemon=True),
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join()
    except KeyboardInterrupt:
        view.close(interrupted=True)
        raise SystemExit(130) from None
    view.close(interrupted=False)


if __name__ == "__main__":
    main()
