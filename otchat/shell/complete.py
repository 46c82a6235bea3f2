"""Shell completion: the scripts' protocol and the values otchat offers on TAB.

The scripts in completions/ run `_OTCHAT_COMPLETE=SHELL otchat WORD... CURRENT`: the
words typed so far and the word under the cursor (maybe empty). otchat prints one
candidate per line (`value<TAB>help` for zsh and fish), or `__files__` to let the shell
complete file names. Completing commands and options reads no database and imports
nothing heavy; only history ids open history.db.
"""

from typing import Any

COMPLETE_VAR = "_OTCHAT_COMPLETE"
FILES = "__files__"


def run(env: Any, shell: str, words: list[str]) -> int:
    """Print the candidates for the last word of `words`; always exits 0 (never break TAB)."""
    # typer < 0.26 builds its commands on click, whose resolver we reuse; none of its
    # shell classes (typer's load rich to format help for zsh and fish).
    import click.shell_completion
    import typer.main

    from ..app import app

    args, incomplete = words[:-1], words[-1] if words else ""
    command = typer.main.get_command(app)
    completer = click.shell_completion.ShellComplete(command, {"obj": env}, "otchat", COMPLETE_VAR)
    try:
        items = completer.get_completions(args, incomplete)
    except Exception:  # a half-typed command line must never print a traceback on TAB
        return 0
    lines = []
    if not items and args and args[-1] in _path_options(command):
        lines.append(FILES)
    for item in items:
        if item.type in ("file", "dir"):
            lines.append(FILES)
        elif shell == "bash":
            lines.append(item.value)
        else:
            help_text = " ".join((item.help or "").split())
            lines.append(f"{item.value}\t{help_text}" if help_text else item.value)
    env.stdout.write("".join(f"{line}\n" for line in dict.fromkeys(lines)))
    env.stdout.flush()
    return 0


def _path_options(command: Any) -> set[str]:
    """Every option name, in any command, whose value is a file path."""
    import click

    names: set[str] = set()
    for param in getattr(command, "params", []):
        if isinstance(param, click.Option) and isinstance(param.type, click.Path):
            names.update(param.opts)
    for sub in getattr(command, "commands", {}).values():
        names |= _path_options(sub)
    return names


# Value completers: typer calls them with the click context and the incomplete word.


def _env(ctx: Any) -> Any:
    from ..env import Env

    obj = ctx.find_root().obj
    return obj if isinstance(obj, Env) else Env.from_process()


def _config(ctx: Any) -> dict[str, Any]:
    from ..config.resolve import config_path, load_file

    try:
        return load_file(config_path(_env(ctx).config_dir))
    except Exception:
        return {}


def models(ctx: Any, incomplete: str) -> list[str]:
    from ..commands.models import cached_ids

    names = [*_config(ctx).get("aliases", {}), *cached_ids(_env(ctx).data_dir)]
    return [name for name in dict.fromkeys(names) if name.startswith(incomplete)]


def profiles(ctx: Any, incomplete: str) -> list[str]:
    return [name for name in _config(ctx).get("profiles", {}) if name.startswith(incomplete)]


def roles(ctx: Any, incomplete: str) -> list[str]:
    return [name for name in _config(ctx).get("roles", {}) if name.startswith(incomplete)]


def tools(ctx: Any, incomplete: str) -> list[str]:
    return [ref for ref in _config(ctx).get("tools", []) if ref.startswith(incomplete)]


def config_keys(ctx: Any, incomplete: str) -> list[str]:
    """Known top-level keys, plus every dotted key the file already has."""
    from ..config import file as configfile, schema

    data = _config(ctx)
    keys = [*schema.TOP, *(dotted for dotted, _ in configfile.flatten(data))]
    for table in ("profiles", "roles"):
        keys += [f"{table}.{name}." for name in data.get(table, {})]
    keys += ["aliases.", "profiles.", "roles."]
    return [key for key in dict.fromkeys(keys) if key.startswith(incomplete)]


def history_ids(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    from ..store.db import DB_NAME, Store

    env = _env(ctx)
    if not (env.data_dir / DB_NAME).exists():
        return []
    try:
        with Store(env.data_dir / DB_NAME) as store:
            rows = store.conversations(200)
    except Exception:
        return []
    return [(c.id[:8], c.title) for c in rows if c.id.startswith(incomplete)]
