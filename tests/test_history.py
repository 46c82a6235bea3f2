"""The conversation log: schema, migrations, continue, browse, search, export, faults."""

import json
import signal
import sqlite3
import subprocess
import time

import pytest

from otchat.errors import ExitCode
from otchat.store.db import SCHEMA_VERSION, Message, Store
from otchat.store.migrations import MIGRATIONS, _statements
from tests.conftest import KEY, OTCHAT, clean_environ, make_env
from tests.fakeserver import Stream, chunk, error, text_chunks
from tests.helpers import contents, rows


def db_path(home):
    return home / "data" / "history.db"


def test_migrates_a_version_1_database(tmp_path):
    path = tmp_path / "history.db"
    db = sqlite3.connect(path)
    for statement in _statements(MIGRATIONS[0]):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO conversations VALUES ('abcdef0123456789', 'old talk', 'm', NULL, 1, 1)")
    db.execute("INSERT INTO messages (conversation_id, role, content, created) VALUES"
               " ('abcdef0123456789', 'user', 'remember the platypus', 1)")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7  # 7: messages.items (a tool result by type)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [hit[0] for hit in store.search("platypus")] == ["abcdef0123456789"]
        assert store.resolve("abc") == "abcdef0123456789"


def test_a_database_from_a_newer_otchat_is_refused(tmp_path):
    path = tmp_path / "history.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    from otchat.store.db import StoreError

    with pytest.raises(StoreError, match="newer otchat"):
        Store(path)


def test_prefixes_must_be_unique(tmp_path):
    from otchat.errors import UsageError

    with Store(tmp_path / "h.db") as store:
        ids = [store.new_conversation(f"t{i}", "m", None) for i in range(40)]
        with pytest.raises(UsageError):
            store.resolve("")
        with pytest.raises(UsageError, match="no conversation"):
            store.resolve("f" * 16 + "0")
        assert all(store.resolve(cid[:12]) == cid for cid in ids)


def test_every_turn_is_logged_with_its_details(otchat, home, server):
    assert otchat("-s", "be brief", "what about otters").code == 0
    (cid, title, model, count), = rows(home, "SELECT c.id, c.title, c.model, (SELECT COUNT(*) FROM messages)"
                                             " FROM conversations c")
    assert title == "what about otters" and model == "anthropic/claude-3.7-sonnet" and count == 3
    messages = rows(home, "SELECT role, content, model, finish_reason, usage, latency, interrupted FROM messages"
                          " ORDER BY id")
    assert [m[:2] for m in messages] == [("system", "be brief"), ("user", "what about otters"),
                                         ("assistant", "You said: what about otters")]
    reply = messages[2]
    assert reply[2] == "fake/model" and reply[3] == "stop" and json.loads(reply[4])["total_tokens"] == 33
    assert reply[5] >= 0 and reply[6] == 0


def test_continue_and_cid_send_the_earlier_messages(otchat, home, server):
    otchat("first topic")
    otchat("second topic")
    assert otchat("-c", "more on that").code == 0
    assert [m["content"] for m in server.last_body["messages"]] == [
        "second topic", "You said: second topic", "more on that"]
    first_id = rows(home, "SELECT id FROM conversations WHERE title = 'first topic'")[0][0]
    assert otchat("--cid", first_id[:6], "back to the first").code == 0
    assert [m["content"] for m in server.last_body["messages"]] == [
        "first topic", "You said: first topic", "back to the first"]
    counts = dict(rows(home, "SELECT c.title, COUNT(m.id) FROM conversations c JOIN messages m"
                             " ON m.conversation_id = c.id GROUP BY c.id"))
    assert counts == {"first topic": 4, "second topic": 4}


def test_continue_keeps_the_system_prompt_unless_replaced(otchat, server):
    otchat("-s", "talk like a pirate", "hello")
    otchat("-c", "again")
    assert server.last_body["messages"][0] == {"role": "system", "content": "talk like a pirate"}
    otchat("-c", "-s", "talk normally", "and now")
    assert server.last_body["messages"][0] == {"role": "system", "content": "talk normally"}


def test_unknown_cid_is_a_usage_error(otchat):
    otchat("something")
    r = otchat("--cid", "ffffffffff", "hi", expect=2)
    assert r.code == 2 and "no conversation" in r.stderr


def test_list_show_search_export(otchat, home, tmp_path):
    otchat("tell me about the capybara")
    time.sleep(0.01)
    otchat("and the wombat please")
    listed = otchat("history", "list").stdout.splitlines()
    assert len(listed) == 2 and listed[0].endswith("and the wombat please") and "  2  " in listed[0]
    data = json.loads(otchat("history", "list", "--json", "-n", "1").stdout)
    assert len(data) == 1 and data[0]["title"] == "and the wombat please" and data[0]["message_count"] == 2
    cid = data[0]["id"]
    shown = otchat("history", "show", cid[:8]).stdout
    assert shown.startswith("# and the wombat please\n") and "## assistant (fake/model)" in shown
    hits = otchat("history", "search", "capybara").stdout.splitlines()
    assert len(hits) == 2 and all("[capybara]" in hit for hit in hits)
    assert hits[0].split()[3] == "assistant"  # newest first
    assert otchat("history", "search", "no-such-word-anywhere", expect=1).code == 1
    exported = json.loads(otchat("history", "export", cid, "--format", "json").stdout)
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant"]
    target = tmp_path / "out.md"
    assert otchat("history", "export", cid, "--output", str(target)).code == 0
    assert target.read_text() == shown
    assert otchat("history", "path").stdout.strip() == str(db_path(home))


def test_rm_by_id_and_by_age(otchat, home):
    otchat("keep me")
    otchat("drop me")
    cid = rows(home, "SELECT id FROM conversations WHERE title = 'drop me'")[0][0]
    r = otchat("history", "rm", cid[:8], expect=2)
    assert r.code == 2 and "--yes" in r.stderr
    assert otchat("history", "rm", cid[:8], "--yes").code == 0
    assert rows(home, "SELECT title FROM conversations") == [("keep me",)]
    assert rows(home, "SELECT COUNT(*) FROM messages") == [(2,)]
    with sqlite3.connect(db_path(home)) as db:
        db.execute("UPDATE conversations SET updated = updated - 40 * 86400")
    assert otchat("history", "rm", "--older-than", "30d", "--yes").code == 0
    assert rows(home, "SELECT COUNT(*) FROM conversations") == [(0,)]
    assert otchat("history", "rm", "--older-than", "soon", "--yes", expect=2).code == 2


def stored_conversation(home, text="about otters"):
    with Store.open(home / "data") as store:
        cid = store.new_conversation(text, "m", None)
        store.add_messages(cid, [Message("user", text), Message("assistant", "they hold hands")])
    return cid


def test_export_over_an_existing_file_asks_or_needs_yes(home):
    """In-process: like `history rm`, replacing a file is confirmed on a terminal, or with --yes."""
    from otchat.app import run

    cid = stored_conversation(home)
    target = home / "chat.md"
    target.write_text("my notes\n")
    env = make_env(home=home, stdin=b"")
    assert run(["history", "export", cid[:8], "-o", str(target)], env) == ExitCode.USAGE
    assert env.stderr.getvalue() == f"otchat: error: {target} exists; add --yes to overwrite it\n"
    assert target.read_text() == "my notes\n"
    for answer, kept in ((b"n\n", True), (b"\n", True), (b"y\n", False)):  # a terminal: asked, "no" by default
        env = make_env(home=home, stdin=answer)
        env.stdin_isatty = True
        assert run(["history", "export", cid[:8], "--output", str(target)], env) == 0
        assert f"Overwrite {target}? [y/N] " in env.stderr.getvalue()
        assert (target.read_text() == "my notes\n") is kept
    target.write_text("my notes\n")
    env = make_env(home=home, stdin=b"")
    assert run(["history", "export", cid[:8], "-o", str(target), "--yes"], env) == 0
    assert target.read_text().startswith("# about otters\n") and "Overwrite" not in env.stderr.getvalue()
    fresh = home / "new.md"  # a new file is never asked about
    assert run(["history", "export", cid[:8], "-o", str(fresh)], make_env(home=home, stdin=b"")) == 0
    assert fresh.read_text() == target.read_text()


def test_search_without_a_match_is_no_match_not_an_error(home):
    from otchat.app import run

    stored_conversation(home)
    env = make_env(home=home)
    assert run(["history", "search", "platypus"], env) == ExitCode.NO_MATCH == 1
    assert (env.stdout.getvalue(), env.stderr.getvalue()) == ("", "nothing matches 'platypus'\n")
    env = make_env(home=home)
    assert run(["history", "search", "otters"], env) == 0 and "otters" in env.stdout.getvalue()


def test_search_takes_prefixes_and_or_and_nothing_else_as_syntax(otchat, server):
    for text in ("otters hold hands", "beavers build dams", "a colon: and (parens) AND NOT"):
        assert otchat(text).code == 0
    def found(*words):
        r = otchat("history", "search", *words, expect=(0, 1))
        return r.code, r.stdout
    assert "otters" in found("ott*")[1] and "beavers" not in found("ott*")[1]
    code, out = found("otters", "OR", "beavers")
    assert code == 0 and "otters" in out and "beavers" in out
    assert found("otters", "beavers")[0] == 1  # every word must appear
    code, out = found("colon:", "(parens)", "AND", "NOT")  # FTS5's own syntax is just words
    assert code == 0 and "colon" in out
    assert found("OR", "dams", "OR")[0] == 0


def test_no_log_flag_and_config(otchat, home):
    otchat("--no-log", "private")
    assert not db_path(home).exists()
    (home / "config" / "config.toml").write_text("log = false\n")
    otchat("also private")
    assert not db_path(home).exists()


def test_eight_processes_at_once_lose_nothing(server, home):
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    procs = [subprocess.Popen([str(OTCHAT), f"parallel question {i}"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) for i in range(8)]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [r[0] for r in results] == [0] * 8 and all(r[2] == b"" for r in results)
    titles = sorted(t for (t,) in rows(home, "SELECT title FROM conversations"))
    assert titles == sorted(f"parallel question {i}" for i in range(8))
    assert rows(home, "SELECT COUNT(*) FROM messages") == [(16,)]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_reply_is_stored_and_marked(server, home, sig, code):
    server.enqueue(Stream(text_chunks("Half of an answer and", 5), gap=(3, 30.0)))
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    proc = subprocess.Popen([str(OTCHAT), "long one"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout.read(10) == b"Half of an"
    # Signal once it waits on the socket: a signal that lands in the instant between Python's
    # last check for signals and the blocking read is acted on only when the read returns
    # (CPython's own race; a person's Ctrl-C does not land there, a script's reading the
    # output right before can).
    time.sleep(0.3)
    proc.send_signal(sig)
    proc.communicate(timeout=10)
    assert proc.returncode == code
    assert rows(home, "SELECT role, content, interrupted FROM messages ORDER BY id") == [
        ("user", "long one", 0), ("assistant", "Half of an", 1)]


def test_a_broken_stream_is_stored_and_marked(otchat, home, server):
    server.enqueue(Stream([chunk({"content": "cut off he"})], done=False))
    assert otchat("hi", expect=7).code == 7
    assert rows(home, "SELECT role, content, interrupted FROM messages ORDER BY id")[-1] == (
        "assistant", "cut off he", 1)


def test_a_failed_request_still_logs_what_the_user_typed(otchat, home, server):
    server.enqueue(error(400, {"error": {"message": "nope"}}))
    assert otchat("my precious words", expect=4).code == 4
    assert rows(home, "SELECT role, content FROM messages") == [("user", "my precious words")]


def test_a_corrupt_database_does_not_stop_the_answer(otchat, home):
    db_path(home).write_bytes(b"this is not a database at all" * 100)
    before = db_path(home).read_bytes()
    r = otchat("hello")
    assert r.code == 0 and r.stdout == "You said: hello\n"
    assert r.stderr.count("\n") == 1 and str(db_path(home)) in r.stderr and "history not saved" in r.stderr
    assert db_path(home).read_bytes() == before
    r = otchat("history", "list", expect=1)
    assert r.code == 1 and str(db_path(home)) in r.stderr and len(r.stderr.splitlines()) == 1


def test_an_unwritable_data_dir_is_a_warning(otchat, home):
    blocker = home / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    r = otchat("hello", env={"OTCHAT_DATA_DIR": str(blocker / "data")})
    assert r.code == 0 and r.stdout == "You said: hello\n" and "history not saved" in r.stderr


def test_no_row_contains_the_key(otchat, home, server):
    otchat("-v", "one")
    otchat("-c", "two", "--json")
    otchat("chat", input="three\n/model x\nfour\n")
    with sqlite3.connect(db_path(home)) as db:
        dump = "\n".join(db.iterdump())
    assert "three" in dump and KEY not in dump


def test_repl_history_and_resume(otchat, home, server):
    otchat("an old conversation about tea")
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    r = otchat("chat", input=f"/history\n/resume {cid[:8]}\nand coffee?\n")
    assert cid[:8] in r.stderr and "resumed" in r.stderr
    assert [m["content"] for m in server.last_body["messages"]] == [
        "an old conversation about tea", "You said: an old conversation about tea", "and coffee?"]
    assert rows(home, "SELECT COUNT(*) FROM conversations") == [(1,)]
    assert rows(home, "SELECT COUNT(*) FROM messages") == [(4,)]


def test_chat_continue_flag(otchat, server):
    otchat("opening")
    otchat("chat", "-c", input="follow-up\n")
    assert [m["content"] for m in server.last_body["messages"]] == ["opening", "You said: opening", "follow-up"]


def test_message_json_leaves_out_empty_fields():
    assert Message("user", "hi").to_json() == {"role": "user", "content": "hi"}
    assert Message("assistant", "x", interrupted=True, latency=1.5).to_json() == {
        "role": "assistant", "content": "x", "interrupted": True, "latency": 1.5}


def test_rm_asks_on_a_terminal(otchat, home, server):
    import pexpect

    otchat("short-lived")
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    child = pexpect.spawn(str(OTCHAT), ["history", "rm", cid[:8]], env=clean_environ(home), timeout=20)
    child.expect(r"Remove 1 conversation\(s\)\? \[y/N\]")
    child.send("y\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and rows(home, "SELECT COUNT(*) FROM conversations") == [(0,)]


def test_migrates_a_version_2_database_with_nothing_lost(tmp_path):
    path = tmp_path / "history.db"
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        for statement in _statements(migration):
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO conversations VALUES ('0123456789abcdef', 'kept talk', 'm', 'work', 1, 2)")
    db.execute("INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id, model,"
               " finish_reason, usage, latency, interrupted, created) VALUES"
               " ('0123456789abcdef', 'user', 'about the wombat', NULL, NULL, NULL, NULL, NULL, NULL, 0, 1),"
               " ('0123456789abcdef', 'assistant', 'the wombat digs', '[{\"id\": \"c1\"}]', NULL, 'm', 'stop',"
               "  '{\"total_tokens\": 5}', 0.5, 1, 2)")
    db.commit()
    before = db.execute("SELECT * FROM messages ORDER BY id").fetchall()
    db.close()
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7  # 7: messages.items (a tool result by type)
        after = store.db.execute("SELECT * FROM messages ORDER BY id").fetchall()
        assert [row[:len(before[0])] for row in after] == before
        # reasoning, hidden, parent, items
        assert [row[len(before[0]):] for row in after] == [(None, 0, None, None), (None, 0, 1, None)]
        conversation = store.conversation("0123456789abcdef")
        assert (conversation.title, conversation.profile, conversation.count) == ("kept talk", "work", 2)
        reply = conversation.messages[1]
        assert (reply.content, reply.tool_calls, reply.usage, reply.interrupted, reply.hidden) == (
            "the wombat digs", [{"id": "c1"}], {"total_tokens": 5}, True, False)
        assert [hit[0] for hit in store.search("wombat")] == ["0123456789abcdef"] * 2


def test_an_undone_exchange_is_not_continued_but_kept(otchat, home, server):
    r = otchat("chat", input="first\nsecond\n/undo\n")
    assert r.code == 0 and "dropped the last exchange" in r.stderr
    assert otchat("-c", "third").code == 0
    assert contents(server.last_body) == ["first", "You said: first", "third"]
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    otchat("--cid", cid[:8], "fourth")
    assert contents(server.last_body) == ["first", "You said: first", "third", "You said: third", "fourth"]
    otchat("chat", input=f"/resume {cid[:8]}\nfifth\n")
    assert "second" not in contents(server.last_body)
    # Nothing the user saw is deleted: the undone exchange is a branch off turn 1.
    assert rows(home, "SELECT content, parent_id FROM messages WHERE content LIKE '%second'") == [
        ("second", 2), ("You said: second", 3)]
    assert rows(home, "SELECT COUNT(*) FROM messages WHERE hidden = 0") == [(10,)]


def test_a_retried_question_appears_once_with_the_new_answer(otchat, home, server):
    server.enqueue(Stream(text_chunks("the old answer")), Stream(text_chunks("the new answer")))
    r = otchat("chat", input="what is a quokka\n/retry\n")
    assert r.code == 0 and contents(server.last_body) == ["what is a quokka"]
    assert otchat("-c", "and a numbat").code == 0
    assert contents(server.last_body) == ["what is a quokka", "the new answer", "and a numbat"]
    # Both answers are kept, as siblings under the one question.
    assert rows(home, "SELECT role, content, parent_id FROM messages ORDER BY id")[:3] == [
        ("user", "what is a quokka", None), ("assistant", "the old answer", 1), ("assistant", "the new answer", 1)]


def test_retry_in_a_resumed_conversation_replaces_the_stored_answer(otchat, home, server):
    server.enqueue(Stream(text_chunks("a poor answer")))
    otchat("name a marsupial")
    server.enqueue(Stream(text_chunks("a koala")))
    assert otchat("chat", "-c", input="/retry\n").code == 0
    assert contents(server.last_body) == ["name a marsupial"]
    otchat("-c", "another")
    assert contents(server.last_body) == ["name a marsupial", "a koala", "another"]


def test_a_question_that_got_no_reply_is_not_continued(otchat, home, server):
    server.enqueue(error(400, {"error": {"message": "nope"}}))
    otchat("chat", input="unanswered\nanswered\n", expect=4)  # a script: the failed message's status
    otchat("-c", "next")
    assert contents(server.last_body) == ["answered", "You said: answered", "next"]
    assert rows(home, "SELECT content, hidden FROM messages ORDER BY id")[0] == ("unanswered", 1)


def test_clear_starts_a_new_logged_conversation(otchat, home, server):
    otchat("chat", input="old topic\n/clear\nnew topic\n")
    assert rows(home, "SELECT title FROM conversations ORDER BY created") == [("old topic",), ("new topic",)]
    otchat("-c", "more")
    assert contents(server.last_body) == ["new topic", "You said: new topic", "more"]


def test_history_show_and_export_keep_what_was_taken_back(otchat, home, server):
    # An undone exchange is a branch: show and export give the current path (show's JSON lists
    # the branch beside it, as documented; an export is the path alone), --tree every message.
    otchat("chat", input="kept\ndropped\n/undo\n")
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    shown = otchat("history", "show", cid[:8]).stdout
    assert "dropped" not in shown and "## user\n\nkept" in shown
    assert otchat("history", "show", cid[:8], "--tree").stdout.splitlines() == [
        "#1 user: kept", "#2 assistant: You said: kept  ← current", "#3 user: dropped", "#4 assistant: You said: dropped"]
    shown_json = json.loads(otchat("history", "show", cid[:8], "--format", "json").stdout)
    assert [m["content"] for m in shown_json["messages"]] == ["kept", "You said: kept"]
    assert [m["content"] for m in shown_json["branches"][0]["messages"]] == ["dropped", "You said: dropped"]
    raw = otchat("history", "export", cid[:8], "--format", "json").stdout
    exported = json.loads(raw)
    assert [m["content"] for m in exported["messages"]] == ["kept", "You said: kept"]
    assert "dropped" not in raw and "branches" not in exported
    assert "dropped" not in otchat("history", "export", cid[:8]).stdout
    whole = json.loads(otchat("history", "export", cid[:8], "--format", "json", "--tree").stdout)
    assert [m["content"] for m in whole["messages"]] == ["kept", "You said: kept", "dropped", "You said: dropped"]
