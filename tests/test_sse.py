"""The event-stream reader: lines at CR, LF or CRLF wherever the pieces are cut, data fields out."""

from hypothesis import given, settings
from hypothesis import strategies as st

from otchat.wire.sse import EventData


def read(*pieces):
    reader = EventData()
    out = []
    for piece in pieces:
        out += reader.feed(piece)
    return out + reader.close()


def test_lf_cr_and_crlf_each_end_a_line():
    assert read("data: a\n\ndata: b\r\rdata: c\r\n\r\n") == ["a", "b", "c"]


def test_a_crlf_cut_between_two_pieces_is_one_line_end():
    assert read("data: a\r", "\ndata: b\r\n\r", "\n") == ["a\nb"]
    assert read("data: a\r", "\n", "\r\n") == ["a"]  # CR | LF | CRLF: one line, then a blank one


def test_other_line_breaks_are_text():
    # JSON may carry U+2028, U+2029, NEL, VT and FF unescaped inside its strings.
    text = '{"content": "a\u2028b\u2029c\x85d\x0be\x0cf"}'
    assert read(f"data: {text}\n\n") == [text]


def test_fields_comments_and_several_data_lines():
    stream = ": keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata:x\ndata: y\ndata\n\n"
    assert read(stream) == ["x\ny\n"]


def test_a_line_cut_into_many_pieces():
    line = "data: " + "z" * 50 + "\n\n"
    assert read(*line) == ["z" * 50]


def test_an_event_left_without_its_blank_line_is_taken_at_the_end():
    assert read("data: a\n\ndata: last") == ["a", "last"]
    assert read("data: a\n\ndata: last\n") == ["a", "last"]
    assert read("data: a\n\n: comment") == ["a"]


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.lists(st.text().map(lambda t: t.replace("\r", "").replace("\n", "")), min_size=1,
                                max_size=3), max_size=8),
       ends=st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=1), cuts=st.lists(st.integers(0, 400)))
def test_any_line_ends_and_any_cuts_give_the_same_events(events, ends, cuts):
    out, i = [], 0
    for lines in events:
        for line in lines + [None]:
            piece = ("" if line is None else f"data: {line}") + ends[i % len(ends)]
            if out and out[-1].endswith("\r") and piece.startswith("\n"):
                piece = "\r" + piece[1:]  # CR then LF would be one line end, not two
            out.append(piece)
            i += 1
    stream = "".join(out)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True) if stream[a:b]]
    assert read(*pieces) == ["\n".join(lines) for lines in events]
