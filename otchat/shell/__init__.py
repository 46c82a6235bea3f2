"""Code that meets the user's shell: TAB completion, the generated docs, the key-binding snippets."""
