"""`otchat config list|get|set|unset|path|edit`: the settings in config.toml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..config import file as configfile
from ..config import schema
from ..config.redact import is_secret
from ..config.resolve import Flags, config_path, load_file
from ..env import Env
from ..errors import ConfigError, ExitCode
from ..shell import values
from ..term.prompts import Ask
from .group import env_of, new_group
from .options import ProfileOpt

app = new_group("Show and change config.toml.")

KeyArg = Annotated[
    str, typer.Argument(help="A dotted key, e.g. model or profiles.local.base_url.", autocompletion=values.config_keys)
]


@app.command("list")
def list_(ctx: typer.Context, profile: ProfileOpt = None) -> int:
    """Print every setting as KEY = VALUE  # where it comes from (secrets masked)."""
    return config_list(env_of(ctx), profile)


@app.command("get")
def get(ctx: typer.Context, key: KeyArg) -> int:
    """Print one setting (its default when unset)."""
    return config_get(env_of(ctx), key)


@app.command("set", context_settings={"ignore_unknown_options": True})
def set_(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[str, typer.Argument(help="The value; lists as a,b or a JSON array.")],
) -> int:
    """Set one setting, checking its type; comments and layout are kept."""
    return config_set(env_of(ctx), key, value)


@app.command("unset")
def unset(ctx: typer.Context, key: KeyArg) -> int:
    """Remove one setting."""
    return config_unset(env_of(ctx), key)


@app.command("path")
def path(ctx: typer.Context) -> int:
    """Print where config.toml lives."""
    return config_path_cmd(env_of(ctx))


@app.command("edit")
def edit(ctx: typer.Context) -> int:
    """Open config.toml in $VISUAL or $EDITOR; a broken edit is never saved."""
    from ..term.prompts import ask

    env = env_of(ctx)
    return config_edit(env, ask=lambda question: ask(env, question))


def _path(env: Env) -> Path:
    return config_path(env.config_dir)


def config_list(env: Env, profile: str | None = None) -> int:
    """Every key with the value a run would use and where it comes from; then the tables."""
    from ..config.resolve import sources

    path = _path(env)
    file = load_file(path, warn=env.warn)
    found = sources(Flags(profile=profile), env.environ, file)
    rows: list[tuple[str, str]] = []
    for name, spec in schema.TOP.items():
        if spec.kind in ("list", "table"):  # tools add up over the layers; headers merge
            value, origins = found.merged(name)
            if spec.kind == "list":
                rows.append((f"{name} = {configfile.toml_value(value)}",
                             " + ".join(dict.fromkeys(origins.values())) or "default"))
            else:
                rows += [(f"{name}.{configfile.quote(key)} = {_shown(f'{name}.{key}', item)}", origins[key])
                         for key, item in value.items()]
                rows += [] if value else [(name, "none set")]
            continue
        value, origin = found.pick(name)
        if value is None:
            rows.append((name, "not set"))
            continue
        alias = file.get("aliases", {}).get(value) if name == "model" else None
        rows.append((f"{name} = {configfile.toml_value(value)}", origin + (f"; alias of {alias}" if alias else "")))
    for dotted, value in configfile.flatten({k: v for k, v in file.items() if k in schema.TABLES}):
        rows.append((f"{dotted} = {_shown(dotted, value)}", "config.toml"))
    width = min(max(len(text) for text, _ in rows), 48)
    for text, origin in rows:
        env.out(f"{text:<{width}}  # {origin}")
    return ExitCode.OK


def _shown(dotted: str, value: object) -> str:
    return '"***"' if is_secret(dotted) else configfile.toml_value(value)


def config_get(env: Env, key: str) -> int:
    parts = schema.split_key(key)
    spec = schema.lookup(parts)
    data = load_file(_path(env), warn=env.warn)
    try:
        value = configfile.get_value(data, parts)
    except KeyError:
        if spec.default is None or len(parts) != 1:
            env.stderr.write(f"{key} is not set\n")  # not an error: exit 1 as grep's "no match"
            return ExitCode.NO_MATCH
        value = spec.default
    if isinstance(value, dict):
        prefix = ".".join(configfile.quote(p) for p in parts) + "."
        for dotted, leaf in configfile.flatten(value, prefix):
            env.out(f"{dotted} = {_shown(dotted, leaf)}")
    elif is_secret(".".join(parts)):
        env.out("***")  # as `config list` shows it: a header value that carries credentials
    else:
        env.out(value if isinstance(value, str) else configfile.toml_value(value))
    return ExitCode.OK


def config_set(env: Env, key: str, text: str) -> int:
    parts = schema.split_key(key)
    spec = schema.lookup(parts)
    value = schema.parse_value(spec, text, key)
    path = _path(env)
    doc = configfile.read_document(path)
    configfile.check_document(path, doc)
    configfile.set_value(doc, parts, value)
    schema.validate(doc.unwrap(), ConfigError, where=f"{path}: ")
    configfile.save(path, doc)
    return ExitCode.OK


def config_unset(env: Env, key: str) -> int:
    parts = schema.split_key(key)
    schema.lookup(parts)
    path = _path(env)
    doc = configfile.read_document(path)
    if configfile.unset_value(doc, parts):
        configfile.save(path, doc)
    else:
        env.warn(f"{key} was not set")
    return ExitCode.OK


def config_path_cmd(env: Env) -> int:
    env.out(str(_path(env)))
    return ExitCode.OK


def config_edit(env: Env, ask: Ask | None = None) -> int:
    """Edit a copy in $VISUAL/$EDITOR; only a valid result replaces config.toml."""
    import tempfile

    from ..files import run_editor

    path = _path(env)
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix="config.", suffix=".toml", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(original)
        while True:
            status = run_editor(tmp, env.environ)
            if status != 0:
                raise ConfigError(f"the editor exited with status {status}; nothing changed")
            try:
                load_file(tmp, warn=env.warn)
            except ConfigError as exc:
                problem = exc.message.replace(str(tmp), str(path))
                if ask is None or not env.stdin_isatty:
                    raise ConfigError(f"{problem}; your edit was discarded, {path} is unchanged") from None
                answer = ask(f"{problem}\n(E)dit again or (d)iscard the edit? [E/d] ")
                # Enter edits again: only a deliberate "d" (or end of input) throws the work away.
                if answer and not answer.strip().lower().startswith(("d", "q")):
                    continue
                env.warn(f"edit discarded; {path} is unchanged")
                return ExitCode.CONFIG
            break
        edited = tmp.read_text(encoding="utf-8")
        if edited != original:
            from ..files import write_atomic

            write_atomic(path, edited)
        return ExitCode.OK
    finally:
        tmp.unlink(missing_ok=True)
