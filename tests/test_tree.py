"""Conversations as trees, end to end against the fake server: /rewind, /undo, /retry, /branches,
/switch and /continue in the REPL; -c --regenerate; history fork, switch, show --tree and the JSON."""

from __future__ import annotations

import json
import time

from tests.fakeserver import Stream, error, text_chunks
from tests.helpers import contents, rows, screen


def only_cid(home):
    return rows(home, "SELECT id FROM conversations")[0][0]


def branch_with(otchat, cid, word):
    """The leaf id of the branch whose messages mention `word`, from history show --format json."""
    shown = json.loads(otchat("history", "show", cid[:8], "--format", "json").stdout)
    return next(b["id"] for b in shown["branches"] if any(word in m["content"] for m in b["messages"]))


def test_rewind_starts_a_new_branch_that_c_continues_and_switch_goes_back(otchat, home, server):
    r = otchat("chat", input="one\ntwo\nthree\n/rewind 1\nfour\n")
    assert r.code == 0 and "back after turn 1" in r.stderr
    assert "you: one\nassistant: You said: one" in r.stderr  # where it stands now
    assert contents(server.last_body) == ["one", "You said: one", "four"]
    assert otchat("-c", "five").code == 0
    assert contents(server.last_body) == ["one", "You said: one", "four", "You said: four", "five"]
    cid = only_cid(home)
    leaf = branch_with(otchat, cid, "three")
    r = otchat("history", "switch", cid[:8], str(leaf))
    assert r.code == 0 and f"#{leaf}" in r.stderr
    otchat("-c", "six")
    assert contents(server.last_body) == ["one", "You said: one", "two", "You said: two", "three",
                                          "You said: three", "six"]
    # Nothing is lost: every message ever sent or shown is still in the file.
    assert {c for (c,) in rows(home, "SELECT content FROM messages")} >= {
        "two", "You said: two", "three", "You said: three", "four", "You said: four", "five", "six"}


def test_switch_in_the_repl_shows_the_branch_and_c_continues_it(otchat, home, server):
    otchat("chat", input="one\ntwo\n/undo\nthree\n")
    cid = only_cid(home)
    leaf = branch_with(otchat, cid, "two")
    r = otchat("chat", "-c", input=f"/branches\n/switch #{leaf}\n")
    assert f"#{leaf}  from turn 1  2 messages  user: two" in r.stderr
    assert f"switched to #{leaf}" in r.stderr and "you: two\nassistant: You said: two" in r.stderr
    otchat("-c", "four")
    assert contents(server.last_body) == ["one", "You said: one", "two", "You said: two", "four"]
    assert "(2 branches)" in otchat("history", "list").stdout


def test_rewind_to_the_start_keeps_the_system_prompt(otchat, home, server):
    otchat("chat", "-s", "be brief", input="one\n/rewind 0\ntwo\n")
    otchat("-c", "three")
    assert contents(server.last_body) == ["be brief", "two", "You said: two", "three"]


def test_rewind_refuses_a_turn_that_is_not_there(otchat, server):
    r = otchat("chat", input="one\n/rewind 5\n/rewind x\n")
    assert "no turn 5 to go back to: this conversation has 1 turn" in r.stderr
    assert "usage: /rewind [N]" in r.stderr


def test_retry_keeps_both_answers_and_sends_only_the_new_one(otchat, home, server):
    server.enqueue(Stream(text_chunks("the old answer")), Stream(text_chunks("the new answer")))
    r = otchat("chat", input="what is a quokka\n/retry\nmore\n")
    assert r.code == 0
    bodies = [req.body for req in server.requests if req.method == "POST"]
    assert contents(bodies[1]) == ["what is a quokka"]
    assert contents(bodies[2]) == ["what is a quokka", "the new answer", "more"]
    assert rows(home, "SELECT content, parent_id FROM messages WHERE role = 'assistant' AND parent_id = 1") == [
        ("the old answer", 1), ("the new answer", 1)]


def test_retry_right_after_clear_has_nothing_to_retry(otchat, server):
    r = otchat("chat", input="the cleared question\n/clear\n/retry\n")
    assert "nothing to retry yet" in r.stderr
    assert [contents(req.body) for req in server.requests if req.method == "POST"] == [["the cleared question"]]


def test_a_failed_retry_changes_nothing(otchat, home, server):
    server.enqueue(Stream(text_chunks("the old answer")), error(500, {"error": {"message": "down"}}))
    otchat("chat", "--retries", "0", input="a question\n/retry\n", expect=5)  # a script: the failed retry's status
    otchat("-c", "next")
    assert contents(server.last_body) == ["a question", "the old answer", "next"]


def test_continue_after_length_sends_the_partial_reply_and_stores_one_message(otchat, home, server):
    server.enqueue(Stream(text_chunks("The first half", finish="length")), Stream(text_chunks(" and the rest")))
    r = otchat("chat", input="tell me\n/continue\nnext\n")
    assert r.code == 0
    bodies = [req.body for req in server.requests if req.method == "POST"]
    assert contents(bodies[1])[:2] == ["tell me", "The first half"]
    assert bodies[1]["messages"][1]["role"] == "assistant" and "exactly where it stopped" in contents(bodies[1])[2]
    assert contents(bodies[2]) == ["tell me", "The first half and the rest", "next"]
    assert rows(home, "SELECT content, finish_reason FROM messages WHERE role = 'assistant' ORDER BY id")[0] == (
        "The first half and the rest", "stop")
    assert rows(home, "SELECT COUNT(*) FROM messages") == [(4,)]
    otchat("-c", "again")
    assert contents(server.last_body)[:2] == ["tell me", "The first half and the rest"]
    # FTS finds the joined reply.
    assert otchat("history", "search", "rest").code == 0


def test_continue_after_a_normal_reply_sends_nothing(otchat, server):
    r = otchat("chat", input="hello\n/continue\n")
    assert "the last reply finished normally; nothing sent" in r.stderr
    assert len([req for req in server.requests if req.method == "POST"]) == 1


def test_regenerate_asks_the_last_question_again_beside_the_old_answer(otchat, home, server):
    otchat("first")
    server.enqueue(Stream(text_chunks("the old answer")))
    otchat("-c", "second")
    server.enqueue(Stream(text_chunks("the new answer")))
    r = otchat("-c", "--regenerate", "-m", "other/model")
    assert r.code == 0 and r.stdout == "the new answer\n"
    assert contents(server.last_body) == ["first", "You said: first", "second"]
    assert server.last_body["model"] == "other/model"
    assert rows(home, "SELECT content FROM messages WHERE parent_id = 3 ORDER BY id") == [
        ("the old answer",), ("the new answer",)]
    otchat("-c", "third")
    assert contents(server.last_body)[-2:] == ["the new answer", "third"]


def test_regenerate_takes_no_prompt_and_needs_a_conversation(otchat, server):
    assert otchat("-c", "--regenerate", "a prompt", expect=2).code == 2
    assert otchat("--regenerate", expect=2).code == 2
    assert not server.requests


def test_fork_copies_the_path_and_leaves_the_original(otchat, home, server):
    otchat("chat", input="one\ntwo\n")
    cid = only_cid(home)
    before = rows(home, "SELECT * FROM messages ORDER BY id")
    r = otchat("history", "fork", cid[:8], "--at", "1")
    assert r.code == 0
    new = r.stdout.splitlines()[-1]
    assert new != cid and len(new) == 16
    assert rows(home, f"SELECT * FROM messages WHERE conversation_id = '{cid}' ORDER BY id") == before
    otchat("--cid", new, "three")
    assert contents(server.last_body) == ["one", "You said: one", "three"]
    assert otchat("history", "fork", cid[:8], "--at", "3", expect=2).code == 2


def test_show_json_gives_the_path_and_the_branches_and_the_tree_is_indented_in_a_pipe(otchat, home, server):
    otchat("chat", input="one\ntwo\n/undo\nthree\n")
    cid = only_cid(home)
    shown = json.loads(otchat("history", "show", cid[:8], "--format", "json").stdout)
    assert [(m["content"], m["id"], m["parent"]) for m in shown["messages"]] == [
        ("one", 1, None), ("You said: one", 2, 1), ("three", 5, 2), ("You said: three", 6, 5)]
    assert shown["branches"] == [{"id": 4, "from": 2, "messages": [
        {**m, "id": i, "parent": i - 1} for i, m in
        [(3, shown["branches"][0]["messages"][0]), (4, shown["branches"][0]["messages"][1])]]}]
    tree = otchat("history", "show", cid[:8], "--tree").stdout.splitlines()
    assert tree == ["#1 user: one", "#2 assistant: You said: one", "- #3 user: two", "  #4 assistant: You said: two",
                    "- #5 user: three", "  #6 assistant: You said: three  ← current"]
    path = otchat("history", "export", cid[:8]).stdout
    assert "two" not in path and "three" in path
    whole = json.loads(otchat("history", "export", cid[:8], "--format", "json", "--tree").stdout)
    assert len(whole["messages"]) == 6
    assert "## user · #3 after #2\n\ntwo" in otchat("history", "export", cid[:8], "--tree").stdout


# In a real terminal ---------------------------------------------------------------

from tests.test_repl_pty import PROMPT, leave, say, spawn  # noqa: E402,F401  (spawn: a fixture)


def test_pty_rewind_shows_the_last_exchange_dimmed_and_continue_goes_on_after_ctrl_c(spawn, server, otchat, home):  # noqa: F811 (the fixture)
    child = spawn()
    for word in ("alpha", "beta"):
        say(child, word)
        child.expect(f"You said: {word}")
        child.expect(PROMPT)
    say(child, "/rewind 1")
    child.expect("back after turn 1")
    child.expect(PROMPT)
    shown = child.logfile_read.getvalue()
    assert "\x1b[2m" in shown[shown.index("back after turn 1"):shown.rindex("assistant: You said: alpha")]
    assert "you: alpha" in screen(child)
    server.enqueue(Stream(text_chunks("Partial answer before the pause and more", 5), gap=(6, 30.0)),
                   Stream(text_chunks(" and the end.")))
    say(child, "tell me a long story")
    child.expect("Partial answer before the")
    child.send("\x03")
    child.expect("interrupted")
    child.expect(PROMPT)
    say(child, "/continue")
    child.expect("and the end.")
    child.expect(PROMPT)
    assert contents(server.last_body)[:4] == ["alpha", "You said: alpha", "tell me a long story",
                                              "Partial answer before the"]
    assert leave(child) == 0
    otchat("-c", "next")
    assert contents(server.last_body) == ["alpha", "You said: alpha", "tell me a long story",
                                          "Partial answer before the and the end.", "next"]
    assert rows(home, "SELECT interrupted FROM messages WHERE content LIKE 'Partial%'") == [(0,)]


def test_save_from_a_pipe_refuses_an_existing_file_and_makes_no_directory(otchat, home):
    target = home / "kept.md"
    target.write_text("mine\n")
    r = otchat("chat", input=f"first question\n/save {target}\n/save {home}/no/such/dir/x.md\n")
    assert f"{target} exists; /save! {target} replaces it" in r.stderr
    assert target.read_text() == "mine\n"
    assert f"cannot write {home}/no/such/dir/x.md" in r.stderr and not (home / "no").exists()
    r = otchat("chat", input=f"first question\n/save! {target}\n")
    assert f"saved 2 messages to {target}" in r.stderr
    assert target.read_text().startswith("# first question\n\n## user\n\nfirst question")


def test_history_export_makes_no_directory(otchat, home):
    assert otchat("hello").code == 0
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    r = otchat("history", "export", cid[:8], "-o", str(home / "missing" / "x.md"), expect=2)
    assert "cannot write" in r.stderr and len(r.stderr.strip().splitlines()) == 1 and not (home / "missing").exists()


def test_lists_and_trees_on_a_narrow_terminal_are_cut_never_broken_mid_word(otchat, home, server):
    from tests.helpers import run_in_pty

    otchat("chat", input="a first question with a rather long title to show\n/retry\n/retry\n")
    code, lines, _ = run_in_pty(server, home, "history", "list", dimensions=(10, 40))
    listed = [line for line in lines if line]
    assert code == 0 and len(listed) == 1, lines
    assert listed[0].endswith("…  (3 branches)") and len(listed[0]) <= 40
    cid = listed[0][:8]
    code, lines, _ = run_in_pty(server, home, "history", "show", cid, "--tree", dimensions=(10, 40))
    drawn_lines = [line for line in lines if line]
    assert len(drawn_lines) == 4 and all(len(line) <= 40 for line in drawn_lines), lines
    assert drawn_lines[-1].endswith("← current")
    piped = otchat("history", "list").stdout  # a pipe gets the whole line
    assert "(3 branches)" in piped and "a first question with a rather long title to show" in piped


def test_slash_help_and_history_fit_the_terminal(spawn_pty, home, server):
    child = spawn_pty(["chat"], dimensions=(60, 100))
    child.expect("Ctrl-D leaves")
    child.send("/help\r")
    child.expect("leave \\(also Ctrl-D\\)")
    time.sleep(0.3)
    shown = screen(child)
    help_lines = shown[shown.index("Commands:") + 1:]
    assert help_lines and all(len(line) <= 100 for line in help_lines)
    words = " ".join(" ".join(help_lines).split())
    # Wrapped at words (the keys line is 101 characters long), never mid-word by the terminal.
    assert "save the conversation as markdown (! replaces FILE without asking)" in words
    assert "Ctrl-C: stops a reply or clears the line · Ctrl-D: leaves" in words
    child.send("\x04")
