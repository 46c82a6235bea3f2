"""MCP prompts: `otchat mcp prompts`, `otchat mcp prompt SERVER:NAME key=value` and the REPL's
/prompt, against @modelcontextprotocol/server-everything (4 prompts, one completable) and
tests/mcp_prompt_server.py (several roles, an image, control characters), in real processes."""

import json
import shlex
import sys
import time
from pathlib import Path

import pexpect
import pytest
from mcp.types import EmbeddedResource, ImageContent, TextContent, TextResourceContents

from otchat.errors import UsageError
from otchat.mcp.prompts import Prompt, content_text, join, parse_arguments, parse_ref, split
from tests import everything
from tests.fakeserver import Stream, text_chunks
from tests.helpers import run_in_pty, screen

PROMPT_SERVER = f"p={sys.executable} {Path(__file__).with_name('mcp_prompt_server.py')}"


@pytest.fixture
def configured(home):
    """server-everything as config.toml's [mcp.servers.everything]."""
    name, _, command = everything.command().partition("=")
    program, *args = shlex.split(command)
    (home / "config" / "config.toml").write_text(
        f"[mcp.servers.{name}]\ncommand = {json.dumps(program)}\nargs = {json.dumps(args)}\n")
    return home


def sent(server):
    return server.requests[-1].body["messages"]


# Pure parts ----------------------------------------------------------------------------------


def test_turns_of_one_role_are_joined_and_the_last_user_turn_is_the_question():
    turns = join([("user", "a"), ("user", "b"), ("assistant", "c"), ("user", "d")])
    assert turns == [("user", "a\n\nb"), ("assistant", "c"), ("user", "d")]
    assert split(Prompt("s", "n"), turns) == ([("user", "a\n\nb"), ("assistant", "c")], "d")
    with pytest.raises(UsageError, match="ends with an assistant message"):
        split(Prompt("s", "n"), [("user", "a"), ("assistant", "b")])
    with pytest.raises(UsageError, match="has no messages"):
        split(Prompt("s", "n"), [])


def test_content_is_text_a_fenced_resource_or_a_note():
    assert content_text(TextContent(type="text", text="hi")) == "hi"
    resource = TextResourceContents(uri="demo://x", mime_type="text/plain", text="```\ncode\n```")
    assert content_text(EmbeddedResource(type="resource", resource=resource)) == "demo://x\n````\n```\ncode\n```\n````"
    image = ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png")
    assert content_text(image) == "[image image/png 8 B left out: only text is sent]"


def test_references_and_arguments_are_checked():
    assert parse_ref("everything:args-prompt") == ("everything", "args-prompt")
    assert parse_arguments(["city=Saint Malo", "q=a=b"]) == {"city": "Saint Malo", "q": "a=b"}
    for bad in ("args-prompt", ":x", "s:"):
        with pytest.raises(UsageError, match="SERVER:NAME"):
            parse_ref(bad)
    with pytest.raises(UsageError, match="key=value"):
        parse_arguments(["city"])


# otchat mcp prompts ------------------------------------------------------------------------


@pytest.mark.process
def test_prompts_are_listed_with_their_arguments(otchat, configured):
    out = otchat("mcp", "prompts").stdout.splitlines()
    assert out[0] == "everything:simple-prompt  (Simple Prompt)"
    at = out.index("everything:args-prompt  (Arguments Prompt)")
    assert out[at + 2:at + 4] == ["    city*: Name of the city", "    state"]  # * marks the required one
    assert [line for line in out if line.startswith("everything:")][-1].startswith("everything:resource-prompt")
    listed = json.loads(otchat("mcp", "prompts", "everything", "--json").stdout)
    assert [p["name"] for p in listed] == ["simple-prompt", "args-prompt", "completable-prompt", "resource-prompt"]
    assert listed[1]["arguments"][0] == {"name": "city", "description": "Name of the city", "required": True}
    r = otchat("mcp", "prompts", "nosuch", expect=2)
    assert "no MCP server 'nosuch'; servers: everything" in r.stderr


@pytest.mark.process
def test_a_server_without_prompts_has_none(otchat, server, home):
    tools_only = f"t={sys.executable} {Path(__file__).with_name('mcp_testserver.py')}"
    assert otchat("mcp", "prompts", "--mcp-command", tools_only).stdout == "no prompts\n"
    r = otchat("mcp", "prompt", "--mcp-command", tools_only, "t:x", expect=2)
    assert "MCP server t has no prompt 'x'; its prompts: none" in r.stderr and server.requests == []


# otchat mcp prompt -------------------------------------------------------------------------


@pytest.mark.process
def test_a_prompt_is_sent_as_a_one_shot(otchat, server, configured):
    server.enqueue(Stream(text_chunks("Sunny in Paris.")))
    r = otchat("mcp", "prompt", "everything:args-prompt", "city=Paris", "-m", "fake/other")
    assert (r.code, r.stdout) == (0, "Sunny in Paris.\n")
    body = server.requests[-1].body
    assert body["model"] == "fake/other"
    assert body["messages"] == [{"role": "user", "content": "What's weather in Paris?"}]
    assert any(t["function"]["name"] == "everything__echo" for t in body["tools"])  # the run's servers go on

    server.enqueue(Stream(text_chunks("Rainy.")))
    data = json.loads(otchat("mcp", "prompt", "everything:args-prompt", "city=Brest", "--json").stdout)
    assert data["content"] == "Rainy."
    server.enqueue(Stream(text_chunks("And tomorrow too.")))
    otchat("mcp", "prompt", "-c", "everything:args-prompt", "city=Nantes")
    assert [m["content"] for m in sent(server)] == ["What's weather in Brest?", "Rainy.", "What's weather in Nantes?"]


@pytest.mark.process
def test_an_embedded_resource_goes_fenced_in_one_user_turn_and_a_dry_run_sends_nothing(otchat, server, configured):
    r = otchat("mcp", "prompt", "everything:resource-prompt", "resourceType=Text", "resourceId=3", "--dry-run")
    messages = json.loads(r.stdout)["body"]["messages"]
    assert len(messages) == 1 and messages[0]["role"] == "user"  # two user messages of the prompt, joined
    first, _, rest = messages[0]["content"].partition("\n\n")
    assert first == "This prompt includes the Text resource with id: 3. Please analyze the following resource:"
    assert rest.startswith("demo://resource/dynamic/text/3\n```\nResource 3: ") and rest.endswith("\n```")
    # --no-mcp: the prompt's server starts for the prompt alone, and its tools are not sent
    r = otchat("mcp", "prompt", "everything:resource-prompt", "resourceType=Blob", "resourceId=2", "--dry-run",
               "--no-mcp")
    body = json.loads(r.stdout)["body"]
    assert body["messages"][0]["content"].endswith("\n\n[resource demo://resource/dynamic/blob/2 (text/plain) left out:"
                                                   " binary]") and "tools" not in body
    assert server.requests == []


@pytest.mark.process
def test_earlier_turns_of_a_prompt_go_as_the_conversation_before_it(otchat, server, home):
    server.enqueue(Stream(text_chunks("Tea is a drink.")))
    otchat("mcp", "prompt", "--mcp-command", PROMPT_SERVER, "p:dialogue", "topic=tea")
    assert sent(server) == [
        {"role": "user", "content": "You are a careful reviewer.\n\nWe talk about tea."},
        {"role": "assistant", "content": "Understood.\n\nGo on."},
        {"role": "user", "content": "First question:\n\nwhat is tea?"},
    ]
    r = otchat("mcp", "prompt", "--mcp-command", PROMPT_SERVER, "p:answered", expect=2)
    assert "prompt p:answered ends with an assistant message" in r.stderr and len(server.requests) == 1


@pytest.mark.process
def test_an_image_is_a_note_and_control_characters_never_reach_a_terminal(otchat, server, home):
    r = otchat("mcp", "prompt", "--mcp-command", PROMPT_SERVER, "p:hostile", "--dry-run")
    content = json.loads(r.stdout)["body"]["messages"][-1]["content"]
    assert content == "look \x1b[2J here\n\n[image image/png 8 B left out: only text is sent]"  # the model gets it
    code, lines, raw = run_in_pty(server, home, "mcp", "prompts", "--mcp-command", PROMPT_SERVER)
    assert code == 0 and b"\x1b[31m" not in raw and b"\x1b]0;" not in raw and b"\x07" not in raw
    assert "    Says ␛[31mred␛[0m␛]0;title␇ on purpose." in lines


@pytest.mark.process
@pytest.mark.parametrize("args, words", [
    (["everything:args-prompt"], "prompt everything:args-prompt needs city=..."),
    (["everything:completable-prompt", "name=Ann"], "needs department=..."),
    (["everything:nosuch"], "no prompt 'nosuch'; its prompts: simple-prompt, args-prompt"),
    (["nosuch:x"], "no MCP server 'nosuch'"),
    (["everything:args-prompt", "Paris"], "key=value, not 'Paris'"),
    (["args-prompt"], "SERVER:NAME"),
])
def test_usage_errors_exit_2_and_send_nothing(otchat, server, configured, args, words):
    r = otchat("mcp", "prompt", *args, expect=2)
    assert words in r.stderr and server.requests == []


# On a terminal -----------------------------------------------------------------------------


def until(child, line, *, within=False):
    """Wait (20 s at most) until a line of the terminal ends with `line` (or, `within`, holds it):
    what a reply streams in pieces is read as drawn, not as the bytes that drew it."""
    deadline = time.monotonic() + 20
    while not any(line in shown if within else shown.rstrip().endswith(line) for shown in screen(child)):
        assert time.monotonic() < deadline, f"never shown: {line!r} in {screen(child)}"
        child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=0.2)


@pytest.mark.process
def test_a_missing_argument_is_asked_for_on_a_terminal(spawn_pty, server, configured):
    server.enqueue(Stream(text_chunks("Windy in Lyon.")))
    child = spawn_pty(["mcp", "prompt", "everything:args-prompt"])
    child.expect_exact("city (Name of the city): ")
    child.send("Lyon\r")
    until(child, "Windy in Lyon.")
    child.expect(pexpect.EOF)
    assert sent(server) == [{"role": "user", "content": "What's weather in Lyon?"}]


@pytest.mark.process
def test_the_values_a_server_offers_are_shown_when_an_argument_is_asked_for(spawn_pty, server, configured):
    child = spawn_pty(["mcp", "prompt", "everything:completable-prompt", "--dry-run"])
    child.expect_exact("department (Choose the department.) [Engineering, Sales, Marketing, Support]: ")
    child.send("Sales\r")  # the second argument's values follow from the first's
    child.expect_exact("name (Choose a team member to lead the selected department.) [David, Eve, Frank]: ")
    child.send("Eve\r")
    child.expect_exact("Please promote Eve to the head of the Sales team.")
    child.expect(pexpect.EOF)
    assert server.requests == []


@pytest.mark.process
def test_the_repl_sends_a_prompt_with_tab_completed_arguments(spawn_pty, server, configured):
    server.enqueue(Stream(text_chunks("Ann leads Engineering now.")))
    child = spawn_pty(["chat"])
    child.expect_exact("Ctrl-D leaves")
    line = "› "
    for typed, completed in [("/prompt everything:compl", "/prompt everything:completable-prompt "),
                             ("dep", "department="), ("Eng", "Engineering")]:
        child.send(typed)
        until(child, line + typed)  # the menu below shows the server's values
        child.send("\t")  # Tab: the one value offered for what is typed
        line += completed
        until(child, line.rstrip())
    child.send(" name=Ann\r")
    until(child, "Ann leads Engineering now.")
    assert sent(server)[-1] == {"role": "user", "content": "Please promote Ann to the head of the Engineering team."}
    server.enqueue(Stream(text_chunks("Foggy in Rome.")))
    child.send("/prompt everything:args-prompt\r")  # a missing argument is asked for
    child.expect_exact("city (Name of the city): ")
    child.send("Rome\r")
    until(child, "Foggy in Rome.")
    assert sent(server)[-1] == {"role": "user", "content": "What's weather in Rome?"}
    child.send("/prompt everything:args-prompt\r")
    child.expect_exact("city (Name of the city): ")
    child.sendintr()  # Ctrl-C at the question: nothing sent, the REPL goes on
    until(child, "otchat: prompt everything:args-prompt: nothing sent")
    child.sendeof()
    child.expect(pexpect.EOF)
    assert len(server.requests) == 2
    assert any(shown.endswith("/prompt everything:completable-prompt department=Engineering name=Ann")
               for shown in screen(child))


@pytest.mark.process
def test_a_scripted_repl_takes_prompt_lines(otchat, server, configured):
    server.enqueue(Stream(text_chunks("Cold.")))
    r = otchat("chat", input='/prompt everything:args-prompt city="Saint Malo"\n/prompt everything:nosuch\n'
                                 '/prompt everything:args-prompt state=Texas\n')
    assert r.stdout == "Cold.\n" and "no prompt 'nosuch'" in r.stderr
    assert "prompt everything:args-prompt needs city=..." in r.stderr  # in a script, nobody to ask
    assert sent(server) == [{"role": "user", "content": "What's weather in Saint Malo?"}]


@pytest.mark.process
def test_a_repl_prompt_of_several_turns_becomes_the_conversation(otchat, server, home):
    server.enqueue(Stream(text_chunks("A drink.")), Stream(text_chunks("Green tea.")))
    r = otchat("chat", "--mcp-command", PROMPT_SERVER, input="/prompt p:dialogue topic=tea\nwhich kind?\n")
    assert r.stdout == "A drink.\nGreen tea.\n"
    assert [(m["role"], m["content"]) for m in sent(server)] == [
        ("user", "You are a careful reviewer.\n\nWe talk about tea."), ("assistant", "Understood.\n\nGo on."),
        ("user", "First question:\n\nwhat is tea?"), ("assistant", "A drink."), ("user", "which kind?")]


@pytest.mark.process
def test_bash_completes_the_prompts_of_configured_servers(configured):
    from tests.test_docs import bash_complete

    names = ["everything:simple-prompt", "everything:args-prompt", "everything:completable-prompt",
             "everything:resource-prompt"]
    assert bash_complete(configured, "otchat mcp prompt ") == names
    assert bash_complete(configured, "otchat mcp prompt everything:ar") == ["everything:args-prompt"]
    assert bash_complete(configured, "otchat mcp prompt nosuch:") == []
    # bash itself splits at `:`: what it replaces is the part after the colon
    assert bash_complete(configured, "otchat mcp prompt everything : ar") == ["args-prompt"]
    assert bash_complete(configured, "otchat mcp prompt everything :")[:2] == [":simple-prompt", ":args-prompt"]
