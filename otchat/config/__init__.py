"""Configuration: resolution of flags, environment and file; schema; file editing; keys; redaction."""
