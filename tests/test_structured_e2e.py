"""--schema end to end: the request it sends, validation, re-asks, exit 10, the response_format
fallback and its cache, --schema-multi, and conversations that keep their schema."""

from __future__ import annotations

import json

import pytest

from tests.fakeserver import error

INVOICE = "vendor, date, total float: the sum to pay"
GOOD = '{"vendor": "ACME", "date": "2026-11-30", "total": 12.5}'


def system_texts(body):
    return [m["content"] for m in body["messages"] if m["role"] == "system"]


def posts(server):
    return [r.body for r in server.requests if r.method == "POST"]


@pytest.mark.parametrize("form", ["concise", "inline", "file"])
def test_each_spec_form_sends_its_schema_as_system_message_and_response_format(otchat, server, home, form):
    concise_schema = {
        "type": "object",
        "properties": {"vendor": {"type": "string"}, "date": {"type": "string"},
                       "total": {"type": "number", "description": "the sum to pay"}},
        "required": ["vendor", "date", "total"],
        "additionalProperties": False,
    }
    inline_schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    if form == "concise":
        spec, schema, answer = INVOICE, concise_schema, GOOD
    else:
        spec, schema, answer = json.dumps(inline_schema), inline_schema, '{"n": 3}'
        if form == "file":
            path = home / "schema.json"
            path.write_text(spec)
            spec = str(path)
    server.answer(answer)
    result = otchat("-s", "be terse", "--schema", spec, "read it")
    assert result.code == 0, result.stderr
    body = server.last_body
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "otchat_schema", "schema": schema, "strict": True}}
    systems = system_texts(body)
    assert systems[0] == "be terse"  # the schema's instruction comes after -s
    assert json.dumps(schema) in systems[1]
    assert json.loads(result.stdout) == json.loads(answer)


def test_a_valid_reply_is_printed_as_one_line_of_json(otchat, server):
    server.answer(GOOD)
    result = otchat("--schema", INVOICE, "the invoice")
    assert result.code == 0, result.stderr
    assert result.stdout == json.dumps(json.loads(GOOD)) + "\n"
    assert len(posts(server)) == 1


def test_a_fenced_reply_with_prose_is_unwrapped(otchat, server):
    server.answer(f"Here you are:\n\n```json\n{GOOD}\n```\nAnything else?")
    result = otchat("--schema", INVOICE, "the invoice")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(GOOD)


def test_an_invalid_reply_is_asked_again_with_the_validators_errors(otchat, server):
    bad = '{"vendor": "ACME", "date": "2026-11-30", "total": "twelve"}'
    server.answer(bad, GOOD)
    result = otchat("--schema", INVOICE, "the invoice")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 12.5
    first, second = posts(server)
    assert second["messages"][:len(first["messages"])] == first["messages"]  # the same conversation
    assert second["messages"][-2] == {"role": "assistant", "content": bad}
    reask = second["messages"][-1]
    assert reask["role"] == "user" and "$.total: 'twelve' is not of type 'number'" in reask["content"]
    assert second["response_format"] == first["response_format"]


def test_invalid_every_time_is_exit_10_with_nothing_on_stdout(otchat, server):
    server.answer("no JSON here", '{"vendor": 1}', '{"vendor": 2}', '{"vendor": 3}')
    result = otchat("-v", "--schema", INVOICE, "--schema-retries", "2", "the invoice", expect=10)
    assert result.code == 10
    assert result.stdout == ""
    assert len(posts(server)) == 3  # 1 + retries
    assert "did not match the schema after 3 attempts" in result.stderr
    assert "$.vendor: 2 is not of type 'string'" in result.stderr
    assert "$: 'date' is a required property" in result.stderr
    assert '{"vendor": 2}' in result.stderr  # -v: the last reply


def test_schema_retries_0_never_asks_again(otchat, server):
    server.answer("nope", GOOD)
    result = otchat("--schema", INVOICE, "--schema-retries", "0", "the invoice", expect=10)
    assert (result.code, result.stdout, len(posts(server))) == (10, "", 1)
    assert "the reply holds no JSON document" in result.stderr


def test_a_rejected_response_format_is_dropped_and_remembered(otchat, server, home):
    server.reject_response_format = True
    server.answer(GOOD, GOOD)
    first = otchat("--schema", INVOICE, "the invoice")
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout) == json.loads(GOOD)
    sent = posts(server)
    assert [("response_format" in body) for body in sent] == [True, False]
    assert json.dumps(json.loads(GOOD)) not in system_texts(sent[1])[0]  # the schema still asked for
    assert "JSON Schema" in system_texts(sent[1])[0]
    server.requests.clear()
    second = otchat("--schema", INVOICE, "the next invoice")
    assert second.code == 0, second.stderr
    assert [("response_format" in body) for body in posts(server)] == [False]


def test_a_server_that_takes_only_json_object_gets_it_at_once_and_next_time(otchat, server, home):
    """llama-cpp-python answers a json_schema with a 500 naming response_format: a refusal, not a
    fault to retry; the request goes again in JSON mode with the schema, and the next run starts there."""
    server.reject_response_format = "json_schema"
    server.answer(GOOD, GOOD)
    first = otchat("--schema", INVOICE, "the invoice")
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout) == json.loads(GOOD)
    sent = [body["response_format"] for body in posts(server)]
    assert [f["type"] for f in sent] == ["json_schema", "json_object"]  # no retries of the 500
    assert sent[1]["schema"] == sent[0]["json_schema"]["schema"]
    assert "retrying" not in first.stderr
    server.requests.clear()
    second = otchat("--schema", INVOICE, "the next invoice")
    assert second.code == 0, second.stderr
    assert [body["response_format"]["type"] for body in posts(server)] == ["json_object"]


def test_a_500_that_names_response_format_is_a_refusal_not_a_retry(otchat, server, home):
    server.enqueue(error(500, {"error": {"message": "response_format: unsupported value"}}))
    server.answer(GOOD)
    result = otchat("--schema", INVOICE, "the invoice")
    assert result.code == 0, result.stderr
    assert [("response_format" in body) for body in posts(server)] == [True, False]


def test_the_older_cache_of_refusals_still_reads(otchat, server, home):
    (home / "data" / "response-format-rejects.json").write_text(
        json.dumps({"rejects_response_format": [server.url.rstrip("/")]}))
    server.answer(GOOD)
    assert otchat("--schema", INVOICE, "the invoice").code == 0
    assert "response_format" not in server.last_body


def test_response_format_false_in_config_leaves_it_out(otchat, server, home):
    (home / "config" / "config.toml").write_text("response_format = false\n")
    server.answer(GOOD)
    assert otchat("--schema", INVOICE, "the invoice").code == 0
    assert "response_format" not in server.last_body
    assert "JSON Schema" in system_texts(server.last_body)[0]


def test_schema_multi_asks_for_and_prints_items(otchat, server):
    server.answer('{"items": [{"name": "a", "age": 1}, {"name": "b", "age": 2}]}')
    result = otchat("--schema-multi", "name, age int", "people")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {"items": [{"name": "a", "age": 1}, {"name": "b", "age": 2}]}
    schema = server.last_body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["items"]
    assert schema["properties"]["items"]["items"]["properties"] == {"name": {"type": "string"},
                                                                     "age": {"type": "integer"}}


def test_json_envelope_holds_the_document_and_its_data(otchat, server):
    server.answer(f"```json\n{GOOD}\n```")
    result = otchat("--json", "--schema", INVOICE, "the invoice")
    assert result.code == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["data"] == json.loads(GOOD)
    assert json.loads(envelope["content"]) == json.loads(GOOD)
    assert envelope["finish_reason"] == "stop"
    # The keys of every one-shot --json object, latency among them.
    assert {"id", "model", "content", "tool_calls", "finish_reason", "usage", "latency"} <= set(envelope)
    assert isinstance(envelope["latency"], float)


def show_latest(otchat):
    cid = otchat("history", "list").stdout.split()[0]
    return json.loads(otchat("history", "show", cid, "--format", "json").stdout)


def test_continue_keeps_the_schema_and_the_path_skips_failed_attempts(otchat, server):
    bad = '{"vendor": "ACME"}'
    server.answer(bad, GOOD)
    assert otchat("--schema", INVOICE, "the invoice").code == 0
    server.requests.clear()
    server.answer('{"vendor": "B", "date": "d", "total": 1}')
    again = otchat("-c", "and the next one?")
    assert again.code == 0, again.stderr
    body = server.last_body
    assert "response_format" in body and "JSON Schema" in system_texts(body)[0]
    # The path: the question and the valid answer; the failed attempt and its re-ask are a side branch.
    assert [m for m in body["messages"] if m["role"] != "system"] == [
        {"role": "user", "content": "the invoice"},
        {"role": "assistant", "content": GOOD},
        {"role": "user", "content": "and the next one?"},
    ]
    shown = show_latest(otchat)
    assert shown["schema"]["required"] == ["vendor", "date", "total"]
    assert bad not in [m["content"] for m in shown["messages"]]  # the current path skips it...
    # ...and every attempt is logged: the failed one and its re-ask are the one other branch.
    assert len(shown["branches"]) == 1
    assert bad in [m["content"] for m in shown["branches"][0]["messages"]]
    server.requests.clear()
    cleared = otchat("-c", "--schema", "-", "now in prose")
    assert cleared.code == 0, cleared.stderr
    assert "response_format" not in server.last_body and system_texts(server.last_body) == []
    assert show_latest(otchat)["schema"] is None


def test_a_failed_exchange_leaves_the_conversation_as_it_was(otchat, server):
    server.answer(GOOD)
    assert otchat("--schema", INVOICE, "first").code == 0
    server.answer("x", "y", "z")
    assert otchat("-c", "second", expect=10).code == 10
    server.requests.clear()
    server.answer(GOOD)
    assert otchat("-c", "third").code == 0
    users = [m["content"] for m in server.last_body["messages"] if m["role"] == "user"]
    assert users == ["first", "third"]


def test_a_bad_spec_is_a_usage_error(otchat, server):
    result = otchat("--schema", "name, age integerish", "hi", expect=2)
    assert result.code == 2
    assert "unknown type 'integerish'" in result.stderr
    assert posts(server) == []


def test_after_a_rejection_the_re_asks_go_without_response_format(otchat, server):
    server.reject_response_format = True
    server.answer('{"vendor": 1}', GOOD)
    assert otchat("--schema", INVOICE, "the invoice").code == 0
    assert [("response_format" in body) for body in posts(server)] == [True, False, False]
