"""What keeps a proposed shell command from being one visible command: chat-template tokens,
several command lines, characters a terminal does not show (pure functions; `cmd` warns).

The line count leans one way on purpose: where this reading of the shell and the shell's own
could differ, it counts a line the shell would not (a needless warning), never the reverse
(a second command let through unwarned).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Chat-template tokens a model may leak into its reply: `<|...|>` of ChatML, Llama 3, Phi,
# gpt-oss and DeepSeek (with its full-width bars), Gemma's turns, Llama 2 / Mistral's [INST].
TOKENS = re.compile(
    r"<[|｜][\w▁.:-]{1,40}[|｜]>"
    r"|<(?:start|end)_of_turn>|<bos>|<eos>|</?tool_call>"
    r"|\[/?INST\]|<</?SYS>>"
)
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}
ANSI_C_SHELLS = ("bash", "zsh", "ksh", "mksh")  # where $'...' takes backslash escapes
COMMAND_CONTEXTS = ("top", "(", "$(", "`")  # where a newline ends a command
ARITHMETIC = ("((", "a(", "$[")
SHOWN_AT_MOST = 5


@dataclass(frozen=True)
class Finding:
    kind: str  # "token", "character" or "lines"
    text: str  # what was found and where: "a zero-width character U+200B (ZERO WIDTH SPACE) at column 12"
    offset: int

    def warning(self) -> str:
        return f"the command holds {self.text}"


def hidden_kind(char: str) -> str | None:
    """What a character is when a terminal would not show it as itself (tab and newline are shown)."""
    if char in "\t\n":
        return None
    category, code = unicodedata.category(char), ord(char)
    if category == "Cc":
        return "a control character"
    if code in BIDI:
        return "a bidi control character"
    if category == "Cf":
        return "a zero-width character" if code in ZERO_WIDTH else "an invisible format character"
    if category in ("Zl", "Zp"):
        return "a line separator"
    if category == "Cs":
        return "a lone surrogate"
    return None


def shown(text: str) -> str:
    """`text` with each character `hidden_kind` names written as `<U+XXXX>`, so it can be seen:
    stronger than `text.visible` (which leaves bidi and zero-width characters, harmless in
    prose), for what is about to run or be approved."""
    return "".join(f"<U+{ord(c):04X}>" if hidden_kind(c) else c for c in text)


def findings(command: str, shell: str = "sh") -> list[Finding]:
    """Everything that makes `command` more than one visible command, in the order it stands."""
    found = [Finding("token", f"a chat-template token {shown(m.group())} at {_where(command, m.start())}", m.start())
             for m in TOKENS.finditer(command)]
    for offset, char in enumerate(command):
        kind = hidden_kind(char)
        if kind:
            name = unicodedata.name(char, "")
            label = f"{kind} U+{ord(char):04X}" + (f" ({name})" if name else "")
            found.append(Finding("character", f"{label} at {_where(command, offset)}", offset))
    starts = command_lines(command, shell)
    if len(starts) > 1:
        line = command.count("\n", 0, starts[1]) + 1
        found.append(Finding("lines", f"{len(starts)} command lines, not one: the second begins at line {line}",
                             starts[1]))
    return sorted(found, key=lambda finding: finding.offset)


def warnings(found: list[Finding]) -> list[str]:
    """One line per finding, at most a few (then how many more)."""
    lines = [finding.warning() for finding in found[:SHOWN_AT_MOST]]
    if len(found) > SHOWN_AT_MOST:
        lines.append(f"… and {len(found) - SHOWN_AT_MOST} more")
    return lines


def _where(text: str, offset: int) -> str:
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {column}" if "\n" in text else f"column {column}"


def command_lines(command: str, shell: str = "sh") -> list[int]:
    """Where each command line of `command` begins: lines joined by `\\` are one, and so is a
    newline inside a quoted string or a here-document's body; blank and comment lines are none."""
    return _Lexer(command, shell).run()


class _Lexer:
    """A small reading of POSIX-shell (and fish) quoting: enough to tell which newlines end a command."""

    def __init__(self, text: str, shell: str) -> None:
        self.text = text
        self.fish = shell == "fish"
        self.ansi_c = shell in ANSI_C_SHELLS
        self.stack = ["top"]
        self.heredocs: list[str] = []  # the delimiters of here-documents awaiting their bodies
        self.starts: list[int] = []
        self.line_start = 0
        self.content = False  # the current line holds more than blank space and comments
        self.word_start = True

    def run(self) -> list[int]:
        i = 0
        while i < len(self.text):
            i = self.step(i)
        if self.content:
            self.starts.append(self.line_start)
        return self.starts

    def step(self, i: int) -> int:
        char, inner = self.text[i], self.stack[-1]
        if char == "\n":
            return self.newline(i) if inner not in ("'", '"', "$'") else i + 1
        if char not in " \t":
            self.content = self.content or not (char == "#" and self.word_start and inner in COMMAND_CONTEXTS)
        if inner in COMMAND_CONTEXTS:
            return self.command(i, char)
        if inner == "'":
            return self.single(i, char)
        if inner == "$'":
            return i + 2 if char == "\\" else self.pop(i + 1) if char == "'" else i + 1
        if inner == '"':
            return i + 2 if char == "\\" else self.pop(i + 1) if char == '"' else self.expansion(i)
        if inner == "${":
            return self.pop(i + 1) if char == "}" else self.quote_or_expansion(i, char)
        return self.arithmetic(i, char, inner)

    def pop(self, i: int) -> int:
        if len(self.stack) > 1:
            self.stack.pop()
        return i

    def push(self, context: str, i: int) -> int:
        self.stack.append(context)
        return i

    def command(self, i: int, char: str) -> int:
        text, inner = self.text, self.stack[-1]
        word_start, self.word_start = self.word_start, char in " \t;&|<>()"
        if char == "#" and word_start:
            end = text.find("\n", i)
            return len(text) if end < 0 else end
        if char == "(" and text.startswith("((", i):
            return self.push("((", i + 2)
        if char == "(":
            return self.push("(", i + 1)
        if char == ")":
            return self.pop(i + 1) if inner in ("(", "$(") else i + 1
        if char == "`":
            return self.pop(i + 1) if inner == "`" else self.push("`", i + 1)
        if text.startswith("<<<", i):
            return i + 3
        if text.startswith("<<", i) and not self.fish:
            return self.heredoc(i + 2)
        return self.quote_or_expansion(i, char)

    def quote_or_expansion(self, i: int, char: str) -> int:
        if char == "\\":
            return i + 2
        if char == "'":
            return self.push("'", i + 1)
        if char == '"':
            return self.push('"', i + 1)
        if self.text.startswith("$'", i):
            return self.push("$'" if self.ansi_c else "'", i + 2)
        return self.expansion(i)

    def expansion(self, i: int) -> int:
        """`$((`, `$[`, `$(`, `${` and backquotes open a context of their own, in or out of a string."""
        text = self.text
        for opener, context in (("$((", "(("), ("$[", "$["), ("$(", "$("), ("${", "${"), ("`", "`")):
            if text.startswith(opener, i):
                return self.push(context, i + len(opener))
        return i + 1

    def single(self, i: int, char: str) -> int:
        if self.fish and char == "\\" and self.text[i + 1: i + 2] in ("\\", "'"):
            return i + 2  # fish's single quotes take \' and \\
        return self.pop(i + 1) if char == "'" else i + 1

    def arithmetic(self, i: int, char: str, inner: str) -> int:
        if inner == "$[":
            return self.pop(i + 1) if char == "]" else self.push("$[", i + 1) if char == "[" \
                else self.quote_or_expansion(i, char)
        if char == "(":
            return self.push("a(", i + 1)
        if char == ")":
            closes_both = inner == "((" and self.text.startswith("))", i)
            return self.pop(i + (2 if closes_both else 1))
        return self.quote_or_expansion(i, char)

    def newline(self, i: int) -> int:
        """A newline outside strings ends a line (in arithmetic too: counting one too many is safe),
        then come the bodies of the here-documents that line opened."""
        if self.content:
            self.starts.append(self.line_start)
        self.line_start, self.content, self.word_start = i + 1, False, True
        if not self.heredocs or self.stack[-1] not in COMMAND_CONTEXTS:
            return i + 1
        end = self.bodies(i + 1)
        self.heredocs.clear()
        if end is None:  # a body never closed: read on as commands rather than trust it
            return i + 1
        self.line_start = end
        return end

    def bodies(self, pos: int) -> int | None:
        """Where the pending here-document bodies end, or None when one never does. A body ends at
        the first line that starts (after blank space) with its delimiter: no later than the shell."""
        text = self.text
        for delimiter in self.heredocs:
            while True:
                if pos >= len(text):
                    return None
                end = text.find("\n", pos)
                end = len(text) if end < 0 else end
                line, pos = text[pos:end], end + 1
                if line.lstrip(" \t").startswith(delimiter):
                    break
        return min(pos, len(text))

    def heredoc(self, i: int) -> int:
        """`<<WORD`, `<<-WORD`, `<<'WORD'`…: note the delimiter; its body follows the line's end."""
        text = self.text
        j = i + 1 if text.startswith("-", i) else i  # <<-: leading tabs go (any blank space ends it here)
        while j < len(text) and text[j] in " \t":
            j += 1
        word = []
        while j < len(text) and text[j] not in " \t\n;&|()<>":
            char = text[j]
            if char in "'\"":
                close = text.find(char, j + 1)
                if close < 0 or "\n" in text[j:close]:
                    return i  # no delimiter here: read the rest as it stands
                word.append(text[j + 1: close].replace("\\", "") if char == '"' else text[j + 1: close])
                j = close + 1
            elif char == "\\":
                word.append(text[j + 1: j + 2])
                j += 2
            else:
                word.append(char)
                j += 1
        if "".join(word):
            self.heredocs.append("".join(word))
        self.word_start = False
        return j
