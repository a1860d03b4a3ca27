"""``vars``: declaring, tying to resources, and replacing ``$(NAME)`` references."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import RenderError
from engine.render import vars as variables
from engine.render.configurations import DEFAULT
from engine.render.resources import Resource, ResourceList


def _never(_where: str) -> None:
    return None


def _expand(text: str, values: dict[str, Any]) -> Any:
    res = Resource({"kind": "Pod", "metadata": {"name": "p"}})
    return variables._Substitution(values, set(), res).expand(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)", "x"), ("pre-$(A)-post", "pre-x-post"), ("$(N)", 8080), ("port $(N)", "port 8080"),
    ("$(B)", True), ("is $(B)", "is true"), ("$(F)", 2.5), ("f=$(BIG)", "f=1.5e+06"),
    ("$$(A)", "$(A)"), ("$(UNKNOWN)", "$(UNKNOWN)"), ("$(M)", "$(M)"), ("$x", "$x"),
    ("cost: 5$", "cost: 5$"), ("$(open", "$(open"), ("$(A)$(A)", "xx"),
])
def test_references_expand_as_kustomize_does(text: str, expected: Any) -> None:
    values = {"A": "x", "N": 8080, "B": True, "F": 2.5, "BIG": 1.5e6, "M": {"k": "v"}}
    result = _expand(text, values)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("value", "text"), [
    (3.14159, "3.14159"), (1e6, "1e+06"), (123456.0, "123456"), (0.0001, "0.0001"),
    (1e-05, "1e-05"), (1234567.5, "1.2345675e+06"), (100.0, "100"), (-2.5e-7, "-2.5e-07"),
])
def test_floats_inside_strings_print_as_go_does(value: float, text: str) -> None:
    assert variables._go_float(value) == text


def _cm(name: str, **data: Any) -> Resource:
    return Resource({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                     "data": data})


def _declare(resources: ResourceList, entries: list[dict[str, Any]]) -> variables.VarSet:
    found = variables.VarSet()
    variables.declare(resources, found, variables.parse_vars(entries, "k.yaml"), "k.yaml")
    return found


REF = {"kind": "ConfigMap", "name": "cm", "apiVersion": "v1"}


def test_a_var_is_tied_to_the_resource_by_any_of_its_ids() -> None:
    cm = _cm("cm", mode="fast")
    cm.store_previous_id()
    cm.name = "prefix-cm"
    resources = ResourceList([cm, _cm("other")])
    found = _declare(resources, [{"name": "MODE", "objref": REF,
                                  "fieldref": {"fieldPath": "data.mode"}}])
    assert found.targets["MODE"] is cm


def test_an_objref_without_api_version_matches_only_an_exact_gvk() -> None:
    resources = ResourceList([_cm("cm")])
    found = _declare(resources, [{"name": "X", "objref": {"kind": "ConfigMap", "name": "cm"}}])
    assert "X" not in found.targets  # kustomize compares group/version too


def test_declaring_checks_the_render_budget_at_each_var() -> None:
    steps: list[str] = []
    entries = [{"name": f"V{i}", "objref": REF} for i in range(3)]
    variables.declare(ResourceList([]), variables.VarSet(),
                      variables.parse_vars(entries, "k.yaml"), "k.yaml", step=steps.append)
    assert steps == ["k.yaml"] * 3


def test_two_resources_matching_one_var_are_refused() -> None:
    a, b = _cm("cm"), _cm("cm")
    b.metadata["namespace"] = "other"
    with pytest.raises(RenderError, match="found 2 resId matches for var 'X'"):
        _declare(ResourceList([a, b]), [{"name": "X", "objref": REF}])


def test_unknown_keys_in_a_var_are_refused() -> None:
    with pytest.raises(RenderError, match="unknown field 'fieldPath'"):
        variables.parse_vars([{"name": "X", "objref": REF, "fieldPath": "a"}], "k")


def test_resolve_replaces_at_var_reference_fields_and_checks_the_budget() -> None:
    pod = Resource({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "args": ["$(MODE)"],
                                             "env": [{"name": "E", "value": "$(MODE)"}],
                                             "image": "$(MODE)"}]}})
    resources = ResourceList([_cm("cm", mode="fast"), pod])
    found = _declare(resources, [{"name": "MODE", "objref": REF,
                                  "fieldref": {"fieldpath": "data.mode"}}])
    variables.resolve(resources, found, variables.reference_specs(DEFAULT), step=_never)
    container = pod.obj["spec"]["containers"][0]
    assert container["args"] == ["fast"] and container["env"][0]["value"] == "fast"
    assert container["image"] == "$(MODE)"  # not a var-reference field

    def stop(where: str) -> None:
        raise RenderError(f"{where}: stopped")

    with pytest.raises(RenderError, match="stopped"):
        variables.resolve(resources, found, variables.reference_specs(DEFAULT), step=stop)


def test_a_list_of_non_strings_at_a_reference_field_is_refused() -> None:
    pod = Resource({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "args": [1, "$(X)"]}]}})
    resources = ResourceList([_cm("cm"), pod])
    found = _declare(resources, [{"name": "X", "objref": REF}])
    with pytest.raises(RenderError, match="invalid value type expect a string"):
        variables.resolve(resources, found, variables.reference_specs(DEFAULT), step=_never)


def test_a_var_whose_resource_was_deleted_cannot_be_mapped() -> None:
    cm = _cm("cm")
    resources = ResourceList([cm])
    found = _declare(resources, [{"name": "X", "objref": REF}])
    resources.remove(cm)
    with pytest.raises(RenderError, match="var 'X' cannot be mapped"):
        variables.resolve(resources, found, (), step=_never)


def test_a_generator_merge_keeps_the_var_on_the_new_object() -> None:
    old, new = _cm("cm"), _cm("cm")
    found = _declare(ResourceList([old]), [{"name": "X", "objref": REF}])
    found.retarget(old, new)
    assert found.targets["X"] is new
