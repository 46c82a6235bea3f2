"""Code that meets the user's shell: the key-binding snippets of `otchat shell-integration`."""
