"""``generators``/``transformers``/``validators``: built-in plugin configs only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import RenderError
from engine.render import SecurityError, UnsupportedFieldError, build, generators, plugins
from engine.render.resources import Resource, ResourceList
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def _never(_where: str) -> None:
    return None


def _context(step: Callable[[str], None] = _never) -> plugins.Context:
    def read(path: str) -> tuple[str, str]:
        raise AssertionError(f"no file reads expected: {path}")

    return plugins.Context("k.yaml", read, generators.DataSource(Path("."), read, "k.yaml"),
                           step)


def _config(kind: str, api: str = "builtin", **fields: object) -> Resource:
    return Resource({"apiVersion": api, "kind": kind, "metadata": {"name": "c"}, **fields})


@pytest.mark.parametrize(("entry", "inline"), [
    ("prefixer.yaml", False), ("../shared/transformers", False),
    ("apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\n", True),
    ("- a\n- b\n", False), ("{{ not yaml", False),
])
def test_an_entry_is_inline_when_it_holds_objects(entry: str, inline: bool) -> None:
    assert (plugins.inline_configs(entry, "k.yaml") is not None) is inline


def test_a_plugin_that_is_not_built_in_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedFieldError, match=r"example.com/v1/Sed 'c' is not a built-in"):
        plugins.transform(ResourceList([]), _config("Sed", api="example.com/v1"), _context())


@pytest.mark.parametrize("kind", ["HashTransformer", "ValueAddTransformer", "Nope"])
def test_built_in_transformers_not_rendered_natively_are_refused(kind: str) -> None:
    with pytest.raises(UnsupportedFieldError, match=kind):
        plugins.transform(ResourceList([]), _config(kind), _context())


def test_helm_generator_is_refused() -> None:
    with pytest.raises(UnsupportedFieldError, match="HelmChartInflationGenerator"):
        plugins.generate(_config("HelmChartInflationGenerator"), _context())


def test_plugin_field_specs_are_read_leniently_as_kustomize_does() -> None:
    cm = Resource({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    config = _config("PrefixTransformer", prefix="p-",
                     fieldSpecs=[{"path": "metadata/name", "comment": "ignored"}])
    plugins.transform(ResourceList([cm]), config, _context())
    assert cm.name == "p-cm" and cm.prefixes == ["p-"]


def test_plugins_check_the_render_budget() -> None:
    def stop(where: str) -> None:
        raise RenderError(f"{where}: stopped")

    with pytest.raises(RenderError, match=r"LabelTransformer 'c': stopped"):
        plugins.transform(ResourceList([]), _config("LabelTransformer"), _context(stop))


def test_a_validator_may_add_only_its_label() -> None:
    cm = Resource({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    marks = _config("LabelTransformer", labels={"validated-by": "v"},
                    fieldSpecs=[{"path": "metadata/labels", "create": True}])
    plugins.validate(ResourceList([cm]), marks, _context())
    changes = _config("LabelTransformer", labels={"team": "a"},
                      fieldSpecs=[{"path": "metadata/labels", "create": True}])
    with pytest.raises(RenderError, match="shouldn't modify the resource map"):
        plugins.validate(ResourceList([cm]), changes, _context())
    assert cm.obj["metadata"] == {"name": "cm"}


def test_iam_policy_generator_makes_a_workload_identity_service_account() -> None:
    config = _config("IAMPolicyGenerator", cloud="gke",
                     kubernetesService={"name": "sa"},
                     serviceAccount={"name": "app", "projectId": "p"})
    (made,) = plugins.generate(config, _context())
    assert made.obj == {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "annotations": {"iam.gke.io/gcp-service-account": "app@p.iam.gserviceaccount.com"},
        "name": "sa"}}


def test_plugin_config_file_outside_the_kustomization_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"app/kustomization.yaml": "transformers: [../t.yaml]\n",
                     "t.yaml": "apiVersion: builtin\nkind: LabelTransformer\n"
                               "metadata: {name: l}\n"})
    with pytest.raises(SecurityError, match=r"'../t.yaml' is not in or below 'app'"):
        build(tmp_path / "app", root=tmp_path)


def test_a_file_a_plugin_names_must_be_in_the_kustomization(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/kustomization.yaml": "resources: [cm.yaml]\ntransformers:\n- |-\n"
                                  "  apiVersion: builtin\n  kind: PatchTransformer\n"
                                  "  metadata: {name: p}\n  path: ../patch.yaml\n",
        "app/cm.yaml": CM.format(name="cm"), "patch.yaml": CM.format(name="cm")})
    with pytest.raises(SecurityError, match=r"'../patch.yaml' is not in or below 'app'"):
        build(tmp_path / "app", root=tmp_path)
