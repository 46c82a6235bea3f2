"""Generated docs cannot drift, the man page lints, completion works in real shells, and
every otchat command line in the README parses."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otchat.shell import docgen
from tests.conftest import KEY, OTCHAT, clean_environ

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shell, name", sorted(docgen.FILES.items()))
def test_completion_scripts_match_the_generator(shell, name):
    committed = (ROOT / "completions" / name).read_text()
    assert committed == docgen.completion_script(shell), "run: python -m otchat.shell.docgen"
    printed = subprocess.run([str(OTCHAT), "completion", shell], capture_output=True, text=True, timeout=30)
    assert printed.stdout == committed


def test_man_page_matches_the_generator():
    assert (ROOT / "man" / "otchat.1").read_text() == docgen.man_page(), "run: python -m otchat.shell.docgen"


def test_man_page_documents_everything():
    page = (ROOT / "man" / "otchat.1").read_text()
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "ENVIRONMENT", "FILES",
                    "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        assert f".SH {section}" in page
    for command in ("otchat chat", "otchat models", "otchat config set", "otchat auth login",
                    "otchat history search", "otchat completion"):
        assert f'.SS "{command}' in page
    for code in ("0", "2", "3", "4", "5", "6", "7", "8", "9", "10", "130", "141"):
        assert f"\n.TP\n\\fB{code}" in page
    for variable in ("OPENTOOLS_API_KEY", "OTCHAT_CONFIG_DIR", "OTCHAT_DATA_DIR", "OTCHAT_PROFILE"):
        assert variable in page


def test_every_exit_code_table_says_what_1_means():
    """`history search` with no hit and `config get` of an unset key exit 1, grep's "no match"."""
    from otchat.errors import exit_status_summary

    readme_row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| 1 |"))
    man_entry = (ROOT / "man" / "otchat.1").read_text().split("\n.TP\n\\fB1\\fR\n")[1].split("\n.TP")[0]
    for text in (readme_row, man_entry, exit_status_summary()):
        lowered = text.lower()
        assert "no match" in lowered and "history search" in text and "config get" in text and "unexpected" in lowered


def test_the_readme_exit_table_is_the_one_in_errors():
    """README, man page and --help take the exit statuses from errors.EXIT_STATUS, the one copy."""
    from otchat.errors import EXIT_STATUS

    readme = (ROOT / "README.md").read_text()
    assert docgen.readme_exit_table() in readme, "run: python -m otchat.shell.docgen"
    assert [row.split(" | ")[0].strip("| ") for row in docgen.readme_exit_table().splitlines()[2:]] == [
        code for code, _, _ in EXIT_STATUS]


def test_man_page_passes_groff_lint():
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed here (.ci/run installs it)")
    proc = subprocess.run(["groff", "-man", "-ww", "-z", str(ROOT / "man" / "otchat.1")], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == ""


@pytest.fixture
def completion_home(home):
    (home / "config" / "config.toml").write_text(
        '[aliases]\nsonnet = "anthropic/claude-3.7-sonnet"\n[profiles.local]\nbase_url = "http://127.0.0.1:1/v1"\n'
        '[roles.poet]\nsystem = "rhyme"\n')
    (home / "data" / "models.json").write_text(
        '{"http://x/v1": {"fetched": 9999999999, "models": [{"id": "vendor/cached-model"}]}}')
    return home


def shell_env(home):
    return clean_environ(home, PATH=f"{OTCHAT.parent}{os.pathsep}{os.environ['PATH']}", OPENTOOLS_API_KEY=KEY)


def bash_complete(home, line):
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = (f"source {ROOT / 'completions' / 'otchat.bash'}\n"
              f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
              "_otchat_completion; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=shell_env(home), timeout=30)
    return [line for line in proc.stdout.splitlines() if line]


def seed_history(home):
    from otchat.store.db import Store

    with Store.open(home / "data") as store:
        return store.new_conversation("about otters", "m", None)


def test_bash_completes_commands_options_and_values(completion_home):
    home = completion_home
    cid = seed_history(home)
    assert bash_complete(home, "otchat ch") == ["chat"]
    assert "--model" in bash_complete(home, "otchat --mo")
    assert bash_complete(home, "otchat -m ") == ["sonnet", "vendor/cached-model"]
    assert bash_complete(home, "otchat chat --profile ") == ["local"]
    assert bash_complete(home, "otchat --role ") == ["poet"]
    assert bash_complete(home, "otchat --format j") == ["json", "jsonl"]
    assert bash_complete(home, "otchat history show ") == [cid[:8]]
    assert "profiles.local.base_url" in bash_complete(home, "otchat config get prof")
    assert bash_complete(home, "otchat config ") == ["list", "get", "set", "unset", "path", "edit"]
    assert bash_complete(home, "otchat -f ") == []  # handed to bash's own file-name completion


def test_history_switch_completes_the_branch_ends_of_the_conversation_named(completion_home):
    from otchat.store.db import Message, Store

    home = completion_home
    with Store.open(home / "data") as store:
        cid = store.new_conversation("about otters", "m", None)
        (question,) = store.add_messages(cid, [Message("user", "why do otters hold hands")])
        (first,) = store.add_messages(cid, [Message("assistant", "so they do not drift apart")])
        (second,) = store.add_messages(cid, [Message("assistant", "to stay together asleep")], parent=question)
    assert bash_complete(home, f"otchat history switch {cid[:8]} ") == [str(first), str(second)]
    assert bash_complete(home, f"otchat history switch {cid[:8]} {second}") == [str(second)]
    assert bash_complete(home, "otchat history switch nosuchid ") == []


def test_zsh_script_offers_the_candidates(completion_home):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed here (.ci/run installs it)")
    script = (
        "compdef() { :; }\n"
        "compadd() { local -a v; while (( $# )); do case $1 in -a) v=(${(P)2}); shift 2;; -d) shift 2;; *) shift;; esac;"
        " done; print -l -- $v; }\n"
        "_files() { print FILES; }\n"
        f"source {ROOT / 'completions' / '_otchat'}\n"
        "words=(otchat --format j); CURRENT=3; _otchat\n"
        "words=(otchat hist); CURRENT=2; _otchat\n"
        "words=(otchat -f ''); CURRENT=3; _otchat\n"
    )
    proc = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, env=shell_env(completion_home),
                          timeout=30)
    assert proc.stdout.split() == ["json", "jsonl", "history", "FILES"], proc.stderr


def test_fish_completes(completion_home):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed here (.ci/run installs it)")
    script = (f"source {ROOT / 'completions' / 'otchat.fish'}; complete -C'otchat hist'; "
              "complete -C'otchat -m '")
    proc = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                          env=shell_env(completion_home), timeout=30)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("history\t") and "sonnet" in lines and "vendor/cached-model" in lines, proc.stderr


PROBE = """
import os, sys
os.environ["_OTCHAT_COMPLETE"] = "bash"
sys.argv = ["otchat", *{args!r}]
try:
    from otchat.entry import main
    main()
except SystemExit:
    pass
heavy = ("httpx2", "httpx", "rich", "prompt_toolkit", "sqlite3", "markdown_it", "mcp")
sys.stderr.write("LOADED=" + ",".join(m for m in heavy if m in sys.modules) + "\\n")
"""


@pytest.mark.parametrize("args", [["con"], ["--mo"], ["-m", ""], ["config", "get", ""], ["--format", ""]])
def test_completion_imports_nothing_heavy(completion_home, args):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                          env=clean_environ(completion_home), timeout=30)
    assert proc.stdout and "LOADED=\n" in proc.stderr, proc.stderr


def readme_command_lines():
    """(line, otchat's arguments, whether stdin is piped) for each otchat line in README shell blocks."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split(" # ")[0].strip()
            segments = line.split(" && ")[-1].split(" | ")
            for position, segment in enumerate(segments):
                words = shlex.split(segment)
                while words and re.match(r"^[A-Z_]+=", words[0]):
                    words.pop(0)
                if not words or not words[0].endswith("otchat"):
                    continue
                piped = position > 0 or "<" in words
                args = words[1:]
                for redirect in ("<", ">", "2>usage.txt", "&"):
                    if redirect in args:
                        args = args[: args.index(redirect)]
                lines.append((line, args, piped))
    return lines


SUBCOMMANDS = ("chat", "config", "auth", "history", "models", "completion", "mcp", "shell-integration")


@pytest.fixture
def readme_world(home):
    """What the README's examples assume: a profile, a role, files, an earlier conversation."""
    (home / "config" / "config.toml").write_text(
        '[aliases]\nsonnet = "anthropic/claude-3.7-sonnet"\n'
        '[profiles.local]\nbase_url = "http://127.0.0.1:1/v1"\napi_key_env = ""\n'
        '[roles.reviewer]\nsystem = "review"\n')
    from otchat.store.db import Message, Store

    with Store.open(home / "data") as store:
        store.db.execute("INSERT INTO conversations (id, title, model, profile, created, updated)"
                         " VALUES ('3f2a000000000000', 'earlier', 'm', NULL, 1, 1)")
        store.add_messages("3f2a000000000000", [Message("user", "earlier question")])
    work = home / "work"
    work.mkdir()
    for name in ("main.py", "test_main.py", "note.txt"):
        (work / name).write_text("x = 1\n")
    (work / "examples").mkdir()  # the repository's example function file, as the README uses it
    shutil.copyfile(Path(__file__).parent.parent / "examples" / "weather.json", work / "examples" / "weather.json")
    (work / "invoice.txt").write_text("ACME, 2026-11-30, 12.50\n")
    (work / "invoice.schema.json").write_text('{"type": "object", "properties": {"total": {"type": "number"}}}')
    return work


@pytest.mark.parametrize("line, args, piped", readme_command_lines(), ids=[item[0] for item in readme_command_lines()])
def test_readme_command_lines_parse(otchat, readme_world, line, args, piped):
    stdin = b"some piped text\n" if piped else b""
    if args and args[0] in SUBCOMMANDS:
        r = otchat(*args, "--help", cwd=readme_world, input=stdin)
    else:
        extra = [] if "--dry-run" in args else ["--dry-run"]
        r = otchat(*args, *extra, cwd=readme_world, input=stdin)
    assert r.code == 0, f"{line}\n{r.stderr}"


def test_the_readme_teaches_more_than_a_handful_of_commands():
    assert len(readme_command_lines()) >= 25


def test_the_man_page_holds_the_slash_commands_keys_config_keys_and_function_files():
    from otchat.config.schema import TOP
    from otchat.term.slash import COMMANDS, KEYS

    page = docgen.man_page()
    for section in (".SH REPL COMMANDS", ".SS Keys", ".SH CONFIGURATION", ".SH FUNCTION FILES"):
        assert section in page
    text = page.replace("\\-", "-").replace("\\e", "\\")
    assert all(command.usage in text for command in COMMANDS)
    assert all(key in text for key, _ in KEYS)
    assert all(f"\\fB{name}\\fR" in text for name in TOP)


def test_the_readme_example_function_file_is_the_one_in_the_repository_and_loads():
    import json

    from otchat.commands.inputs import load_functions

    root = Path(__file__).parent.parent
    example = root / "examples" / "weather.json"
    (tool,) = load_functions([example])
    assert tool["function"]["name"] == "weather"
    readme = (root / "README.md").read_text()
    shown = readme[readme.index("`examples/weather.json` in this repository is one:"):]
    block = shown[shown.index("```json\n") + 8:shown.index("\n```", shown.index("```json"))]
    assert json.loads(block) == json.loads(example.read_text())
    assert "--function examples/weather.json" in readme


def test_the_readme_names_every_command():
    import typer.main

    from otchat.app import app

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme[readme.index("## Commands and global options"):readme.index("## One-shot prompts")]
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        if not command.hidden:
            assert f"`otchat {name}" in table, name
            for sub in getattr(command, "commands", {}) or {}:
                assert sub in table, f"{name} {sub}"
