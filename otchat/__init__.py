"""otchat: the command-line chat client for the OpenTools API."""

__version__ = "0.1.0"
