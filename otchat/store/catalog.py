"""The model list of each endpoint, cached for a day in the data dir (models.json)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..seams import JSON

CACHE_NAME = "models.json"
MAX_AGE = 24 * 3600


def cache_path(data_dir: Path) -> Path:
    return data_dir / CACHE_NAME


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


def cached_ids(data_dir: Path, base_url: str | None = None) -> list[str]:
    """The cached model ids of `base_url` (None: of every endpoint), whatever their age (for
    completion of --model and /model)."""
    try:
        data = json.loads(cache_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    entries = [data.get(base_url)] if base_url is not None else list(data.values())
    ids: list[str] = []
    for entry in entries:
        for model in entry.get("models", []) if isinstance(entry, dict) else []:
            ids.append(model_id(model))
    return sorted(set(filter(None, ids)))


def store(path: Path, base_url: str, models: list[Any], warn: Callable[[str], None]) -> None:
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
        warn(f"could not cache the model list in {path}: {exc.strerror or exc}")


def model_id(model: JSON) -> str:
    if isinstance(model, dict):
        return str(model.get("id") or model.get("name") or "")
    return str(model)
