"""The conversation tree in the store: the schema-4 migration from every released schema, the tree API."""

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from otchat.errors import UsageError
from otchat.store.db import SCHEMA_VERSION, Message, Store, StoreError
from tests.conftest import KEY, OTCHAT, clean_environ

FIXTURES = Path(__file__).with_name("fixtures")
PLATYPUS, WEATHER, UNDONE, MARSUPIAL, UNANSWERED, TAKEN_BACK, HOSTED = (
    "aaaa000000000001", "bbbb000000000002", "cccc000000000003", "dddd000000000004", "eeee000000000005",
    "ffff000000000006", "abab000000000007")


def label(m):
    """A message by its (unique) text; a reply with only tool calls by its first call's id."""
    return m.content or m.tool_calls[0]["id"]


def copy_fixture(version, target):
    """A copy: the committed files are never opened by Store (opening one migrates it)."""
    shutil.copyfile(FIXTURES / f"history-v{version}.db", target)
    return target


def raw(path, sql):
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def tree(store, cid):
    """{message: the message it follows}, and the current position, by label."""
    messages = store.conversation(cid).messages
    by_id = {m.id: label(m) for m in messages}
    current = store.current(cid)
    return {label(m): by_id.get(m.parent) for m in messages}, by_id.get(current) if current else None


# What every released file holds, as a tree: (parents by label, current position).
PLAIN = {
    PLATYPUS: ({"answer like a naturalist": None,
                "does the platypus lay eggs": "answer like a naturalist",
                "yes the platypus lays eggs": "does the platypus lay eggs",
                "and the echidna": "yes the platypus lays eggs",
                "the echidna lays eggs too but was cut": "and the echidna"},
               "the echidna lays eggs too but was cut"),
    WEATHER: ({"weather in Oslo please": None, "call_1": "weather in Oslo please", "Oslo: rain, 7 degrees": "call_1",
               "It rains in Oslo": "Oslo: rain, 7 degrees"}, "It rains in Oslo"),
}
TAKEN = {
    WEATHER: ({**PLAIN[WEATHER][0],
               "and in Bergen": "It rains in Oslo",
               "call_2": "and in Bergen",  # the retried tool round keeps its shape, beside the new answer
               "Bergen: sun, 12 degrees": "call_2",
               "Bergen is sunny": "Bergen: sun, 12 degrees",
               "It is sunny in Bergen": "and in Bergen"}, "It is sunny in Bergen"),
    UNDONE: ({"first question kept": None, "first answer kept": "first question kept",
              "an undone question": "first answer kept", "an undone answer": "an undone question",
              "third question kept": "first answer kept", "third answer kept": "third question kept",
              "a last undone question": "third answer kept", "a last undone answer": "a last undone question"},
             "third answer kept"),
    MARSUPIAL: ({"name a marsupial": None, "a poor answer": "name a marsupial",
                 "a second poor answer": "name a marsupial", "a koala": "name a marsupial",
                 "another one": "a koala", "a wombat": "another one"}, "a wombat"),
    UNANSWERED: ({"a question nobody answered": None, "a question answered": None,
                  "an answer given": "a question answered",
                  "a later question nobody answered": "an answer given"}, "an answer given"),
    TAKEN_BACK: ({"a lone undone question": None, "a lone undone answer": "a lone undone question"}, None),
    # A reply never follows a reply: each one directly after another replaced it (/retry).
    HOSTED: ({"search the web for quolls": None, "quolls are found by searching": "search the web for quolls",
              "quolls are spotted carnivores": "search the web for quolls",
              "quolls live in Australia": "search the web for quolls"}, "quolls live in Australia"),
}
EXPECTED = {1: PLAIN, 2: PLAIN, 3: {**PLAIN, **TAKEN}}


@pytest.mark.parametrize("version", [1, 2, 3])
def test_each_released_file_migrates_with_every_row_kept(tmp_path, version):
    path = copy_fixture(version, tmp_path / "history.db")
    messages_before = raw(path, "SELECT * FROM messages ORDER BY id")
    conversations_before = raw(path, "SELECT * FROM conversations ORDER BY id")
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        # 7: messages.items (a tool result by type), none for a message written before it
        assert {row[0] for row in store.db.execute("SELECT items FROM messages")} == {None}
        # 5: conversations.schema (--schema), none for a conversation written before it
        assert {row[0] for row in store.db.execute("SELECT schema FROM conversations")} == {None}
        # 6: conversations.base_url (where -c goes on), none for a conversation written before it
        assert {row[0] for row in store.db.execute("SELECT base_url FROM conversations")} == {None}
    messages_after = raw(path, "SELECT * FROM messages ORDER BY id")
    width = len(messages_before[0])
    assert [row[:width] for row in messages_after] == messages_before
    assert [row[:len(conversations_before[0])] for row in raw(path, "SELECT * FROM conversations ORDER BY id")] \
        == conversations_before


@pytest.mark.parametrize("version", [1, 2, 3])
def test_each_released_file_becomes_the_expected_tree(tmp_path, version):
    with Store(copy_fixture(version, tmp_path / "history.db")) as store:
        assert {cid: tree(store, cid) for cid in EXPECTED[version]} == EXPECTED[version]
        # What resume sent before (the visible rows in id order) is exactly the current path.
        for cid in EXPECTED[version]:
            visible = [m.id for m in store.conversation(cid).messages if not m.hidden]
            assert [m.id for m in store.path(cid)] == visible


def test_what_was_taken_back_becomes_branches(tmp_path):
    with Store(copy_fixture(3, tmp_path / "history.db")) as store:
        def branches(cid):
            by_id = {m.id: label(m) for m in store.conversation(cid).messages}
            return [(by_id[b.leaf], by_id.get(b.from_id), [label(m) for m in b.messages]) for b in store.branches(cid)]

        assert branches(PLATYPUS) == []
        assert branches(UNDONE) == [
            ("an undone answer", "first answer kept", ["an undone question", "an undone answer"]),
            ("a last undone answer", "third answer kept", ["a last undone question", "a last undone answer"])]
        assert branches(MARSUPIAL) == [("a poor answer", "name a marsupial", ["a poor answer"]),
                                       ("a second poor answer", "name a marsupial", ["a second poor answer"])]
        assert branches(WEATHER) == [
            ("Bergen is sunny", "and in Bergen", ["call_2", "Bergen: sun, 12 degrees", "Bergen is sunny"])]
        assert branches(UNANSWERED) == [
            ("a question nobody answered", None, ["a question nobody answered"]),
            ("a later question nobody answered", "an answer given", ["a later question nobody answered"])]
        assert branches(TAKEN_BACK) == [
            ("a lone undone answer", None, ["a lone undone question", "a lone undone answer"])]
        assert store.path(TAKEN_BACK) == []
        counts = {c.id: (c.branches, c.current is not None) for c in store.conversations(20)}
        assert counts == {PLATYPUS: (1, True), WEATHER: (2, True), UNDONE: (2, True), MARSUPIAL: (3, True),
                          UNANSWERED: (2, True), TAKEN_BACK: (1, False), HOSTED: (3, True)}


@pytest.mark.parametrize("version", [1, 2, 3])
def test_search_finds_messages_of_every_branch(tmp_path, version):
    with Store(copy_fixture(version, tmp_path / "history.db")) as store:
        assert {hit[0] for hit in store.search("echidna")} == {PLATYPUS}
        if version == 3:
            for word, cid in [("last undone", UNDONE), ("poor", MARSUPIAL), ("Bergen", WEATHER),
                              ("nobody", UNANSWERED), ("lone", TAKEN_BACK), ("carnivores", HOSTED)]:
                assert {hit[0] for hit in store.search(word)} == {cid}, word
            # and what is written after the migration, on any branch
            store.add_messages(MARSUPIAL, [Message("assistant", "a numbat on a side branch")],
                               parent=store.path(MARSUPIAL)[0].id)
            assert [hit[0] for hit in store.search("numbat")] == [MARSUPIAL]


def test_a_failed_python_step_leaves_the_file_as_it_was(tmp_path):
    path = copy_fixture(3, tmp_path / "history.db")
    with sqlite3.connect(path) as db:  # the step's first ALTER TABLE fails half-way into it
        db.execute("ALTER TABLE conversations ADD COLUMN current_id INTEGER")
    with pytest.raises(StoreError):
        Store(path)
    assert raw(path, "PRAGMA user_version") == [(3,)]
    assert "parent_id" not in [row[1] for row in raw(path, "PRAGMA table_info(messages)")]


def test_resuming_a_migrated_file_continues_its_current_path(otchat, home, server):
    copy_fixture(3, home / "data" / "history.db")
    assert otchat("--cid", MARSUPIAL[:8], "and a third").code == 0
    assert [m["content"] for m in server.last_body["messages"]] == [
        "name a marsupial", "a koala", "another one", "a wombat", "and a third"]
    with Store(home / "data" / "history.db") as store:
        assert [label(m) for m in store.path(MARSUPIAL)][-3:] == ["a wombat", "and a third", "You said: and a third"]
    shown = json.loads(otchat("history", "show", UNDONE[:8], "--format", "json").stdout)
    assert [(m["content"], m["parent"] is None) for m in shown["messages"][:2]] == [
        ("first question kept", True), ("first answer kept", False)]
    # `branches` lists the leaves off the current path: both, as the path stops where the undo went back to.
    assert shown["messages"][1]["parent"] == shown["messages"][0]["id"] and len(shown["branches"]) == 2


def test_eight_processes_migrate_an_old_file_at_once_and_lose_nothing(server, home):
    path = copy_fixture(3, home / "data" / "history.db")
    before = raw(path, "SELECT id, content FROM messages ORDER BY id")
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    procs = [subprocess.Popen([str(OTCHAT), f"parallel question {i}"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) for i in range(8)]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [r[0] for r in results] == [0] * 8 and all(r[2] == b"" for r in results)
    assert raw(path, "SELECT id, content FROM messages WHERE id <= ? ORDER BY id".replace("?", str(before[-1][0]))) \
        == before
    with Store(path) as store:
        assert {cid: tree(store, cid) for cid in EXPECTED[3]} == EXPECTED[3]  # migrated once, correctly
        new = [c for c in store.conversations(100) if c.title.startswith("parallel question")]
        assert sorted(c.title for c in new) == sorted(f"parallel question {i}" for i in range(8))
        for c in new:
            assert [(label(m), m.parent is None) for m in store.path(c.id)] == [
                (c.title, True), (f"You said: {c.title}", False)]
            assert c.branches == 1
    assert raw(path, "SELECT COUNT(*) FROM messages") == [(len(before) + 16,)]


# The tree API on a new file --------------------------------------------------------------


def exchange(question, answer, **options):
    return [Message("user", question, **options), Message("assistant", answer, **options)]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "history.db") as store:
        yield store


def contents(messages):
    return [m.content for m in messages]


def test_appending_links_a_chain_under_the_current_position(store):
    cid = store.new_conversation("q1", "m", None)
    assert store.current(cid) is None and store.path(cid) == []
    first = store.add_messages(cid, [Message("system", "be brief"), *exchange("q1", "a1")])
    assert store.current(cid) == first[-1]
    second = store.add_messages(cid, exchange("q2", "a2"))
    assert [(m.id, m.parent) for m in store.path(cid)] == [
        (first[0], None), (first[1], first[0]), (first[2], first[1]), (second[0], first[2]), (second[1], second[0])]
    # A question logged hidden (it got no reply) leaves the position where it was.
    unanswered = store.add_messages(cid, [Message("user", "q3", hidden=True)])
    assert store.current(cid) == second[1] and store.children(second[1])[0].id == unanswered[0]
    store.add_messages(cid, exchange("q4", "a4"))
    assert contents(store.path(cid)) == ["be brief", "q1", "a1", "q2", "a2", "q4", "a4"]
    with pytest.raises(UsageError, match="no conversation"):
        store.add_messages("0" * 16, exchange("q", "a"))


def test_an_explicit_parent_makes_a_sibling_or_a_root(store):
    cid = store.new_conversation("q1", "m", None)
    q1, a1 = store.add_messages(cid, exchange("q1", "a1"))
    (a2,) = store.add_messages(cid, [Message("assistant", "a1 again")], parent=q1)
    assert store.current(cid) == a2 and contents(store.children(q1)) == ["a1", "a1 again"]
    assert {m.id for m in store.leaves(cid)} == {a1, a2}
    (root,) = store.add_messages(cid, [Message("user", "from the start")], parent=None)
    assert [m.parent for m in store.path(cid)] == [None] and store.path(cid)[0].id == root
    other = store.new_conversation("elsewhere", "m", None)
    (foreign,) = store.add_messages(other, [Message("user", "elsewhere")])
    with pytest.raises(UsageError, match=f"no message {foreign}"):
        store.add_messages(cid, [Message("user", "x")], parent=foreign)


def test_hiding_goes_back_to_just_before_what_was_hidden(store):
    cid = store.new_conversation("q1", "m", None)
    q1, a1 = store.add_messages(cid, exchange("q1", "a1"))
    q2, a2 = store.add_messages(cid, exchange("q2", "a2"))
    store.hide([q2, a2])  # /undo
    assert store.current(cid) == a1
    q3, a3 = store.add_messages(cid, exchange("q3", "a3"))
    store.hide([a3])  # /retry: the question stays, its answer goes
    assert store.current(cid) == q3
    (a3b,) = store.add_messages(cid, [Message("assistant", "a3 again")])
    assert contents(store.path(cid)) == ["q1", "a1", "q3", "a3 again"]
    store.hide([a2])  # off the current path: the position stays
    assert store.current(cid) == a3b
    store.hide([])
    store.hide([q1, a1, q3, a3b])
    assert store.current(cid) is None


def test_set_current_moves_the_position_and_validates_it(store):
    cid = store.new_conversation("q1", "m", None)
    q1, a1, q2, a2 = store.add_messages(cid, exchange("q1", "a1") + exchange("q2", "a2"))
    store.set_current(cid, a1)  # a rewind: the later turn stays, as a branch from a1
    assert store.current(cid) == a1 and contents(store.path(cid)) == ["q1", "a1"]
    assert [(b.leaf, b.from_id, contents(b.messages)) for b in store.branches(cid)] == [(a2, a1, ["q2", "a2"])]
    store.add_messages(cid, exchange("q2 instead", "a2 instead"))
    assert contents(store.path(cid)) == ["q1", "a1", "q2 instead", "a2 instead"]
    assert contents(store.path(cid, a2)) == ["q1", "a1", "q2", "a2"]
    store.set_current(cid, None)
    assert store.path(cid) == [] and [b.from_id for b in store.branches(cid)] == [None, None]
    other = store.new_conversation("other", "m", None)
    (foreign,) = store.add_messages(other, [Message("user", "elsewhere")])
    for bad in (foreign, 10_000):
        with pytest.raises(UsageError, match=f"no message {bad} in conversation {cid[:8]}"):
            store.set_current(cid, bad)
        with pytest.raises(UsageError):
            store.path(cid, bad)
    with pytest.raises(UsageError, match="no conversation"):
        store.set_current("f" * 16, None)
    assert store.current(cid) is None


def test_fork_copies_the_path_and_leaves_the_original(store, tmp_path):
    cid = store.new_conversation("about quokkas", "m/one", "work")
    store.add_messages(cid, [Message("system", "be brief"), Message("user", "q1")])
    (a1,) = store.add_messages(cid, [Message("assistant", "a1", usage={"total_tokens": 3}, reasoning="hmm")])
    _, a2 = store.add_messages(cid, exchange("q2", "a2"))
    store.hide([a2])
    before = raw(tmp_path / "history.db", "SELECT * FROM messages ORDER BY id"), store.current(cid)
    new = store.fork(cid, a1)
    assert raw(tmp_path / "history.db", f"SELECT * FROM messages WHERE conversation_id = '{cid}' ORDER BY id") \
        == before[0] and store.current(cid) == before[1]
    copy = store.conversation(new)
    assert (copy.title, copy.model, copy.profile, copy.branches) == ("about quokkas", "m/one", "work", 1)
    assert [(m.role, m.content, m.usage, m.reasoning) for m in copy.messages] == [
        ("system", "be brief", None, None), ("user", "q1", None, None), ("assistant", "a1", {"total_tokens": 3}, "hmm")]
    assert store.path(new) == copy.messages and copy.current == copy.messages[-1].id
    # A path through rows taken back is copied as the new conversation's own path.
    assert contents(store.path(store.fork(cid, a2))) == ["be brief", "q1", "a1", "q2", "a2"]
    assert not any(m.hidden for m in store.path(store.fork(cid, a2)))
    assert contents(store.path(store.fork(cid))) == ["be brief", "q1", "a1", "q2"]  # by default: the current path
    store.set_current(cid, None)
    with pytest.raises(UsageError, match="nothing to fork"):
        store.fork(cid)


def test_a_fork_keeps_the_schema_its_replies_must_match(store):
    from otchat.store.schemas import schema_of, set_schema

    cid = store.new_conversation("people", "m/one", None)
    store.add_messages(cid, exchange("q1", '{"name": "Ada"}'))
    wanted = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    set_schema(store, cid, wanted)
    assert schema_of(store, store.fork(cid)) == wanted


def test_messages_carry_their_place_in_the_tree(store):
    cid = store.new_conversation("q1", "m", None)
    q1, a1 = store.add_messages(cid, exchange("q1", "a1"))
    conversation = store.conversation(cid)
    assert [(m.id, m.parent) for m in conversation.messages] == [(q1, None), (a1, q1)]
    data = conversation.to_json()
    assert [(m["id"], m["parent"]) for m in data["messages"]] == [(q1, None), (a1, q1)]
    assert (data["current"], data["branches"]) == (a1, 1)
    assert Message("user", "not stored").to_json() == {"role": "user", "content": "not stored"}
