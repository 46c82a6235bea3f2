"""`python -m otchat`."""

from .entry import entry

entry()
