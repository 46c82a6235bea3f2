"""TAB's URIs for `otchat mcp read SERVER <TAB>`: the server is started to list them (a few seconds at most)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..seams import JSON

if TYPE_CHECKING:
    from ..env import Env

START_TIMEOUT = 5.0


def uris(env: Env, config: Mapping[str, JSON], params: Mapping[str, object], incomplete: str) -> list[tuple[str, str]]:
    """(uri, name) of the named server's resources and templates that start with `incomplete`;
    nothing when no server is named, it does not start, or a URI could not be typed as a word."""
    from .hub import Hub
    from .resources import completions, listing
    from .specs import parse_command, specs_from_config

    server = params.get("server")
    if not isinstance(server, str):
        return []
    try:
        given = params.get("mcp_command")
        commands = [text for text in given if isinstance(text, str)] if isinstance(given, list) else []
        specs = specs_from_config(config.get("mcp", {}).get("servers", {})) + [parse_command(t) for t in commands]
        spec = next(spec for spec in specs if spec.name == server)
    except Exception:  # noqa: BLE001 (an unknown server or a broken config offers nothing; TAB never fails)
        return []
    hub = Hub([spec], dict(env.environ), start_timeout=START_TIMEOUT)
    try:
        hub.start()
        found = listing(hub, server) if server in hub.servers() else []
        offered = completions(hub, server, found, incomplete) if found else []
    except Exception:  # noqa: BLE001
        return []
    finally:
        hub.close()
    names = {item.uri: item.name for item in found}
    return [(uri, names.get(uri, "")) for uri in offered if uri.isprintable() and not any(c.isspace() for c in uri)]
