"""The code of an answer (`-x`, `--extract-last`) and a reply cleaned into a command (`otchat cmd`)."""

from __future__ import annotations

import pytest

from otchat.extract import (
    clean_command,
    code_blocks,
    command_system_prompt,
    extract,
    fenced,
    os_name,
    shell_name,
)

SEVERAL = """Here is the function:

```python
def reverse(s):
    return s[::-1]
```

And a test:

```python
assert reverse("ab") == "ba"
```

Run it with:

```
python -m pytest
```
"""


# --- code_blocks and extract (-x) ------------------------------------------------------------

def test_no_fenced_block_extracts_nothing():
    assert code_blocks("Just prose, with `inline code`.\n") == []
    assert extract("Just prose, with `inline code`.\n") is None
    assert extract("") is None


def test_one_block_without_fence_or_language_tag():
    assert extract("Sure:\n\n```python\nprint('hi')\n```\n\nDone.") == "print('hi')\n"


def test_several_blocks_in_order_separated_by_one_blank_line():
    assert extract(SEVERAL) == (
        "def reverse(s):\n    return s[::-1]\n\nassert reverse(\"ab\") == \"ba\"\n\npython -m pytest\n"
    )


def test_extract_last_keeps_the_last_block_only():
    assert extract(SEVERAL, last=True) == "python -m pytest\n"
    assert extract("```\nonly\n```", last=True) == "only\n"


def test_ends_with_exactly_one_newline_whatever_the_block_ends_with():
    assert extract("```\n\nx = 1\n\n\n```\n```\ny\n```") == "x = 1\n\ny\n"


def test_blank_blocks_are_skipped():
    assert extract("```\n```\n\n```sh\nls\n```\n```\n   \n```") == "ls\n"
    assert extract("```\n\n```") is None


def test_a_longer_or_tilde_fence_holds_shorter_fences():
    answer = "````markdown\nA block:\n```python\nx = 1\n```\n````\n\n~~~\n```not a fence```\n~~~\n"
    assert code_blocks(answer) == ["A block:\n```python\nx = 1\n```\n", "```not a fence```\n"]


def test_a_fence_inside_a_list_or_a_quote_loses_the_container_indentation():
    answer = "1. Install:\n\n   ```sh\n   pip install otchat\n   ```\n2. Done.\n\n> ```\n> quoted\n> ```\n"
    assert extract(answer) == "pip install otchat\n\nquoted\n"


def test_indented_code_blocks_are_not_extracted():
    assert extract("Text\n\n    indented = True\n") is None


def test_an_unclosed_fence_runs_to_the_end_of_a_cut_off_answer():
    assert extract("```python\ndef f():\n    return 1\n") == "def f():\n    return 1\n"


def test_code_is_exact_inside():
    code = "\tif x:  \n\t\treturn '<b>&amp;</b>'  # tabs, trailing spaces and markup stay\n"
    assert extract(f"```\n{code}```") == code


# --- clean_command (otchat cmd) --------------------------------------------------------------

@pytest.mark.parametrize(
    "reply, command",
    [
        ("find . -size +100M", "find . -size +100M"),
        ("```bash\nfind . -size +100M\n```", "find . -size +100M"),
        ("~~~sh\nls -la\n~~~\n", "ls -la"),
        ("`du -sh *`", "du -sh *"),
        ("```du -sh *```", "du -sh *"),
        ("``echo `date` ``", "echo `date`"),
        ("  ls -la  \n\n", "ls -la"),
        ("$ ls -la", "ls -la"),
        ("```console\n$ df -h\n```", "df -h"),
        ("Here is the command:\n\n```bash\nfind . -size +100M\n```\n\nIt lists big files.", "find . -size +100M"),
        ("<think>They want big files. `ls`?</think>\n\n```sh\nfind . -size +100M\n```", "find . -size +100M"),
        ("<think>\nhmm\n</think>\nfind . -size +100M", "find . -size +100M"),
    ],
)
def test_a_reply_is_cleaned_into_its_command(reply, command):
    assert clean_command(reply) == command


def test_backticks_inside_a_command_are_kept():
    assert clean_command('echo "today is `date`"') == 'echo "today is `date`"'
    assert clean_command("`ls` and `pwd`") == "`ls` and `pwd`"  # not one wrapped command


def test_several_blocks_give_the_first():
    reply = "Either:\n\n```sh\nrm -- *.tmp\n```\n\nor, to be asked first:\n\n```sh\nrm -i -- *.tmp\n```\n"
    assert clean_command(reply) == "rm -- *.tmp"


def test_a_here_document_stays_on_its_lines():
    reply = "```bash\ncat <<'EOF' > notes.txt\n$ not a prompt\n  indented line\nEOF\n```"
    assert clean_command(reply) == "cat <<'EOF' > notes.txt\n$ not a prompt\n  indented line\nEOF"


def test_prompts_on_every_line_are_all_stripped():
    assert clean_command("```\n$ cd build\n$ make\n```") == "cd build\nmake"


def test_an_empty_reply_gives_an_empty_command():
    assert clean_command("") == ""
    assert clean_command("```\n```") == ""
    assert clean_command("<think>nothing to say</think>") == ""


# --- the system prompt, the shell and the OS ---------------------------------------------------

def test_the_system_prompt_names_shell_and_os_and_asks_for_the_command_only():
    prompt = command_system_prompt("zsh", "macOS")
    assert "zsh" in prompt and "macOS" in prompt
    for rule in ("no prose", "no code fences", "one line", "here-document"):
        assert rule in prompt
    assert "fish has no here-documents" in command_system_prompt("fish", "Linux")
    assert "fish" not in prompt


@pytest.mark.parametrize(
    "environ, name",
    [
        ({"SHELL": "/usr/bin/zsh"}, "zsh"),
        ({"SHELL": "/opt/homebrew/bin/fish"}, "fish"),
        ({"SHELL": "bash"}, "bash"),
        ({"SHELL": "-zsh"}, "zsh"),
        ({"SHELL": ""}, "sh"),
        ({}, "sh"),
    ],
)
def test_shell_name_is_the_basename_of_shell(environ, name):
    assert shell_name(environ) == name


def test_os_name_says_macos_and_the_linux_distribution():
    assert os_name("Darwin") == "macOS"
    assert os_name("Windows") == "Windows"
    assert os_name("Linux", {"PRETTY_NAME": "Debian GNU/Linux 12", "NAME": "Debian"}) == "Linux (Debian GNU/Linux 12)"
    assert os_name("Linux", {}) == "Linux"
    assert os_name("") == "an unknown OS"
    assert os_name()  # this machine, whatever it is


def test_fenced_names_each_blocks_language_for_highlighting():
    assert fenced(SEVERAL) == [("python", "def reverse(s):\n    return s[::-1]"),
                               ("python", 'assert reverse("ab") == "ba"'), ("", "python -m pytest")]
    assert fenced(SEVERAL, last=True) == [("", "python -m pytest")]
    assert fenced("```sh {.x}\n\n```\n") == []  # a blank block holds no code
