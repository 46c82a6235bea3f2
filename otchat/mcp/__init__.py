"""Local MCP servers: their specs from config and flags, and the hub that runs them."""
