"""The commands: one module per command; the root app registers them, they never import it."""
