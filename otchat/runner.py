"""The one-shot command: gather the input, resolve settings, run one turn, pick the exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import resolve as config
from .wire import request
from .config.resolve import Flags, Settings
from .env import Env
from .errors import ConfigError, ExitCode, OtchatError, UsageError
from .models import Error, TurnResult
from .config.schema import is_secret_header

@dataclass
class Output:
    format: str = "auto"
    usage: bool = False
    verbose: bool = False
    dry_run: bool = False


def run(env: Env, flags: Flags, output: Output, prompt_words: list[str], files: list[Path],
        resume: Resume | None = None) -> int:
    from .conversation import Session

    settings, file = prepare(env, flags, need_key=not output.dry_run)
    piped = read_stdin(env, settings.max_input_bytes)
    prompt = " ".join(prompt_words)
    blocks = [read_text_file(path, settings.max_input_bytes) for path in files]
    if not prompt and piped is None and not blocks:
        raise UsageError('no prompt given', hint='try: otchat "your question", or pipe text in')
    message = request.compose_user_message(prompt, blocks, piped)
    hub = start_tools(env, settings)
    try:
        session = Session(env, flags, file, settings.api_key, tools=hub)
        if resume is not None:
            session.resume(resume.ref)
        if output.dry_run:
            shown = request.redacted(session.request_for(message))
            env.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
            env.stdout.flush()
            return ExitCode.OK
        sink = make_sink(env, output, session.settings.links)
        transport = make_transport(env, session.settings, output)
        try:
            result = finish_turn(env, sink, lambda: session.send(message, sink, transport))
        finally:
            transport.close()
        return check_finish(env, result, session.settings)
    finally:
        if hub is not None:
            hub.close()


def start_tools(env: Env, settings: Settings) -> Any:
    """Start the local MCP servers this run uses (None when there are none)."""
    if not settings.mcp_servers:
        return None
    from .mcp.hub import Hub

    hub = Hub(settings.mcp_servers, dict(env.environ))
    try:
        hub.start()
    except BaseException:
        hub.close()
        raise
    for name, why in hub.failures.items():
        env.warn(f"MCP server {name} did not start: {why}; going on without it")
    return hub


@dataclass
class Resume:
    """Continue a stored conversation: `ref` an id prefix, or None for the latest."""

    ref: str | None = None


def load_settings(env: Env, flags: Flags, *, need_key: bool = True) -> Settings:
    return prepare(env, flags, need_key=need_key)[0]


def prepare(env: Env, flags: Flags, *, need_key: bool = True) -> tuple[Settings, dict[str, Any]]:
    """Config file + environment + flags, and the key (required unless `need_key` is False).

    A dry run still shows which key would be sent (redacted) but never runs api_key_cmd.
    """
    from .config.keys import find_key

    file = config.load_file(config.config_path(env.config_dir), warn=env.warn)
    settings = config.resolve(flags, env.environ, file)
    found = find_key(settings, env.environ, env.config_dir, run_command=need_key)
    settings.api_key = found.value
    if found.value:
        env.secrets.add(found.value)
    env.secrets.update(value for name, value in settings.headers.items() if is_secret_header(name))
    if need_key and not found.value and settings.api_key_env != "":
        raise ConfigError(f"no API key: set {config.KEY_ENV} or run otchat auth login")
    return settings, file


def finish_turn(env: Env, sink: Any, turn: Any) -> TurnResult:
    """Call `turn()`; whatever happens, the sink gets its `end` with what arrived."""
    try:
        result = turn()
    except OtchatError as exc:
        sink.handle(Error(env.redact(exc.line()), int(exc.exit_code)))
        sink.end(exc.partial or TurnResult(interrupted=True))
        raise
    except BaseException as exc:
        sink.end(getattr(exc, "partial", None) or TurnResult(interrupted=True))
        raise
    sink.end(result)
    return result


def make_transport(env: Env, settings: Settings, output: Output, *, timeout: float | None = None) -> Any:
    """The HTTP transport for `settings` (`timeout` overrides the read timeout)."""
    from .wire.transport import Transport

    log = (lambda line: _err_line(env, line)) if output.verbose else None
    notify = (lambda line: env.warn(line)) if (output.verbose or env.stderr_isatty) else None
    return Transport(
        timeout=settings.timeout if timeout is None else timeout,
        connect_timeout=settings.connect_timeout,
        retries=settings.retries,
        httpx_transport=env.transport,
        sleep=env.sleep,
        log=log,
        notify=notify,
        plain_http=settings.base_url.startswith("http://"),
        ca_bundle=settings.ca_bundle,
    )


def check_finish(env: Env, result: TurnResult, settings: Settings) -> int:
    """Warnings for replies that stopped early; exit 9 for tool calls nobody will run."""
    reason = result.finish_reason
    if reason == "length":
        env.warn("the reply was cut short at the token limit (finish_reason: length)")
    elif reason == "content_filter":
        env.warn("the reply was stopped by a content filter (finish_reason: content_filter)")
    elif reason == "tool_calls":
        declared = settings.declared_functions()
        unrun = [call.name for call in result.tool_calls if call.name not in declared]
        if unrun or not result.tool_calls:
            names = ", ".join(unrun) or "unnamed"
            env.warn(f"the reply stopped at the server's tool budget with tool calls unrun: {names}")
            return ExitCode.TOOL_BUDGET
    return ExitCode.OK


# Text typed straight onto a terminal is read in frames of 40 ms (25 a second): a person
# sees no difference, and a reply streamed at 100 tokens a second wakes otchat a quarter
# as often. (Into a pipe every piece is written as it arrives.)
TYPING_FRAME = 0.04


def make_sink(env: Env, output: Output, links: str = "inline") -> Any:
    from .term.sinks import JsonlSink, JsonSink, PlainSink, choose_format

    fmt = choose_format(output.format, env.stdout_isatty, env.environ.get("TERM"))
    if fmt == "json":
        return JsonSink(env.stdout)
    if fmt == "jsonl":
        return JsonlSink(env.stdout)
    if fmt == "plain":
        return PlainSink(env.stdout, env.stderr, show_usage=output.usage, verbose=output.verbose,
                         frame=TYPING_FRAME if env.stdout_isatty else 0.0)
    from rich.console import Console

    from .term.live import MarkdownSink

    console = Console(
        file=env.stdout,
        force_terminal=True if env.stdout_isatty else None,
        no_color=bool(env.environ.get("NO_COLOR")),
        highlight=False,
    )
    return MarkdownSink(console, clock=env.clock, show_usage=True, echo_off=env.echo_off, links=links)


def read_stdin(env: Env, limit: int) -> str | None:
    """Piped input as text, or None; never waits on a terminal, refuses input above `limit`."""
    if env.stdin is None or env.stdin_isatty:
        return None
    data = env.stdin.read(limit + 1)
    if len(data) > limit:
        raise UsageError(
            f"stdin is larger than max_input_bytes ({_size(limit)}, about {limit // 4:,} tokens)",
            hint="send less, or raise max_input_bytes in config.toml",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"stdin is not UTF-8 text (invalid byte at offset {exc.start})") from None
    return text if text.strip() else None


def read_text_file(path: Path, limit: int) -> tuple[str, str]:
    """A `-f` file as (name, text), refused above `limit` bytes before it is all read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{path} is larger than max_input_bytes ({_size(limit)}, about {limit // 4:,} tokens)",
                         hint="send less, or raise max_input_bytes in config.toml")
    try:
        return str(path), data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def load_functions(paths: list[Path]) -> list[dict[str, Any]]:
    tools = []
    for path in paths:
        try:
            definition = json.loads(path.read_bytes())
        except OSError as exc:
            raise UsageError(f"--function {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(f"--function {path}: invalid JSON: {exc}") from None
        tools.append(request.function_tool(definition, f"--function {path}"))
    return tools


def parse_options(items: list[str]) -> dict[str, Any]:
    return dict(request.parse_option(item) for item in items)


def _err_line(env: Env, line: str) -> None:
    env.stderr.write(env.redact(line) + "\n")
    env.stderr.flush()


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"
