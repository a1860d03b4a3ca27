"""Annotation values as kustomize prints them, duplicate keys, and sortOptions checks."""

from __future__ import annotations

import re

import pytest

from engine.errors import RenderError
from engine.render.loader import parse_documents
from engine.render.metadata import go_text, normalise_numbers, stringify_annotations
from engine.render.order import ORDER_FIRST, SortOptions, sort_options


@pytest.mark.parametrize(("value", "text"), [
    (8080, "8080"), (True, "true"), (None, "null"), (1.5, "1.5"), (2.0, "2"),
    (1e30, "1e+30"), (0.000015, "0.000015"), ([1], ""), ({"a": 1}, ""), ("x", "x"),
])
def test_values_moved_into_annotations_print_as_go_does(value: object, text: str) -> None:
    assert go_text(value) == text


def test_stringify_annotations_converts_values_and_drops_an_empty_map() -> None:
    obj = {"metadata": {"annotations": {"port": 8080, "on": True}, "labels": {"n": 3}}}
    stringify_annotations(obj)
    assert obj == {"metadata": {"annotations": {"port": "8080", "on": "true"},
                                "labels": {"n": 3}}}
    empty = {"metadata": {"name": "x", "annotations": {}}}
    stringify_annotations(empty)
    assert empty == {"metadata": {"name": "x"}}


def test_annotations_keep_their_written_text_and_aliases_keep_their_type() -> None:
    text = ("kind: List\nitems:\n- kind: ConfigMap\n  data: {ratio: &r 1.10}\n"
            "  metadata:\n    annotations: {version: *r, hex: 0x1F, none: ~, l: [1]}\n"
            "    labels: {n: 3}\n")
    doc = parse_documents(text, "t.yaml", string_metadata=("annotations",))[0].value
    item = doc["items"][0]
    assert item["metadata"]["annotations"] == {"version": "1.10", "hex": "0x1F",
                                               "none": "~", "l": ""}
    assert item["metadata"]["labels"] == {"n": 3}
    assert item["data"]["ratio"] == pytest.approx(1.1)


def test_json_round_trip_makes_integral_floats_integers() -> None:
    assert normalise_numbers({"a": [2.0, 2.5, "3"], "b": 1e30}) == {"a": [2, 2.5, "3"],
                                                                     "b": 1e30}


def test_duplicate_keys_refused_in_manifests_but_not_in_kustomizations() -> None:
    with pytest.raises(RenderError, match=re.escape(
            't.yaml:3: invalid YAML: mapping key "a" already defined at line 2')):
        parse_documents("x:\n  a: 1\n  a: 2\n", "t.yaml")
    assert parse_documents("a: 1\na: 2\n", "k.yaml", yaml11=True)[0].value == {"a": 2}


@pytest.mark.parametrize(("value", "expected"), [
    (None, SortOptions()),
    ({"order": "fifo"}, SortOptions(fifo=True)),
    ({"order": "legacy"}, SortOptions(order_first=ORDER_FIRST)),
    ({"order": "legacy", "legacySortOptions": {"orderFirst": ["Service"]}},
     SortOptions(order_first=("Service",), order_last=())),
])
def test_sort_options(value: object, expected: SortOptions) -> None:
    assert sort_options(value, "k.yaml") == expected


@pytest.mark.parametrize(("value", "message"), [
    ({"legacySortOptions": {}}, "'sortOptions.order' must be one of [fifo, legacy]"),
    ({"order": "fifo", "legacySortOptions": {}}, "selected sort order is 'fifo'"),
    ({"order": "legacy", "legacySortOptions": {"orderFirst": "Service"}}, "list of kinds"),
    ({"order": "legacy", "legacySortOptions": {"first": []}}, "unknown field"),
])
def test_invalid_sort_options_are_refused(value: object, message: str) -> None:
    with pytest.raises(RenderError, match=re.escape(message)):
        sort_options(value, "k.yaml")
