"""`otchat config …` and `otchat auth …`: the stored settings and the stored key."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import file as configfile, schema
from ..config.resolve import KEY_ENV, Flags, config_path, load_file
from ..env import Env, mask
from ..errors import ConfigError, ExitCode, UsageError


def _path(env: Env) -> Path:
    return config_path(env.config_dir)


def _out(env: Env, text: str) -> None:
    env.stdout.write(text + "\n")
    env.stdout.flush()


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
        _out(env, f"{text:<{width}}  # {origin}")
    return ExitCode.OK


def _shown(dotted: str, value: object) -> str:
    return '"***"' if schema.is_secret(dotted) else configfile.toml_value(value)


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
            _out(env, f"{dotted} = {configfile.toml_value(leaf)}")
    else:
        _out(env, value if isinstance(value, str) else configfile.toml_value(value))
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
    _out(env, str(_path(env)))
    return ExitCode.OK


def config_edit(env: Env, ask=None) -> int:
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


# auth ---------------------------------------------------------------------------------


def auth_login(env: Env, read_hidden=None) -> int:
    from ..config.keys import credentials_path, write_credentials

    if env.stdin_isatty and read_hidden is not None:
        key = read_hidden("OpenTools API key (input hidden): ")
    elif env.stdin is not None and not env.stdin_isatty:
        key = env.stdin.readline(64 * 1024).decode("utf-8", "replace")
    else:
        raise UsageError("no key given", hint="pipe it in: … | otchat auth login")
    key = key.strip()
    if not key:
        raise UsageError("no key given; nothing stored")
    if any(ch.isspace() for ch in key):
        raise UsageError("that does not look like an API key (it contains spaces); nothing stored")
    env.secrets.add(key)
    path = credentials_path(env.config_dir)
    write_credentials(path, key)
    env.stderr.write(f"Stored the key ({mask(key)}) in {path}\n")
    if env.environ.get(KEY_ENV):
        env.warn(f"${KEY_ENV} is set and takes precedence over the stored key")
    return ExitCode.OK


def auth_status(env: Env, profile: str | None) -> int:
    from ..config.keys import credentials_path, find_key, loose_permissions
    from ..config.resolve import resolve

    settings = resolve(Flags(profile=profile), env.environ, load_file(_path(env), warn=env.warn))
    found = find_key(settings, env.environ, env.config_dir)
    if found.value:
        env.secrets.add(found.value)
    path = credentials_path(env.config_dir)
    if loose_permissions(path):
        env.warn(f"{path} is readable by others; run: chmod 600 {path}")
    where = f" (profile {settings.profile})" if settings.profile else ""
    _out(env, f"endpoint: {settings.base_url}{where}")
    _out(env, f"key: {mask(found.value) if found.value else 'none'}")
    _out(env, f"source: {found.source}")
    if not found.value and settings.api_key_env != "":
        env.error(f"no API key: set {KEY_ENV} or run otchat auth login")
        return ExitCode.CONFIG
    return ExitCode.OK


def auth_logout(env: Env) -> int:
    from ..config.keys import credentials_path

    path = credentials_path(env.config_dir)
    try:
        path.unlink()
    except FileNotFoundError:
        env.stderr.write(f"No stored key ({path} does not exist)\n")
        return ExitCode.OK
    env.stderr.write(f"Removed {path}\n")
    if env.environ.get(KEY_ENV):
        env.warn(f"${KEY_ENV} is still set in this environment")
    return ExitCode.OK
