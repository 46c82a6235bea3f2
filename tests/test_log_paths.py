"""The log's current path is always a conversation: concurrent runs on one conversation become
sibling branches, a question never follows a question, and switches land on answers."""

import json
import subprocess

from tests.conftest import KEY, OTCHAT, clean_environ
from tests.fakeserver import echo_reply, text_reply
from tests.helpers import contents, rows


def slow_echo(body):
    """The echo, after a pause long enough for every concurrent run to have sent its question."""
    reply = echo_reply(body)
    last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return text_reply(f"You said: {last}", body, delay=1.5) if "parallel" in last else reply


def path_of(otchat, cid):
    return json.loads(otchat("history", "show", cid, "--format", "json").stdout)["messages"]


def test_concurrent_runs_on_one_conversation_become_sibling_branches(server, home, otchat):
    assert otchat("start").code == 0
    cid, answer = rows(home, "SELECT conversation_id, id FROM messages WHERE role = 'assistant'")[0]
    server.script = slow_echo
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    jobs = [subprocess.Popen([str(OTCHAT), "--cid", cid[:8], f"parallel job {n}"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for n in range(8)]
    for job in jobs:
        out, err = job.communicate(timeout=60)
        assert job.returncode == 0, err
    # Every run sent what it started from, and nothing of the others.
    for recorded in server.requests[1:]:
        sent = contents(recorded.body)
        assert sent[:2] == ["start", "You said: start"] and len(sent) == 3
    # Each question hangs under the answer its run started from, its answer under it.
    questions = rows(home, "SELECT id, parent_id, content FROM messages WHERE content LIKE 'parallel job %'")
    assert len(questions) == 8 and {parent for _, parent, _ in questions} == {answer}
    for qid, _, text in questions:
        assert rows(home, "SELECT content FROM messages WHERE parent_id = ?", qid) == [(f"You said: {text}",)]
    path = path_of(otchat, cid[:8])
    assert [m["role"] for m in path] == ["user", "assistant", "user", "assistant"]
    assert path[3]["content"] == f"You said: {path[2]['content']}"
    # The last run to finish (the last answer logged) is where the conversation goes on.
    last_answer = rows(home, "SELECT max(id) FROM messages WHERE role = 'assistant'")[0][0]
    assert path[3]["id"] == last_answer
    server.script = None
    assert otchat("-c", "next").code == 0
    assert contents(server.last_body) == [m["content"] for m in path] + ["next"]


def test_a_question_still_waiting_is_not_where_another_run_goes_on(server, home, otchat):
    """While one run waits for its answer, another run started then does not see its question."""
    assert otchat("first").code == 0
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    server.script = slow_echo
    env = clean_environ(home, OTCHAT_BASE_URL=server.url, OPENTOOLS_API_KEY=KEY)
    waiting = subprocess.Popen([str(OTCHAT), "--cid", cid[:8], "parallel, slow"], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while len(rows(home, "SELECT id FROM messages")) < 3:  # its question is logged
        assert waiting.poll() is None
    assert otchat("--cid", cid[:8], "meanwhile").code == 0
    assert contents(server.last_body) == ["first", "You said: first", "meanwhile"]
    waiting.communicate(timeout=30)
    assert waiting.returncode == 0


def test_switching_to_a_question_lands_on_its_latest_answer(server, home, otchat):
    assert otchat("first").code == 0
    assert otchat("-c", "second").code == 0
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    (first,) = rows(home, "SELECT id FROM messages WHERE content = 'first'")[0]
    assert otchat("history", "switch", cid[:8], str(first)).code == 0
    path = path_of(otchat, cid[:8])
    assert [m["content"] for m in path] == ["first", "You said: first"]
    assert otchat("-c", "again").code == 0
    assert contents(server.last_body) == ["first", "You said: first", "again"]


def test_a_note_then_a_question_go_as_one_user_turn():
    from otchat.conversation import Conversation, Entry

    conversation = Conversation([Entry("user", "list files"), Entry("assistant", "ls"),
                                 Entry("user", "$ ls\n[exit status 0]", note=True)])
    assert conversation.next_messages("why?") == [
        {"role": "user", "content": "list files"}, {"role": "assistant", "content": "ls"},
        {"role": "user", "content": "$ ls\n[exit status 0]\n\nwhy?"}]


def system_of(body):
    return [m["content"] for m in body["messages"] if m["role"] == "system"]


def test_a_system_prompt_set_after_the_first_turn_is_logged_and_carried(server, home, otchat):
    assert otchat("--system", "be formal", "first").code == 0
    r = otchat("chat", "-c", input="/system be terse\nsecond\n")
    assert r.code == 0, r.stderr
    assert system_of(server.last_body) == ["be terse"]
    assert contents(server.last_body)[1:] == ["first", "You said: first", "second"]
    assert otchat("-c", "third").code == 0
    assert system_of(server.last_body) == ["be terse"]
    assert contents(server.last_body)[1:] == ["first", "You said: first", "second", "You said: second", "third"]
    cid = rows(home, "SELECT id FROM conversations")[0][0]
    shown = otchat("history", "show", cid[:8]).stdout
    assert shown.index("be formal") < shown.index("You said: first") < shown.index("be terse") < shown.index("third")
    assert otchat("chat", "-c", input="fourth\n").code == 0
    assert system_of(server.last_body) == ["be terse"]
    # Cleared with -, it stays cleared; an explicit --system still wins for its run.
    assert otchat("chat", "-c", input="/system -\nfifth\n").code == 0
    assert system_of(server.last_body) == []
    assert otchat("-c", "sixth").code == 0 and system_of(server.last_body) == []
    assert otchat("-c", "--system", "be brief", "seventh").code == 0
    assert system_of(server.last_body) == ["be brief"]
