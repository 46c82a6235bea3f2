"""The elicitation form's fields: what a line gives each type, and what each question says."""

import pytest

from otchat.seams import Elicitation
from otchat.term.form import choices, elicit, fill, label, parse_field

ENUM = {"type": "string", "enum": ["a", "b"], "enumNames": ["Alpha", "Beta"]}
ONE_OF = {"type": "string", "oneOf": [{"const": "x", "title": "Ex"}, {"const": "y", "title": "Why"}]}
MANY = {"type": "array", "minItems": 1, "maxItems": 2, "items": {"anyOf": [{"const": "p", "title": "P"},
                                                                            {"const": "q", "title": "Q"},
                                                                            {"const": "r", "title": "R"}]}}


def test_each_type_takes_its_values():
    assert parse_field({"type": "string"}, "hi there") == "hi there"
    assert parse_field({"type": "integer", "minimum": 1}, "3") == 3
    assert parse_field({"type": "number"}, "2.5") == 2.5
    assert parse_field({"type": "boolean"}, "Yes") is True and parse_field({"type": "boolean"}, "n") is False
    assert parse_field(ENUM, "2") == "b" and parse_field(ENUM, "alpha") == "a" and parse_field(ENUM, "b") == "b"
    assert parse_field(ONE_OF, "why") == "y"
    assert parse_field(MANY, "1, 3") == ["p", "r"]
    assert choices(ENUM) == [("a", "Alpha"), ("b", "Beta")]


@pytest.mark.parametrize(("prop", "text"), [
    ({"type": "integer"}, "2.5"), ({"type": "integer", "maximum": 5}, "6"), ({"type": "number"}, "many"),
    ({"type": "boolean"}, "maybe"), (ENUM, "3"), (ENUM, "gamma"), (MANY, "1,2,3"),
    ({"type": "string", "maxLength": 2}, "abc")])
def test_a_line_that_does_not_fit_says_why(prop, text):
    with pytest.raises(ValueError):
        parse_field(prop, text)


def test_the_question_marks_required_fields_and_shows_defaults_and_choices():
    assert label("n", {"type": "string", "title": "Name", "description": "who"}, True) == "Name* (who): "
    assert label("c", {**ENUM, "default": "a"}, False) == "c 1) Alpha 2) Beta [Alpha]: "
    assert label("m", {**MANY, "default": ["p", "r"]}, False) == "m 1) P 2) Q 3) R (several: 1,3) [P, R]: "
    assert label("n", {"type": "integer", "default": 4}, False) == "n (integer) [4]: "
    assert label("ok", {"type": "boolean"}, False) == "ok [y/n]: "


def test_a_form_is_filled_and_sent():
    schema = {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "age": {"type": "integer", "default": 9}, "note": {"type": "string"}}}
    lines, said = iter(["\n", "Ada\n", "\n", "\n"]), []
    assert fill(schema, lambda q: next(lines), said.append) == {"name": "Ada", "age": 9}
    assert said == ["  required\n"]
    keys, lines = iter(["a", "s"]), iter(["Bo\n", "7\n", "hi\n"])
    answer = elicit(Elicitation("srv", "who?", schema=schema), lambda q: next(lines), lambda k: next(keys), said.append)
    assert (answer.action, answer.content) == ("accept", {"name": "Bo", "age": 7, "note": "hi"})


def test_ctrl_d_in_a_field_cancels_and_a_url_is_only_shown():
    said: list[str] = []
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    keys = iter(["a"])
    assert elicit(Elicitation("s", "m", schema=schema), lambda q: "", lambda k: next(keys), said.append).action == "cancel"
    url = Elicitation("s", "log in", "url", url="https://example.com/")
    assert elicit(url, lambda q: "", lambda k: "d", said.append).action == "decline"
    assert any("https://example.com/" in line and "does not open it" in line for line in said)


def test_the_progress_line_is_a_bar_with_a_total_and_a_counter_without():
    from otchat.term.mcpui import progress_line

    assert progress_line("s__t", 1, 4, None, 80) == "⋯ s__t 1/4 █████░░░░░░░░░░░░░░░"
    assert progress_line("s__t", 7, None, "copying", 80) == "⋯ s__t 7 copying"
    assert len(progress_line("s__t", 1, 2, "x" * 200, 40)) <= 39
