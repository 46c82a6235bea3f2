"""A local tool call's approval: one key (y yes; n, Enter, Esc, Ctrl-D no; t always), and what
is approved without asking (--yes, auto_approve, read-only tools of trusted servers only)."""

from dataclasses import dataclass

import pytest

from otchat.term.prompts import APPROVAL_KEYS, Approver
from tests.conftest import make_env


@dataclass
class Tool:
    function: str = "git__status"
    read_only: bool = False
    trusted: bool = False
    destructive: bool = False

    @property
    def trusted_read_only(self) -> bool:
        return self.read_only and self.trusted

    @property
    def hints(self) -> list[str]:
        return [word for word, given in (("read-only", self.read_only), ("destructive", self.destructive)) if given]


def keys(*pressed):
    queue = list(pressed)
    return lambda: queue.pop(0)


@pytest.mark.parametrize("key, answer, echoed", [
    ("y", True, "yes"), ("Y", True, "yes"),
    ("n", False, "no"), ("\r", False, "no"), ("\n", False, "no"), ("\x1b", False, "no"), ("\x04", False, "no"),
])
def test_one_key_answers(key, answer, echoed):
    env = make_env()
    approve = Approver(env, False, read_key=keys(key))
    assert approve(Tool(), {"path": "."}) is answer
    assert env.stderr.getvalue() == f'Run git__status {{"path": "."}}? {APPROVAL_KEYS}: {echoed}\n'


def test_t_is_always_for_that_tool_and_only_that_one():
    env = make_env()
    approve = Approver(env, False, read_key=keys("t", "n"))
    assert approve(Tool(), {}) is True
    assert approve(Tool(), {}) is True  # not asked again: no key left to read
    assert approve(Tool("git__commit"), {}) is False
    assert "always for git__status" in env.stderr.getvalue()


def test_another_key_asks_again_and_ctrl_c_interrupts():
    env = make_env()
    approve = Approver(env, False, read_key=keys("a", "", "y"))  # `a` is not always: cmd's menu aborts with it
    assert approve(Tool(), {}) is True
    assert env.stderr.getvalue().count("press y, n or t") == 2
    with pytest.raises(KeyboardInterrupt):
        Approver(make_env(), False, read_key=keys("\x03"))(Tool(), {})


def test_hidden_characters_in_the_arguments_are_shown():
    env = make_env()
    Approver(env, False, read_key=keys("n"))(Tool(), {"text": "a\u202eb"})
    assert "a<U+202E>b" in env.stderr.getvalue()


@pytest.mark.parametrize("tool, auto, asked", [
    (Tool(read_only=True), False, True),  # the server's word alone: asked
    (Tool(read_only=True, trusted=True), False, False),
    (Tool(trusted=True), False, True),  # trusted, but it may write: asked
    (Tool(), True, False),  # --yes
    (Tool(), ["git__status"], False),  # auto_approve
    (Tool(), ["git__log"], True),
    (Tool(destructive=True), True, True),  # --yes does not cover what its server calls destructive
    (Tool(destructive=True, read_only=True, trusted=True), False, True),  # nor trust
    (Tool(destructive=True), ["git__status"], False),  # named in auto_approve: runs
])
def test_what_runs_without_asking(tool, auto, asked):
    read = []
    approve = Approver(make_env(), auto, read_key=lambda: read.append(1) or "n")
    assert approve(tool, {}) is (not asked)
    assert bool(read) is asked


def test_in_a_pipe_nobody_is_asked_and_the_call_is_refused():
    env = make_env()
    assert Approver(env, False)(Tool(read_only=True), {}) is False
    assert env.stderr.getvalue() == ("otchat: warning: git__status was not run: not approved "
                                     "(pass --yes, or set auto_approve)\n")


def test_a_destructive_tool_shows_its_hints_and_offers_no_always():
    env = make_env()
    approve = Approver(env, True, read_key=keys("t", "y", "y"))
    tool = Tool("fs__delete", destructive=True)
    assert approve(tool, {"path": "x"}) is True
    assert approve(tool, {"path": "y"}) is True  # asked again: no "always" for it
    err = env.stderr.getvalue()
    assert err.startswith('Run fs__delete {"path": "x"} (destructive)? [y]es / [n]o: \npress y or n')
    assert err.count("Run fs__delete") == 2 and "always" not in err


def test_in_a_pipe_a_destructive_tool_is_refused_even_with_yes():
    env = make_env()
    assert Approver(env, True)(Tool("fs__delete", destructive=True), {}) is False
    assert env.stderr.getvalue() == ("otchat: warning: fs__delete was not run: its server calls it destructive "
                                     "(list fs__delete in auto_approve)\n")
