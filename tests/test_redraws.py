"""How often the live markdown tail is redrawn while a reply trickles in, on a scripted clock."""

import io
import time

import pyte
from rich.console import Console

from otchat.term.live import MarkdownStream

# A frame here is 100 (scripted) seconds, so the watcher, armed once, sleeps through the
# test (its sleeps are real, capped at 60 s) and never paints: every redraw is counted.
FRAME = 100.0
TEXT = "".join(f"Paragraph {n} says a few words about otters.\n\n" for n in range(12))


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Writes(io.StringIO):
    """The terminal: one write per print or refresh of the live display."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def write(self, text):
        self.count += 1
        return super().write(text)


def trickle(stream, clock, pieces, per_frame):
    """What a paced reader hands over: `per_frame` pieces at once, a frame apart."""
    frames = 0
    for start in range(0, len(pieces), per_frame):
        clock.now += FRAME
        frames += 1
        for piece in pieces[start : start + per_frame]:
            stream.feed(piece)
            stream.tick()
    return frames


def test_a_paced_trickle_is_redrawn_once_a_frame_and_wakes_the_watcher_once():
    clock, out = Clock(), Writes()
    console = Console(file=out, width=60, height=30, force_terminal=True, color_system=None)
    stream = MarkdownStream(console, clock=clock, interval=2 * FRAME, paint_interval=FRAME)
    pieces = [TEXT[i : i + 4] for i in range(0, len(TEXT), 4)]
    frames = trickle(stream, clock, pieces, per_frame=10)
    # One redraw a frame (its first piece; a commit's print is its redraw), however many
    # pieces the frame brought; the watcher was woken once, not once per piece.
    assert stream.redraws == frames
    assert out.count <= frames + 1  # each redraw is one write (and one hid the cursor)
    assert stream.wakeups == 1
    stream.close()
    screen = pyte.Screen(60, 60)
    pyte.Stream(screen).feed(out.getvalue().replace("\n", "\r\n"))
    shown = [line.rstrip() for line in screen.display if line.strip()]
    assert shown == [f"Paragraph {n} says a few words about otters." for n in range(12)]


class OnePrintAtATime(Console):
    """A terminal that notices two prints in progress at once (a slow write widens the window).

    rich's Live places its cursor for a print from the shape of the last render, under its
    lock, but renders and writes after it: two threads drawing at once (the reader's commit,
    the watcher's repaint) each move up over the same old tail, and the later one draws over
    lines the earlier one committed: finished lines vanish from the screen."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.active = 0
        self.overlaps = 0

    def print(self, *args, **kwargs):
        self.active += 1
        if self.active > 1:
            self.overlaps += 1
        try:
            time.sleep(0.08)
            super().print(*args, **kwargs)
        finally:
            self.active -= 1


def test_the_reader_and_the_watcher_never_draw_at_once():
    console = OnePrintAtATime(file=io.StringIO(), width=60, height=30, force_terminal=True, color_system=None)
    stream = MarkdownStream(console, clock=time.monotonic, interval=0.2, paint_interval=0.2)
    text = TEXT[: len(TEXT) // 2]
    try:
        for piece in [text[i : i + 12] for i in range(0, len(text), 12)]:
            stream.feed(piece)
            stream.tick()
            # Ticks well within a frame: one leaves the tail dirty (the watcher is armed),
            # a later one commits (a slow print) while the watcher's deadline passes.
            time.sleep(0.05)
    finally:
        stream.close()
    assert stream.wakeups > 0  # the watcher had its chances
    assert console.overlaps == 0
