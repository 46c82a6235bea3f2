"""`python -m otchat`."""

from .main import entry

entry()
