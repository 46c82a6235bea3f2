"""The library floor of the terminal cases: rich alone renders the whole markdown text at
once onto the terminal (no stream, no HTTP), as fast as rich can show that text at all."""

import sys

from rich.console import Console
from rich.markdown import Markdown

from tests.benchmarks.texts import markdown_answer

if __name__ == "__main__":
    Console().print(Markdown(markdown_answer(int(sys.argv[1]))))
