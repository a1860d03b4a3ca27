"""The parse memo: a text parsed before gives fresh copies, and what is kept is bounded."""

from __future__ import annotations

import pytest

from engine.errors import RenderError
from engine.render import loader
from engine.render.budget import RenderBudget
from engine.render.loader import ParseMemo, objects_of_output, parse_documents

TEXT = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\nb: [1, 2]\n"


@pytest.fixture
def memo(monkeypatch: pytest.MonkeyPatch) -> ParseMemo:
    fresh = ParseMemo(64 * 1024)
    monkeypatch.setattr(loader, "PARSED", fresh)
    return fresh


def test_a_text_parsed_again_gives_the_same_documents(memo: ParseMemo) -> None:
    first = parse_documents(TEXT, "a.yaml")
    assert memo.bytes > 0
    again = parse_documents(TEXT, "a.yaml")
    assert [(d.value, d.source, d.line) for d in again] == \
        [(d.value, d.source, d.line) for d in first]  # fmt: skip
    assert again[1].value == {"b": [1, 2]} and again[1].line == 8


def test_changing_what_a_parse_gave_changes_no_later_parse(memo: ParseMemo) -> None:
    first = parse_documents(TEXT, "a.yaml")  # kept in the memo
    first[0].value["data"]["k"] = "changed"
    first[1].value["b"].append(3)
    second = parse_documents(TEXT, "a.yaml")  # from the memo
    assert second[0].value["data"] == {"k": "v"} and second[1].value == {"b": [1, 2]}
    second[0].value["metadata"]["name"] = "changed"
    assert parse_documents(TEXT, "a.yaml")[0].value["metadata"] == {"name": "a"}


def test_each_source_keeps_its_own_name(memo: ParseMemo) -> None:
    parse_documents(TEXT, "a.yaml")
    assert {d.source for d in parse_documents(TEXT, "b.yaml")} == {"b.yaml"}


def test_errors_are_raised_every_time(memo: ParseMemo) -> None:
    for _ in range(2):
        with pytest.raises(RenderError, match=r"bad.yaml:3: invalid YAML"):
            parse_documents("a: 1\nb: [\n", "bad.yaml")
    assert memo.bytes == 0


def test_the_memo_keeps_no_more_than_its_bound(memo: ParseMemo) -> None:
    for index in range(2_000):
        parse_documents(f"k: v{index}\nlist: [{index}, 2, 3]\n", f"f{index}.yaml")
    assert 0 < memo.bytes <= 64 * 1024
    assert parse_documents("k: v1999\nlist: [1999, 2, 3]\n", "f1999.yaml")[0].value == \
        {"k": "v1999", "list": [1999, 2, 3]}  # fmt: skip


def test_a_short_text_that_expands_to_many_nodes_is_not_kept(memo: ParseMemo) -> None:
    # Aliases five levels deep: far under the alias-bomb limit, but the expanded value is
    # more than an eighth of the bound once written out.
    text = "a: &a [xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 6)}]\n"
        for i in range(5))
    assert len(text) < 300
    documents = parse_documents(text, "wide.yaml")
    assert len(documents[0].value["f"]) == 6
    assert memo.bytes == 0


def test_the_bound_forgets_the_least_recently_used() -> None:
    memo = ParseMemo(800)
    for name in ("a", "b", "c"):
        memo.put((name, name, False, ()), b"x" * 99)
    assert memo.get(("a", "a", False, ())) is not None  # now the most recent
    for name in ("d", "e", "f", "g", "h", "i"):
        memo.put((name, name, False, ()), b"x" * 99)
    assert memo.bytes <= 800
    assert memo.get(("b", "b", False, ())) is None
    assert memo.get(("a", "a", False, ())) is not None
    memo.put(("big", "big", False, ()), b"x" * 98)  # 3 + 98 bytes: over 800 // 8
    assert memo.get(("big", "big", False, ())) is None


def test_a_binarys_output_is_not_kept(memo: ParseMemo) -> None:
    # helm's or kustomize's output is rendered once and cached as a render: keeping its
    # text too would only fill the memo.
    found = objects_of_output(TEXT.encode(), "helm template", "app", RenderBudget())
    assert [o.get("kind") for o in found] == ["ConfigMap", None]
    assert memo.bytes == 0
