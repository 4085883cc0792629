"""serve_app's edge checks on request bodies, as pure functions (the serve tier sends them for real)."""

from __future__ import annotations

import json

import pytest

from serve_app.config import RequestLimitsConfig
from serve_app.request_checks import check_body, messages_problem, structure_problem

LIMITS = RequestLimitsConfig(max_body_bytes=4096, max_json_depth=8, max_array_items=16)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": [1, 2, 2**70]}, "prompt"),
        ({"prompt": [[1, 2], [3, -(2**64)]]}, "prompt"),
        ({"seed": 2**63}, "seed"),
        ({"logit_bias": {"5": 2**80}}, "logit_bias"),
    ],
)
def test_integers_beyond_64_bits_are_refused_naming_the_parameter(body, param):
    problem = structure_problem(body, LIMITS)
    assert problem is not None and problem.status == 400 and problem.param == param
    assert "64-bit" in problem.message


def test_the_largest_64_bit_integers_pass():
    assert structure_problem({"seed": 2**63 - 1, "x": -(2**63), "prompt": [2**63 - 1]}, LIMITS) is None


def test_token_id_arrays_are_not_held_to_the_item_limit():
    assert structure_problem({"prompt": list(range(1000))}, LIMITS) is None


def test_other_arrays_are_held_to_the_item_limit():
    problem = structure_problem({"stop": ["x"] * 17}, LIMITS)
    assert problem is not None and problem.param == "stop" and "17 items" in problem.message


def test_nesting_beyond_the_depth_limit_is_refused():
    nested: list = []
    for _ in range(10):
        nested = [nested]
    problem = structure_problem({"extra": nested}, LIMITS)
    assert problem is not None and "nests deeper than 8" in problem.message


def test_a_body_nested_past_pythons_parser_is_a_400_not_a_crash():
    _, problem = check_body(b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", RequestLimitsConfig())
    assert problem is not None and problem.status == 400


def test_a_body_over_the_size_limit_is_a_413():
    _, problem = check_body(json.dumps({"prompt": "x" * 5000}).encode(), LIMITS)
    assert problem is not None and problem.status == 413


@pytest.mark.parametrize(
    ("messages", "expect"),
    [
        (True, "must be a list"),
        ([{"role": "wizard", "content": "x"}], "not a chat role"),
        ([{"role": "user", "content": [{"type": "no-such"}]}], "not a content part type"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": "x"}]}], "'data', 'format'"),
        ([{"role": "user", "content": 5}], "string, null or a list"),
    ],
)
def test_messages_with_unknown_roles_or_malformed_parts_are_refused(messages, expect):
    problem = messages_problem(messages)
    assert problem is not None and problem.param == "messages" and expect in problem.message


def test_well_formed_messages_pass():
    parts = [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    assert messages_problem([{"role": "system", "content": "s"}, {"role": "user", "content": parts}, {"role": "assistant", "content": None}]) is None
