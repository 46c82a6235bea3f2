"""`otchat models`: GET {base_url}/models, cached for a day in the data dir."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..config.resolve import Flags
from ..env import Env
from ..errors import APIError, ExitCode, StreamError

CACHE_NAME = "models.json"
MAX_AGE = 24 * 3600


def cache_path(data_dir: Path) -> Path:
    return data_dir / CACHE_NAME


def list_models(env: Env, flags: Flags, *, as_json: bool, refresh: bool, verbose: bool = False) -> int:
    from ..runner import load_settings

    settings = load_settings(env, flags)
    path = cache_path(env.data_dir)
    models = None if refresh else cached(path, settings.base_url)
    if models is None:
        models = fetch(env, settings, verbose)
        store(env, path, settings.base_url, models)
    if as_json:
        env.stdout.write(json.dumps(models, indent=2, ensure_ascii=False) + "\n")
    elif env.stdout_isatty:
        print_table(env, models)
    else:
        env.stdout.write("".join(f"{model_id(m)}\n" for m in models))
    env.stdout.flush()
    return ExitCode.OK


def fetch(env: Env, settings: Any, verbose: bool) -> list[Any]:
    from ..runner import Output, make_transport
    from ..wire.request import auth_headers

    # A model list is no place for a hosted tool's long silence: a shorter read timeout.
    transport = make_transport(env, settings, Output(verbose=verbose), timeout=min(settings.timeout, 60.0))
    url = f"{settings.base_url}/models"
    try:
        data = transport.get_json(url, auth_headers(settings))
    except APIError as exc:
        if exc.status in (404, 405):
            raise APIError(f"{settings.base_url} does not list models ({exc.status})", status=exc.status) from None
        raise
    except StreamError:
        raise StreamError(f"{url} did not answer with JSON") from None
    finally:
        transport.close()
    models = data.get("data") if isinstance(data, dict) else data
    if not isinstance(models, list):
        raise StreamError(f"{url} answered without a list of models")
    return models


def cached(path: Path, base_url: str) -> list[Any] | None:
    """The cached list for `base_url` if it is less than a day old."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8")).get(base_url)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or time.time() - entry.get("fetched", 0) > MAX_AGE:
        return None
    models = entry.get("models")
    return models if isinstance(models, list) else None


def cached_ids(data_dir: Path) -> list[str]:
    """Every cached model id, whatever the endpoint (for shell completion of --model)."""
    try:
        data = json.loads(cache_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ids: list[str] = []
    for entry in data.values() if isinstance(data, dict) else []:
        for model in entry.get("models", []) if isinstance(entry, dict) else []:
            ids.append(model_id(model))
    return sorted(set(filter(None, ids)))


def store(env: Env, path: Path, base_url: str, models: list[Any]) -> None:
    from ..files import write_atomic

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[base_url] = {"fetched": time.time(), "models": models}
    try:
        write_atomic(path, json.dumps(data))
    except OSError as exc:
        env.warn(f"could not cache the model list in {path}: {exc.strerror or exc}")


def model_id(model: Any) -> str:
    if isinstance(model, dict):
        return str(model.get("id") or model.get("name") or "")
    return str(model)


def print_table(env: Env, models: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = [m if isinstance(m, dict) else {"id": str(m)} for m in models]
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
    console = Console(file=env.stdout, force_terminal=True, no_color=bool(env.environ.get("NO_COLOR")),
                      highlight=False)
    console.print(table)


def _context_length(model: dict[str, Any]) -> int | None:
    for key in ("context_length", "context_window", "max_context_length", "max_model_len"):
        value = model.get(key)
        if isinstance(value, int):
            return value
    return None
