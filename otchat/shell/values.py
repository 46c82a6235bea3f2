"""The values otchat offers on TAB for an option or argument (models, profiles, history ids, ...).

typer calls each with the click context and the word being completed; they read config.toml
or the model cache, and only history ids open history.db.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click  # at run time: typer reads the completers' annotations (click is loaded by then)

from ..seams import JSONObject
from ..text import visible

if TYPE_CHECKING:
    from ..env import Env

# Value completers: typer calls them with the click context and the incomplete word.


def _env(ctx: click.Context) -> Env:
    from ..commands.group import env_of

    return env_of(ctx)


def _config(ctx: click.Context) -> JSONObject:
    from ..config.resolve import config_path, load_file

    try:
        return load_file(config_path(_env(ctx).config_dir))
    except Exception:  # noqa: BLE001 (a broken config file offers no values; TAB never fails)
        return {}


def models(ctx: click.Context, incomplete: str) -> list[str]:
    from ..store.catalog import cached_ids

    names = [*_config(ctx).get("aliases", {}), *cached_ids(_env(ctx).data_dir)]
    return [name for name in dict.fromkeys(names) if name.startswith(incomplete)]


def profiles(ctx: click.Context, incomplete: str) -> list[str]:
    return [name for name in _config(ctx).get("profiles", {}) if name.startswith(incomplete)]


def roles(ctx: click.Context, incomplete: str) -> list[str]:
    return [name for name in _config(ctx).get("roles", {}) if name.startswith(incomplete)]


def tools(ctx: click.Context, incomplete: str) -> list[str]:
    return [ref for ref in _config(ctx).get("tools", []) if ref.startswith(incomplete)]


def config_keys(ctx: click.Context, incomplete: str) -> list[str]:
    """Known top-level keys, plus every dotted key the file already has."""
    from ..config import file as configfile
    from ..config import schema

    data = _config(ctx)
    keys = [*schema.TOP, *(dotted for dotted, _ in configfile.flatten(data))]
    for table in ("profiles", "roles"):
        keys += [f"{table}.{name}." for name in data.get(table, {})]
    keys += ["aliases.", "profiles.", "roles."]
    return [key for key in dict.fromkeys(keys) if key.startswith(incomplete)]


def history_ids(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    from ..store.db import DB_NAME, Store

    env = _env(ctx)
    if not (env.data_dir / DB_NAME).exists():
        return []
    try:
        with Store(env.data_dir / DB_NAME) as store:
            rows = store.conversations(200)
    except Exception:  # noqa: BLE001 (an unreadable history offers no ids; TAB never fails)
        return []
    # The shell draws these descriptions on the terminal: stored text, shown visibly.
    return [(c.id[:8], visible(c.title)) for c in rows if c.id.startswith(incomplete)]


def branch_leaves(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    """The branch ends of the conversation named before (`history switch ID LEAF`): their
    numbers, each with the first words of its last message."""
    from ..store.db import DB_NAME, Store
    from ..store.views import first_words

    env, ref = _env(ctx), ctx.params.get("cid")
    if not ref or not (env.data_dir / DB_NAME).exists():
        return []
    digits = incomplete.lstrip("#")
    try:
        with Store(env.data_dir / DB_NAME) as store:
            leaves = store.leaves(store.resolve(ref))
    except Exception:  # noqa: BLE001 (an unknown id or unreadable history offers nothing; TAB never fails)
        return []
    return [(str(m.id), visible(f"{m.role}: {first_words(m.content, 6)}")) for m in leaves
            if str(m.id).startswith(digits)]


def mcp_servers(ctx: click.Context, incomplete: str) -> list[str]:
    """The configured MCP servers' names (and those of the --mcp-command given before)."""
    from ..mcp.specs import parse_command

    names = list(_config(ctx).get("mcp", {}).get("servers", {}))
    for text in ctx.params.get("mcp_command") or []:
        try:
            names.append(parse_command(text).name)
        except Exception:  # noqa: BLE001 (a half-typed command offers nothing; TAB never fails)
            continue
    return [name for name in dict.fromkeys(names) if name.startswith(incomplete)]


def resource_uris(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    """The resources and templates of the server named before (`mcp read SERVER URI`): this starts it."""
    from ..mcp.complete import uris

    return [(uri, visible(name)) for uri, name in uris(_env(ctx), _config(ctx), ctx.params, incomplete)]


def mcp_prompts(ctx: click.Context, incomplete: str) -> list[str]:
    """SERVER:NAME of the prompts of the configured servers whose name `incomplete` starts (or
    that starts `incomplete`): those servers are started for it, given 5 s."""
    from ..mcp.hub import Hub
    from ..mcp.prompts import list_prompts
    from ..mcp.specs import specs_from_config

    server = incomplete.partition(":")[0]
    specs = [spec for spec in specs_from_config(_config(ctx).get("mcp", {}).get("servers", {}))
             if spec.name.startswith(server) and (":" not in incomplete or spec.name == server)]
    if not specs:
        return []
    hub = Hub(specs, dict(_env(ctx).environ), start_timeout=5)
    try:
        hub.start()
        refs = [prompt.ref for name in hub.servers() for prompt in list_prompts(hub, name, 5)]
    except Exception:  # noqa: BLE001 (a server that fails offers nothing; TAB never fails)
        return []
    finally:
        hub.close()
    return [visible(ref) for ref in refs if ref.startswith(incomplete)]
