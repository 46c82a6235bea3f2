"""`otchat models`: GET {base_url}/models, cached for a day in the data dir."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ..config.resolve import Flags, Settings
from ..env import Env
from ..errors import APIError, ExitCode, StreamError
from ..seams import JSON
from ..store.catalog import cache_path, cached, model_id, store
from .group import env_of
from .options import BaseUrlOpt, ProfileOpt


def models(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Print the server's list as JSON.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ignore the day-old cache.")] = False,
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show the HTTP exchange on stderr.")] = False,
) -> int:
    """List the models the endpoint offers (GET {base_url}/models)."""
    flags = Flags(profile=profile, base_url=base_url)
    return list_models(env_of(ctx), flags, as_json=json_, refresh=refresh, verbose=verbose)


def list_models(env: Env, flags: Flags, *, as_json: bool, refresh: bool, verbose: bool = False) -> int:
    from ..prepare import load_settings

    settings = load_settings(env, flags)
    path = cache_path(env.data_dir)
    found = None if refresh else cached(path, settings.base_url)
    if found is None:
        found = fetch(env, settings, verbose)
        store(path, settings.base_url, found, env.warn)
    if as_json:
        env.stdout.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    elif env.stdout_isatty:
        print_table(env, found)
    else:
        env.stdout.write("".join(f"{model_id(m)}\n" for m in found))
    env.stdout.flush()
    return ExitCode.OK


def fetch(env: Env, settings: Settings, verbose: bool) -> list[JSON]:
    from ..runner import get_json
    from ..wire.request import auth_headers

    url = f"{settings.base_url}/models"
    try:  # a model list is no place for a hosted tool's long silence: a shorter read timeout
        data = get_json(env, settings, url, auth_headers(settings), verbose=verbose,
                        timeout=min(settings.timeout, 60.0))
    except APIError as exc:
        if exc.status in (404, 405):
            raise APIError(f"{settings.base_url} does not list models ({exc.status})", status=exc.status) from None
        raise
    except StreamError:
        raise StreamError(f"{url} did not answer with JSON") from None
    found = data.get("data") if isinstance(data, dict) else data
    if not isinstance(found, list):
        raise StreamError(f"{url} answered without a list of models")
    return found


def print_table(env: Env, found: list[Any]) -> None:
    from rich.table import Table

    from ..term.console import console_for

    rows = [m if isinstance(m, dict) else {"id": str(m)} for m in found]
    context = [_context_length(m) for m in rows]
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("id")
    table.add_column("owner")
    if any(context):
        table.add_column("context", justify="right")
    for row, length in zip(rows, context, strict=True):
        cells = [model_id(row), str(row.get("owned_by") or row.get("owner") or "")]
        if any(context):
            cells.append(f"{length:,}" if length else "")
        table.add_row(*cells)
    console_for(env).print(table)


def _context_length(model: dict[str, Any]) -> int | None:
    for key in ("context_length", "context_window", "max_context_length", "max_model_len"):
        value = model.get(key)
        if isinstance(value, int):
            return value
    return None
