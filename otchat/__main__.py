"""`python -m otchat`."""

from .main import main

main()
