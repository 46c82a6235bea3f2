"""MCP resources: `otchat mcp resources`, `otchat mcp read`, `@SERVER:URI` in a prompt or a REPL
line, /resources and /read; against the real server-everything (tests/everything.py) and a
server whose resources say hostile things (tests/mcp_resource_server.py)."""

import io
import json
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from otchat.errors import UsageError
from otchat.mcp import resources
from tests.conftest import KEY, OTCHAT, clean_environ
from tests.everything import install
from tests.fakeserver import Stream, text_chunks
from tests.helpers import run_in_pty

HOSTILE_SERVER = Path(__file__).with_name("mcp_resource_server.py")
DOC = "demo://resource/static/document/architecture.md"
TEXT_7 = "demo://resource/dynamic/text/7"
BLOB_7 = "demo://resource/dynamic/blob/7"


@pytest.fixture
def everything(home):
    """server-everything configured as `everything` in the test home's config.toml."""
    script = install()
    (home / "config" / "config.toml").write_text(
        "[mcp.servers.everything]\n"
        f"command = {json.dumps(shutil.which('node'))}\n"
        f"args = [{json.dumps(str(script))}, \"stdio\"]\n")
    return home


def user_message(request) -> str:
    return request.body["messages"][-1]["content"]


# Mentions, templates: no server -------------------------------------------------------------


def test_mentions_count_only_the_servers_named():
    text, found = resources.mentions(
        "see @everything:demo://a/b. and (@everything:demo://c), mail bob@everything:x, @home:x, @@everything:y",
        ["everything"])
    assert [m.uri for m in found] == ["demo://a/b", "demo://c"]
    assert text.endswith("@home:x, @everything:y")  # @@ is a literal @; @home is no server
    assert "bob@everything:x" in text


def test_mentions_of_one_resource_twice_read_it_once():
    _, found = resources.mentions("@s:x://1 and @s:x://1 and @@s:x://2", ["s"])
    assert found == [resources.Mention("s", "x://1")]


def test_a_template_variable_is_asked_for_or_refused():
    asked = []
    uri = resources.fill("demo://t/{resourceId}", lambda q: asked.append(q) or "5\n", "@e:demo://t/{resourceId}")
    assert uri == "demo://t/5" and asked == ["resourceId for @e:demo://t/{resourceId}: "]
    with pytest.raises(UsageError, match=r"leaves \{resourceId\} unfilled"):
        resources.fill("demo://t/{resourceId}", None, "@e:demo://t/{resourceId}")
    assert resources.variables("x://{+path}/{?q,r}") == ["path", "q"]


# Against server-everything, in a pipe ---------------------------------------------------------


@pytest.mark.process
def test_mcp_resources_lists_resources_and_templates(otchat, everything):
    r = otchat("mcp", "resources")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "everything: 7 resource(s), 2 template(s)"
    assert any(line.split()[:3] == [DOC, "architecture.md", "text/markdown"] for line in lines)
    assert lines[-2].split()[0] == "demo://resource/dynamic/text/{resourceId}" and lines[-2].endswith("template")
    listed = json.loads(otchat("mcp", "resources", "everything", "--json").stdout)
    assert len([i for i in listed if "uri" in i]) == 7
    assert [i["uri_template"] for i in listed if "uri_template" in i] == [
        "demo://resource/dynamic/text/{resourceId}", "demo://resource/dynamic/blob/{resourceId}"]


@pytest.mark.process
def test_mcp_read_prints_text_describes_a_blob_and_saves_it(otchat, everything, home):
    r = otchat("mcp", "read", "everything", DOC)
    assert r.code == 0 and r.stdout.startswith("# Everything Server – Architecture\n"), r.stderr
    assert otchat("mcp", "read", "everything", TEXT_7).stdout.startswith("Resource 7: This is a plaintext resource")
    blob = otchat("mcp", "read", "everything", BLOB_7)
    assert blob.stdout == f"{BLOB_7}: text/plain blob, 55 B (-o FILE saves it)\n"
    saved = otchat("mcp", "read", "everything", BLOB_7, "-o", str(home / "blob.bin"))
    assert saved.code == 0 and (home / "blob.bin").read_bytes().startswith(b"Resource 7: This is a base64 blob")


@pytest.mark.process
def test_mcp_read_refuses_an_unknown_uri_and_an_unfilled_template(otchat, everything):
    r = otchat("mcp", "read", "everything", "demo://nope", expect=2)
    assert r.stderr.startswith("otchat: error: MCP server everything has no resource 'demo://nope'")
    assert len(r.stderr.splitlines()) == 1
    r = otchat("mcp", "read", "everything", "demo://resource/dynamic/text/{resourceId}", expect=2)
    assert "leaves {resourceId} unfilled, and there is no terminal to ask" in r.stderr
    assert "no MCP server 'nope'" in otchat("mcp", "read", "nope", "x://y", expect=2).stderr


@pytest.mark.process
def test_a_mention_in_the_prompt_attaches_the_resource(otchat, everything, server):
    server.enqueue(Stream(text_chunks("It is resource 7.")))
    r = otchat("what is in @everything:demo://resource/dynamic/text/7? Not @@everything:x or a@everything:y")
    assert (r.code, r.stdout) == (0, "It is resource 7.\n"), r.stderr
    sent = user_message(server.requests[0])
    prompt, block = sent.split("\n\n", 1)
    assert prompt == "what is in @everything:demo://resource/dynamic/text/7? Not @everything:x or a@everything:y"
    assert block.startswith(f"everything:{TEXT_7}\n```\nResource 7: This is a plaintext resource")
    assert block.endswith("\n```") and sent.count("```") == 2  # one block: the escaped and the email are text


@pytest.mark.process
def test_stdin_and_files_are_never_read_for_mentions(otchat, everything, server, home):
    server.enqueue(Stream(text_chunks("ok")))
    (home / "notes.txt").write_text(f"@everything:{DOC}\n")
    r = otchat("-f", str(home / "notes.txt"), "look", input=f"@everything:{TEXT_7}\n")
    assert r.code == 0, r.stderr
    sent = user_message(server.requests[0])
    assert "Resource 7" not in sent and "Architecture" not in sent
    assert f"@everything:{DOC}" in sent and f"@everything:{TEXT_7}" in sent


@pytest.mark.process
def test_a_dry_run_reads_the_resource_and_sends_nothing(otchat, everything, server):
    r = otchat("--dry-run", f"summarize @everything:{DOC}")
    assert r.code == 0, r.stderr
    content = json.loads(r.stdout)["body"]["messages"][-1]["content"]
    assert content.startswith(f"summarize @everything:{DOC}\n\neverything:{DOC}\n```\n# Everything Server")
    assert server.requests == []


@pytest.mark.process
def test_a_blob_or_unknown_uri_in_a_prompt_is_refused_and_nothing_is_sent(otchat, everything, server):
    r = otchat(f"what is @everything:{BLOB_7}", expect=2)
    assert r.stderr.splitlines() == [
        f"otchat: error: @everything:{BLOB_7} is binary (text/plain, 55 B): only text resources can be attached"
        f" (save it with: otchat mcp read everything {BLOB_7} -o FILE)"]
    r = otchat("what is @everything:demo://nope", expect=2)
    assert "has no resource 'demo://nope'" in r.stderr
    r = otchat("what is @everything:demo://resource/dynamic/text/{resourceId}", expect=2)
    assert "unfilled" in r.stderr
    assert server.requests == []


@pytest.mark.process
def test_the_scripted_repl_reads_and_attaches_resources(otchat, everything, server):
    server.enqueue(Stream(text_chunks("got it")))
    lines = f"/resources everything\n/read everything {TEXT_7}\nand @everything:demo://resource/dynamic/text/3\n"
    r = otchat("chat", input=lines + f"@everything:{BLOB_7}\n", expect=2)
    assert "everything: 7 resource(s), 2 template(s)" in r.stderr
    assert "Resource 7: This is a plaintext resource" in r.stderr
    assert r.stdout == "got it\n" and len(server.requests) == 1
    assert "everything:demo://resource/dynamic/text/3\n```\nResource 3: This is" in user_message(server.requests[0])
    assert r.code == 2 and "is binary" in r.stderr  # the last line failed, and the script says so


# On a terminal ---------------------------------------------------------------------------------


@pytest.mark.process
def test_hostile_resource_text_is_shown_visibly_on_a_terminal(server, home):
    hostile = f"h={sys.executable} {HOSTILE_SERVER}"
    code, screen, raw = run_in_pty(server, home, "mcp", "read", "h", "hostile://title", "--mcp-command", hostile)
    assert code == 0 and b"\x1b]0;pwned" not in raw and b"\x1b[2J" not in raw
    assert any(line.startswith("before ␛]0;pwned") for line in screen), screen
    code, screen, raw = run_in_pty(server, home, "mcp", "resources", "--mcp-command", hostile)
    assert code == 0 and b"\x1b[31m" not in raw and any("title␛[31m" in line for line in screen), screen


@pytest.mark.process
def test_a_template_variable_is_asked_for_on_a_terminal(server, everything):
    env = clean_environ(everything, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color")
    child = pexpect.spawn(str(OTCHAT), ["mcp", "read", "everything", "demo://resource/dynamic/text/{resourceId}"],
                          env=env, dimensions=(30, 120), timeout=30, encoding="utf-8")
    child.expect("resourceId for demo://resource/dynamic/text/{resourceId}: ")
    child.send("42\r")
    child.expect("Resource 42: This is a plaintext resource")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.process
def test_tab_completes_servers_and_the_servers_uris(otchat, everything):
    r = otchat("mcp", "read", "", env={"_OTCHAT_COMPLETE": "bash"}, input=None)
    assert r.stdout.splitlines() == ["everything"]
    r = otchat("mcp", "read", "everything", "demo://resource/dynamic/", env={"_OTCHAT_COMPLETE": "bash"}, input=None)
    assert r.stdout.splitlines() == ["demo://resource/dynamic/text/{resourceId}",
                                     "demo://resource/dynamic/blob/{resourceId}"]
    # A template's variable: the server's completion/complete offers its values.
    r = otchat("mcp", "read", "everything", "demo://resource/dynamic/text/1", env={"_OTCHAT_COMPLETE": "bash"},
               input=None)
    assert r.stdout.splitlines() == ["demo://resource/dynamic/text/1"]


@pytest.mark.process
def test_the_repl_completes_a_mention_and_attaches_it(server, everything):
    server.enqueue(Stream(text_chunks("read it")))
    env = clean_environ(everything, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color",
                        PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(str(OTCHAT), ["chat"], env=env, dimensions=(30, 120), timeout=30, encoding="utf-8")
    child.expect("›")
    child.send("what is @ev")
    child.expect("@everything:")  # offered in the menu
    child.send("\t")
    child.send("demo://resource/dynamic/text/3\r")
    child.expect("read it")
    child.expect("›")
    child.send("\x04")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    sent = user_message(server.requests[0])
    assert sent.startswith("what is @everything:demo://resource/dynamic/text/3\n\neverything:demo://resource/dynamic")
    assert "Resource 3: This is a plaintext resource" in sent


def test_a_filled_template_is_named_in_the_prompt(monkeypatch):
    from otchat.mcp.hub import Hub
    from otchat.mcp.specs import ServerSpec

    hub = Hub([ServerSpec("e", command="x")], {})
    monkeypatch.setattr(hub, "servers", lambda: ["e"])
    monkeypatch.setattr(resources, "read", lambda hub, server, uri: [resources.Content(uri, "text/plain", text=uri)])
    text, blocks = resources.expand(hub, "see @e:t://{id} now", lambda question: "4")
    assert text == "see @e:t://4 now" and blocks == [("e:t://4", "t://4")]


@pytest.mark.process
def test_a_resource_above_max_input_bytes_is_refused_as_a_file_is(otchat, everything, server):
    config = everything / "config" / "config.toml"
    config.write_text("max_input_bytes = 1000\n" + config.read_text())
    r = otchat(f"summarize @everything:{DOC}", expect=2)  # 1.6 kB of text
    assert r.stderr.startswith(f"otchat: error: @everything:{DOC} is larger than max_input_bytes (1,000 bytes)")
    assert server.requests == []
    server.enqueue(Stream(text_chunks("ok")))
    assert otchat(f"what is @everything:{TEXT_7}").code == 0  # a short one still goes


@pytest.mark.process
def test_slash_read_shows_hostile_text_visibly(server, home):
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY, TERM="xterm-256color",
                        PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(str(OTCHAT), ["chat", "--mcp-command", f"h={sys.executable} {HOSTILE_SERVER}"], env=env,
                          dimensions=(30, 120), timeout=30, encoding="utf-8")
    child.logfile_read = io.StringIO()  # all it drew
    child.expect("›")
    child.send("/read h hostile://title\r")
    child.expect("before ␛]0;pwned␇␛\\[2J after")
    child.expect("›")
    child.send("\x04")
    child.expect(pexpect.EOF)
    child.close()
    drawn = child.logfile_read.getvalue()
    assert "\x1b]0;pwned" not in drawn and "\x1b[2J" not in drawn and child.exitstatus == 0
