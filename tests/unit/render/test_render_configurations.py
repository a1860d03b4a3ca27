"""``configurations``: parsing transformer configs, kustomize's merge, and where files may be."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RenderError
from engine.render import SecurityError, build, configurations
from engine.render.configurations import DEFAULT, NOTHING, parse_config
from engine.render.fieldspecs import FieldSpec
from engine.render.resid import Gvk
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_specs_are_added_to_the_defaults_and_sorted() -> None:
    config = parse_config("commonLabels:\n- {path: spec/sel, kind: Widget, create: true}\n",
                          "c.yaml")
    labels = config.effective("commonLabels")
    assert FieldSpec("spec/sel", kind="Widget", create=True) in labels
    assert FieldSpec("metadata/labels", create=True) in labels
    assert config.added("commonLabels") == (FieldSpec("spec/sel", kind="Widget", create=True),)


def test_a_spec_already_covered_by_a_default_adds_nothing() -> None:
    config = parse_config("commonAnnotations:\n- {path: metadata/annotations, create: true}\n",
                          "c.yaml")
    assert config.specs == {}


def test_keys_match_case_insensitively_as_go_json_does() -> None:
    config = parse_config("NamePrefix:\n- {Path: spec/x, KIND: Widget}\n", "c.yaml")
    assert config.added("namePrefix") == (FieldSpec("spec/x", kind="Widget"),)


def test_specs_differing_only_in_create_conflict() -> None:
    with pytest.raises(RenderError, match=r"c.yaml: replicas: conflicting fieldspecs"):
        parse_config("replicas:\n- {path: spec/replicas}\n", "c.yaml")


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(RenderError, match=r"unknown field 'labelz'"):
        parse_config("labelz: []\n", "c.yaml")
    with pytest.raises(RenderError, match=r"unknown field 'paht'"):
        parse_config("images:\n- {paht: spec/image}\n", "c.yaml")


def test_a_kind_specific_name_spec_replaces_the_default_when_accumulated() -> None:
    # kustomize sorts {kind: Foo} before {} and then drops {} as covered: only Foo is renamed.
    own = DEFAULT.merged(parse_config("namePrefix:\n- {path: metadata/name, kind: Foo}\n",
                                      "c.yaml"), "k")
    accumulated = NOTHING.merged(own, "k")
    assert accumulated.effective("namePrefix") == (FieldSpec("metadata/name", kind="Foo"),)
    assert not accumulated.keeps_default("namePrefix", FieldSpec("metadata/name"))
    assert own.keeps_default("namePrefix", FieldSpec("metadata/name"))


def test_accumulating_the_defaults_again_changes_nothing() -> None:
    custom = NOTHING.merged(parse_config("images:\n- {path: spec/img, kind: W}\n", "c"), "k")
    assert custom.merged(DEFAULT, "parent") == custom
    assert NOTHING.merged(DEFAULT, "k") == DEFAULT


def test_name_references_join_the_default_back_reference_of_their_target() -> None:
    config = parse_config(
        "nameReference:\n- kind: ConfigMap\n  version: v1\n  fieldSpecs:\n"
        "  - {path: spec/cfg, kind: Widget}\n"
        "  - {path: spec/template/spec/volumes/configMap/name, kind: Deployment}\n",
        "c.yaml")
    (backref,) = config.name_references
    assert backref.target == Gvk("", "v1", "ConfigMap")
    assert backref.referrers == (FieldSpec("spec/cfg", kind="Widget"),)  # the default dropped


def test_a_configuration_with_too_many_specs_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configurations, "MAX_SPECS", 40)
    specs = "".join(f"- {{path: spec/f{i}, kind: W}}\n" for i in range(41))
    with pytest.raises(SecurityError, match="more than 40 field specs"):
        parse_config("namePrefix:\n" + specs, "c.yaml")
    refs = "".join(f"- {{kind: K{i}, fieldSpecs: [{{path: a}}]}}\n" for i in range(41))
    with pytest.raises(SecurityError, match="more than 40 name references"):
        parse_config("nameReference:\n" + refs, "c.yaml")


def _app(tmp_path: Path, config_entry: str) -> Path:
    write(tmp_path, {
        "app/kustomization.yaml": f"resources: [cm.yaml]\nconfigurations: ['{config_entry}']\n",
        "app/cm.yaml": CM.format(name="cm"), "app/c.yaml": "commonLabels: []\n",
        "c.yaml": "commonLabels: []\n"})
    return tmp_path / "app"


def test_configurations_file_outside_the_kustomization_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecurityError, match=r"'../c.yaml' is not in or below 'app'"):
        build(_app(tmp_path, "../c.yaml"), root=tmp_path)


def test_configurations_file_inside_is_read(tmp_path: Path) -> None:
    assert [o["metadata"]["name"] for o in build(_app(tmp_path, "c.yaml"), root=tmp_path)] \
        == ["cm"]


def test_remote_configurations_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"configurations: remote file .* not supported"):
        build(_app(tmp_path, "https://example.com/c.yaml"), root=tmp_path)
