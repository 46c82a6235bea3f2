"""The terminal: sinks that draw events, the REPL, slash commands, prompts."""
