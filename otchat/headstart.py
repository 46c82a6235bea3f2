"""A head start for a one-shot prompt of plain words (`otchat why is the sky blue`, the common
case): with no option on the command line, the endpoint is the config file's and the
environment's alone, known before typer and the commands are even imported. Its connection
(wire/early.py) opens while they load; the run takes it only if it resolves the same endpoint
(`Run.connect`), and the run alone decides everything else, errors included."""

from __future__ import annotations

from .env import Env


def head_start(env: Env, args: list[str]) -> None:
    """Start connecting when `args` are surely a prompt of words, with no options (which could
    name another host) and no command; nothing is said here, whatever fails."""
    if not args or args in (["help"], ["version"]) or any(arg.startswith("-") for arg in args):
        return
    from .commands.names import a_prompt

    if not a_prompt(args):
        return
    from .config.resolve import Flags, config_path, load_file, resolve

    try:
        settings = resolve(Flags(), env.environ, load_file(config_path(env.config_dir)))
    except Exception:  # noqa: BLE001 (a broken config or environment: the run says so, as it always has)
        return
    from .wire.early import start

    start(settings.base_url, settings.ca_bundle, settings.connect_timeout, head=True)
