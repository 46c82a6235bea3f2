"""What otchat never prints whole: secret headers, secret config keys, the API key (masked)."""

from __future__ import annotations

SECRET_WORDS = ("authorization", "key", "token", "secret", "password", "cookie")


def is_secret(dotted: str) -> bool:
    """Keys whose values `config list` masks (header values that carry credentials)."""
    return ".headers." in f".{dotted.lower()}" and is_secret_header(dotted.rsplit(".", 1)[-1])


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def shown_header(name: str, value: str) -> str:
    """A header value as otchat may print it: credentials become `Bearer ***` or `***`."""
    if not is_secret_header(name):
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} ***" if rest and scheme.lower() in ("bearer", "basic", "token") else "***"


def mask(secret: str) -> str:
    """`sk-…abcd`: enough to recognise a key, never enough to use it."""
    if len(secret) < 12:
        return "***"
    prefix = secret[:3] if secret[2:3] in ("-", "_") else ""
    return f"{prefix}…{secret[-4:]}"
