"""How often the live markdown tail is redrawn while a reply trickles in, on a scripted clock."""

import io

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
