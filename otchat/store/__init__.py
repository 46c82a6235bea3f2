"""The history: SQLite log, the recorder of turns, listings shared by commands and the REPL."""
