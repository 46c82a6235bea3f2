"""`otchat mcp prompts [SERVER]` and `otchat mcp prompt SERVER:NAME key=value ...`: a local MCP
server's prompts, listed, or fetched and sent as a one-shot (the run's plumbing: `runner.Run`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Unpack

import typer

from ..env import Env
from ..errors import UsageError
from ..plan import Format, Output, Plan, check, output_format
from ..shell import values
from ..text import visible
from .group import env_of
from .mcp_servers import reported, server_specs, started
from .options import McpCommandOpt, RequestOptions, files_from, flags_from, resume_from, with_request_options

if TYPE_CHECKING:
    from ..mcp.hub import Hub
    from ..mcp.prompts import Prompt
    from ..mcp.specs import ServerSpec
    from ..runner import Run


def mcp_prompts(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this server.")] = None,
    mcp_command: McpCommandOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> int:
    """Start the servers and list each prompt with its arguments (* marks the required ones)."""
    return prompts_cmd(env_of(ctx), name, list(mcp_command or []), json_)


@with_request_options
def mcp_prompt(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="SERVER:NAME", help="The prompt, as `otchat mcp prompts` names it.",
                                       autocompletion=values.mcp_prompts, show_default=False)],
    arguments: Annotated[list[str] | None, typer.Argument(metavar="[KEY=VALUE]...", show_default=False,
                                                          help="The prompt's arguments.")] = None,
    *,
    format: Annotated[
        Format | None, typer.Option("--format", help="Output format [default: auto].", show_default=False)
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the request as JSON; send nothing.")] = False,
    **request: Unpack[RequestOptions],
) -> int:
    """Get a server's prompt with these arguments and send its messages as a one-shot question
    (earlier messages go as the conversation before it). Missing required arguments are asked
    for on a terminal."""
    env = env_of(ctx)
    output = Output(format=output_format(format, json_=json_, raw=False), usage=request["usage"],
                    verbose=request["verbose"], dry_run=dry_run)
    plan = Plan(flags_from(request), output, resume_from(request), files=files_from(request))
    check(plan, "one-shot", [ref])
    return prompt_cmd(env, plan, ref, list(arguments or []), list(request.get("mcp_command") or []))


def register(app: typer.Typer) -> None:
    """Add the two commands to `otchat mcp`."""
    app.command("prompts")(mcp_prompts)
    app.command("prompt", context_settings={"allow_interspersed_args": True})(mcp_prompt)


def prompts_cmd(env: Env, name: str | None, commands: list[str], as_json: bool) -> int:
    from ..mcp.prompts import list_prompts

    hub = started(env, server_specs(env, name, commands))
    try:
        listed = [prompt for server in hub.servers() for prompt in list_prompts(hub, server)]
        if as_json:
            env.out(json.dumps([p.to_json() for p in listed], indent=2, ensure_ascii=False))
        else:
            for prompt in listed:
                show_prompt(env, prompt)
            if not listed and not hub.failures:
                env.out("no prompts")
        return reported(env, hub)
    finally:
        hub.close()


def show_prompt(env: Env, prompt: Prompt) -> None:
    """One prompt: its name, title and description, then an argument a line (* required)."""
    one = " ".join  # a server's text on one line each
    title = f"  ({one(prompt.title.split())})" if prompt.title and prompt.title != prompt.name else ""
    env.out(visible(f"{prompt.ref}{title}"))
    if prompt.description:
        env.out(visible(f"    {one(prompt.description.split())}"))
    for argument in prompt.arguments:
        about = f": {one(argument.description.split())}" if argument.description else ""
        env.out(visible(f"    {argument.name}{'*' if argument.required else ''}{about}"))


def prompt_cmd(env: Env, plan: Plan, ref: str, words: list[str], commands: list[str]) -> int:
    from ..mcp.prompts import find, get_turns, parse_arguments, parse_ref, split
    from ..runner import Run
    from ..term.front import TermFront
    from ..term.prompt_turn import fill_missing

    server, name = parse_ref(ref)
    given = parse_arguments(words)
    spec = server_specs(env, server, commands)[0]
    with Run(env, plan, TermFront(env, plan.output)) as run:
        run.connect()
        run.start()
        hub, own = hub_for(env, run, spec)
        try:
            prompt = find(hub, server, name)
            given = fill_missing(env, hub, prompt, given, f"otchat mcp prompts {server} lists them")
            context, question = split(prompt, get_turns(hub, prompt, given))
        finally:
            if own:
                hub.close()
        add_context(run, context)
        return run.answer(with_inputs(env, run, question))


def hub_for(env: Env, run: Run, spec: ServerSpec) -> tuple[Hub, bool]:
    """The run's own hub when it runs the server; else one of its own (True: close it after)."""
    from ..mcp.hub import Hub

    tools = run.session.tools
    if isinstance(tools, Hub) and spec.name in tools.servers():
        return tools, False
    hub = Hub([spec], dict(env.environ))
    hub.start()
    if spec.name in hub.failures:
        why = hub.failures[spec.name]
        hub.close()
        raise UsageError(f"MCP server {spec.name} did not start: {why}")
    return hub, True


def add_context(run: Run, context: list[tuple[str, str]]) -> None:
    """The prompt's turns before its question join the conversation (logged with the answer)."""
    from ..conversation import Entry

    for role, text in context:
        run.session.conversation.add(Entry(role if role in ("user", "assistant") else "user", text))


def with_inputs(env: Env, run: Run, question: str) -> str:
    """The question with the -f files and piped stdin after it, as a one-shot's prompt has them."""
    from ..wire.request import compose_user_message
    from .inputs import read_inputs

    blocks, piped = read_inputs(env, "", run.plan.files, run.settings.max_input_bytes)
    return compose_user_message(question, blocks, piped, placeholder=False)
