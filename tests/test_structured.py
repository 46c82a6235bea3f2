"""structured: SPEC forms and their errors, the request parts, reply extraction, validation, the rejection cache."""

import json
import subprocess
import sys

import pytest

from otchat.errors import OtchatError, UsageError
from otchat.structured import (
    RejectionCache,
    SchemaMismatch,
    extract_json,
    is_response_format_rejection,
    parse_spec,
    reask_message,
    response_format,
    system_message,
    validate,
)

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "height": {"type": "number"},
        "active": {"type": "boolean"},
        "bio": {"type": "string", "description": "a short biography"},
    },
    "required": ["name", "age", "height", "active", "bio"],
    "additionalProperties": False,
}


# --- SPEC forms ---------------------------------------------------------------------------

def test_concise_form_gives_the_exact_schema():
    assert parse_spec("name, age int, height float, active bool, bio: a short biography") == PERSON


def test_concise_form_by_lines_lets_descriptions_hold_commas():
    spec = "vendor: who sent it, as printed\n\ndate: ISO 8601, e.g. 2024-05-01\ntotal float\n"
    schema = parse_spec(spec)
    assert schema["properties"] == {
        "vendor": {"type": "string", "description": "who sent it, as printed"},
        "date": {"type": "string", "description": "ISO 8601, e.g. 2024-05-01"},
        "total": {"type": "number"},
    }
    assert schema["required"] == ["vendor", "date", "total"]
    assert schema["additionalProperties"] is False


def test_concise_types_may_be_spelled_as_json_schema_does():
    assert parse_spec("n integer, x NUMBER")["properties"] == {"n": {"type": "integer"}, "x": {"type": "number"}}


@pytest.mark.parametrize("spec, reason", [
    ("name, age integr", "unknown type 'integr'"),
    ("name,, age int", "field 2 has an empty name"),
    ("name, : a description", "field 2 has an empty name"),
    ("name, age int,", "field 3 has an empty name"),
    ("", "field 1 has an empty name"),
    ("name, age int, name", "'name' is given twice"),
    ("full name str", "expected NAME [TYPE], got 3 words"),
    ("\n\n", "names no fields"),
    ("schemas/invoice.json", "no schema file schemas/invoice.json"),
])
def test_bad_concise_spec_is_a_usage_error_with_the_reason(spec, reason):
    with pytest.raises(UsageError) as caught:
        parse_spec(spec)
    assert reason in caught.value.message
    assert caught.value.exit_code == 2


def test_inline_schema_is_taken_as_is():
    schema = {"type": "object", "properties": {"$ref-free": {"type": "string"}}, "required": ["$ref-free"]}
    assert parse_spec("  " + json.dumps(schema)) == schema


def test_inline_schema_with_a_slash_is_not_mistaken_for_a_path():
    text = '{"$defs":{"n":{"type":"integer"}},"$ref":"#/$defs/n"}'
    assert parse_spec(text) == json.loads(text)


def test_invalid_inline_json_names_the_position():
    with pytest.raises(UsageError) as caught:
        parse_spec('{"type": "object",\n "properties": {,}}')
    assert caught.value.message.startswith("inline schema is not valid JSON:")
    assert "line 2 column 17" in caught.value.message


def test_schema_the_meta_schema_rejects_is_a_usage_error():
    with pytest.raises(UsageError) as caught:
        parse_spec('{"type": "object", "properties": {"age": {"type": "integr"}}}')
    assert "not a valid JSON Schema (Draft 2020-12)" in caught.value.message
    assert "schema.properties.age.type" in caught.value.message


def test_schema_file_comes_first(tmp_path, monkeypatch):
    (tmp_path / "name, age int").write_text(json.dumps({"type": "array"}))
    monkeypatch.chdir(tmp_path)  # a file named like a concise SPEC still wins, as documented
    assert parse_spec("name, age int") == {"type": "array"}
    assert parse_spec(str(tmp_path / "name, age int")) == {"type": "array"}


@pytest.mark.parametrize("content, reason", [
    ("[1, 2]", "is not a JSON object (a JSON Schema is one), got list"),
    ('{"type": ', "is not valid JSON: Expecting value at line 1 column 10"),
    (b"\xff\xfe{}", "cannot read schema file"),
])
def test_bad_schema_file(tmp_path, content, reason):
    path = tmp_path / "schema.json"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(UsageError) as caught:
        parse_spec(str(path))
    assert reason in caught.value.message and str(path) in caught.value.message


def test_multi_wraps_the_schema_in_items():
    assert parse_spec("name, age int", multi=True) == {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": False,
        }}},
        "required": ["items"],
        "additionalProperties": False,
    }


# --- asking ---------------------------------------------------------------------------------

def test_system_message_holds_the_schema_and_forbids_prose_and_fences():
    text = system_message(PERSON)
    assert json.dumps(PERSON, ensure_ascii=False) in text
    assert "exactly one JSON document" in text and "no prose" in text and "no markdown code fences" in text


def test_response_format_shape():
    assert response_format(PERSON) == {
        "type": "json_schema",
        "json_schema": {"name": "otchat_schema", "schema": PERSON, "strict": True},
    }


@pytest.mark.parametrize("schema, name, expected", [
    ({"title": "Invoice v2!"}, None, "Invoice_v2"),
    ({"title": "Invoice"}, "my schema", "my_schema"),
    ({}, "!!!", "otchat_schema"),
    ({"title": "x" * 100}, None, "x" * 64),
])
def test_response_format_name_is_a_safe_identifier(schema, name, expected):
    assert response_format(schema, name)["json_schema"]["name"] == expected


# --- reading the reply --------------------------------------------------------------------

@pytest.mark.parametrize("reply, value", [
    ('{"a": 1}', {"a": 1}),
    ('  \n[1, 2]\n', [1, 2]),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Here it is:\n\n```\n{"a": 1}\n```\n\nAnything else?', {"a": 1}),
    ('```python\nprint({"b": 2})\n```\n\n```JSON\n{"a": 1}\n```', {"a": 1}),
    ('Sure! The data is {"a": {"b": [1, 2]}} as requested.', {"a": {"b": [1, 2]}}),
    ('The list: [1, 2] and that is all', [1, 2]),
    ('I [think] this: {"a": 1}', {"a": 1}),
])
def test_extract_json_unwraps_fences_and_prose(reply, value):
    assert extract_json(reply) == value


@pytest.mark.parametrize("reply, hint", [
    ("I cannot help with that.", "it begins 'I cannot help with that.'"),
    ("", "the reply was empty"),
    ("{not json} [nor this", "it begins '{not json} [nor this'"),
    ('{"a": NaN}', "it begins"),
    ("[" * 100_000, "it begins"),
])
def test_extract_json_without_json_is_a_schema_mismatch(reply, hint):
    with pytest.raises(SchemaMismatch) as caught:
        extract_json(reply)
    error = caught.value
    assert isinstance(error, OtchatError) and error.exit_code == 10
    assert error.message == "the reply holds no JSON document" and hint in (error.hint or "")
    assert error.errors == ["the reply holds no JSON document"]


# --- validating ---------------------------------------------------------------------------

def test_valid_data_has_no_errors():
    assert validate({"name": "Ada", "age": 36, "height": 1.65, "active": True, "bio": "x"}, PERSON) == []


def test_errors_read_path_colon_message():
    errors = validate({"name": "Ada", "age": "36", "height": 1, "active": True, "bio": "x", "x": 1}, PERSON)
    assert errors == [
        "$: Additional properties are not allowed ('x' was unexpected)",
        "$.age: '36' is not of type 'integer'",
    ]


def test_at_most_five_errors_in_path_order():
    schema = parse_spec("n int", multi=True)
    data = {"items": [{"n": str(i)} for i in range(12)]}
    assert validate(data, schema) == [f"$.items[{i}].n: '{i}' is not of type 'integer'" for i in range(5)]
    data["items"].reverse()  # the order is the path's, not the validator's or the data's
    assert validate(data, schema)[:3] == [f"$.items[{i}].n: '{11 - i}' is not of type 'integer'" for i in range(3)]


def test_numeric_indexes_sort_as_numbers():
    errors = validate([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, "x"], {"type": "array", "items": {"type": "string"}})
    assert [e.split(":")[0] for e in errors] == ["$[0]", "$[1]", "$[2]", "$[3]", "$[4]"]


def test_long_offending_values_are_cut():
    (error,) = validate({"n": "y" * 5000}, parse_spec("n int"))
    assert len(error) < 250 and error.endswith("…")


def test_reask_message_quotes_the_errors():
    text = reask_message(["$.age: '36' is not of type 'integer'", "$: 'bio' is a required property"])
    assert "- $.age: '36' is not of type 'integer'\n- $: 'bio' is a required property" in text
    assert "only the corrected JSON document" in text


# --- response_format rejection and its cache ----------------------------------------------

@pytest.mark.parametrize("status, body, rejected", [
    (400, '{"error": {"message": "Unknown parameter: response_format"}}', True),
    (422, b'{"detail": "json_schema: strict mode needs additionalProperties"}', True),
    (400, '{"error": {"message": "model not found"}}', False),
    # A 5xx naming the field is a refusal too (llama-cpp-python answers json_schema with a 500).
    (500, '{"error": "response_format broke us"}', True),
    (503, '{"error": "json_schema is busy"}', False),
    (500, '{"error": "overloaded"}', False),
    (401, "response_format", False),
])
def test_is_response_format_rejection(status, body, rejected):
    assert is_response_format_rejection(status, body) is rejected


def test_rejection_cache_round_trip(tmp_path):
    data = tmp_path / "data"  # not created yet: remember() makes it
    assert RejectionCache(data).format_for("http://127.0.0.1:8000/v1") == "json_schema"
    RejectionCache(data).remember("http://127.0.0.1:8000/v1/", None)
    again = RejectionCache(data)
    assert again.format_for("http://127.0.0.1:8000/v1") is None and again.format_for("HTTP://127.0.0.1:8000/v1/") is None
    assert again.format_for("http://127.0.0.1:8001/v1") == again.format_for("http://127.0.0.1:8000/v2") == "json_schema"
    RejectionCache(data).remember("https://api.example.com/v1", "json_object")
    assert again.format_for("http://127.0.0.1:8000/v1") is None
    assert again.format_for("https://api.example.com/v1") == "json_object"


def test_rejection_cache_keeps_no_credentials(tmp_path):
    cache = RejectionCache(tmp_path)
    cache.remember("https://user:s3cret@proxy.example.com:8443/v1?key=s3cret", None)
    assert "s3cret" not in cache.path.read_text()
    assert cache.format_for("https://proxy.example.com:8443/v1") is None


@pytest.mark.parametrize("content", ["{not json", '["http://x/v1"]', '{"rejects_response_format": "http://x/v1"}', "\udcff"])
def test_rejection_cache_tolerates_a_corrupt_file(tmp_path, content):
    cache = RejectionCache(tmp_path)
    cache.path.write_text(content, errors="surrogateescape")
    assert cache.format_for("http://x/v1") == "json_schema"
    cache.remember("http://x/v1", None)
    assert cache.format_for("http://x/v1") is None
    assert json.loads(cache.path.read_text()) == {"response_format": {"http://x/v1": None}}


def test_importing_loads_neither_jsonschema_nor_markdown_it():
    # Start-up time is a tested feature: a fresh interpreter is the only honest probe.
    probe = "import sys, otchat.structured; print([m for m in ('jsonschema', 'markdown_it') if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == "[]", proc.stderr
