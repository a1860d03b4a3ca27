"""Jsonnet directories render as Argo CD renders them (``directory.jsonnet``: extVars,
tlas, libs), evaluated in a bounded child process: imports stay in the repository, a
runaway evaluation is stopped at the render's deadline, and values that are not objects
are errors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import RenderTimeoutError
from engine.render.budget import RenderBudget
from engine.render.errors import RenderError
from engine.render.jsonnet import JsonnetOptions, JsonnetVariable
from engine.renderer.fallback import build_or_fallback

GUESTBOOK = {
    "app/guestbook.jsonnet": "local lib = import 'lib.libsonnet';\n"
                             "[lib.service('guestbook'), lib.config('guestbook')]\n",
    "app/lib.libsonnet": "{ service(name):: { apiVersion: 'v1', kind: 'Service',"
                         " metadata: { name: name } },\n"
                         "  config(name):: { apiVersion: 'v1', kind: 'ConfigMap',"
                         " metadata: { name: name + '-config' } } }\n",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _render(root: Path, path: str = "app", options: JsonnetOptions | None = None,
            budget: RenderBudget | None = None, reads: set[str] | None = None) -> list[dict]:
    return build_or_fallback(root / path, root=root, jsonnet=options, budget=budget,
                             reads=reads)


def test_a_jsonnet_directory_renders_its_entry_files_and_records_their_imports(
        tmp_path: Path) -> None:
    reads: set[str] = set()
    objects = _render(_tree(tmp_path, GUESTBOOK), reads=reads)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Service", "guestbook"), ("ConfigMap", "guestbook-config")]
    assert {"app/guestbook.jsonnet", "app/lib.libsonnet"} <= reads


def test_ext_vars_tlas_and_libs_are_argo_cd_s(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "app/main.jsonnet": "local k = import 'k.libsonnet';\n"
                            "function(replicas, labels={}) k.deployment(std.extVar('name'),"
                            " replicas, std.extVar('tier'))\n",
        "vendor/k.libsonnet": "{ deployment(name, replicas, tier):: { apiVersion: 'apps/v1',"
                              " kind: 'Deployment', metadata: { name: name, labels:"
                              " { tier: tier } }, spec: { replicas: replicas } } }\n",
    })
    options = JsonnetOptions(
        ext_vars=(JsonnetVariable("name", "web"), JsonnetVariable("tier", "'front'", code=True)),
        tlas=(JsonnetVariable("replicas", "3", code=True),), libs=("vendor",))
    [deployment] = _render(root, options=options)
    assert deployment["metadata"] == {"name": "web", "labels": {"tier": "front"}}
    assert deployment["spec"]["replicas"] == 3


@pytest.mark.parametrize("target", ["../../outside.libsonnet", "/etc/hostname"])
def test_an_import_that_leaves_the_repository_is_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside.libsonnet").write_text("{ apiVersion: 'v1', kind: 'Secret' }\n")
    root = _tree(tmp_path / "repo", {"app/main.jsonnet": f"import '{target}'\n"})
    with pytest.raises(RenderError, match=r"^app/main\.jsonnet: Jsonnet: .*(outside the "
                                          r"repository|absolute paths are refused)"):
        _render(root)


def test_a_library_directory_outside_the_repository_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", {"app/main.jsonnet": "import 'x.libsonnet'\n"})
    with pytest.raises(RenderError, match="outside the repository"):
        _render(root, options=JsonnetOptions(libs=("../..",)))


def test_a_runaway_evaluation_is_stopped_at_the_deadline(tmp_path: Path) -> None:
    # A loop in constant memory that would run for hours (C++: Python cannot interrupt it).
    root = _tree(tmp_path, {"app/main.jsonnet": "local loop(n) = if n == 0 then 0 else"
                                                " loop(n - 1) tailstrict; loop(1e12)\n"})
    with pytest.raises(RenderTimeoutError, match=r"^app/main\.jsonnet"):
        _render(root, budget=RenderBudget(timeout=2.0))


@pytest.mark.parametrize(("text", "problem"), [
    ("'just a string'\n", "must be an object or an array of objects, not str"),
    ("[{ kind: 'ConfigMap', metadata: { name: 'a' } }]\n", "not a Kubernetes object: "
                                                          "no apiVersion"),
    ("{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: error 'boom' } }\n",
     "RUNTIME ERROR: boom"),
])
def test_a_value_that_is_not_objects_is_an_error_naming_the_file(
        tmp_path: Path, text: str, problem: str) -> None:
    root = _tree(tmp_path, {"app/main.jsonnet": text})
    with pytest.raises(RenderError, match=r"^app/main\.jsonnet") as caught:
        _render(root)
    assert problem in str(caught.value)
    assert str(tmp_path) not in str(caught.value)  # the hub's directories are never shown


def test_fleetsync_render_prints_a_jsonnet_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path, GUESTBOOK)
    assert main(["render", "--root", str(root), str(root / "app")]) == 0
    out = capsys.readouterr().out
    assert "kind: Service" in out and "name: guestbook-config" in out
