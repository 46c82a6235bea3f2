"""The event-stream reader: text in pieces cut anywhere → the `data` of each server-sent event."""

from __future__ import annotations


class EventData:
    """An incremental reader of a server-sent event stream: text in, in pieces cut
    anywhere; the `data` of each complete event out.

    Lines end at CR, LF or CRLF (a CRLF may be cut between two pieces), never at other
    line breaks such as U+2028, which JSON leaves unescaped inside strings. Only `data`
    fields matter to otchat: `event`, `id`, `retry` and comments (keep-alives) are skipped.
    """

    def __init__(self) -> None:
        self._partial: list[str] = []  # the start of a line not yet ended
        self._data: list[str] = []  # the data lines of the event not yet ended
        self._cr = False  # the last piece ended with CR: a LF first in the next one ends nothing

    def feed(self, text: str) -> list[str]:
        """The data of the events that `text` completes."""
        if self._cr and text[:1] == "\n":
            text = text[1:]
        self._cr = text[-1:] == "\r"
        if not text:
            return []
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) == 1:
            self._partial.append(text)
            return []
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        rest = lines.pop()
        if rest:
            self._partial.append(rest)
        return self._events(lines)

    def close(self) -> list[str]:
        """At the end of the stream: the data of an event left without its blank line."""
        lines = ["".join(self._partial), ""] if self._partial else [""]
        self._partial = []
        return self._events(lines)

    def _events(self, lines: list[str]) -> list[str]:
        # This loop runs once per line of the answer: the fields are read inline.
        out = []
        data = self._data
        for line in lines:
            if not line:  # a blank line ends an event
                if data:
                    out.append(data[0] if len(data) == 1 else "\n".join(data))
                    data.clear()
            elif line[0] != ":":  # ":" starts a comment
                field, _, value = line.partition(":")
                if field == "data":
                    data.append(value[1:] if value[:1] == " " else value)
        return out
