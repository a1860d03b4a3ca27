"""deploy/Dockerfile, parsed (dockerfile-parse): what the image must be, checked without an
image builder: a pinned slim base, no root at run time, git but no Kubernetes tools, the
data directory a volume, the hub as the entry point."""

from __future__ import annotations

from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[3]


def _instructions() -> list[dict[str, str]]:
    parser = DockerfileParser(path=str(ROOT / "deploy" / "Dockerfile"))
    found: list[dict[str, str]] = parser.structure
    return found


def _final_stage() -> list[dict[str, str]]:
    steps = _instructions()
    last_from = max(i for i, s in enumerate(steps) if s["instruction"] == "FROM")
    return steps[last_from:]


def test_every_base_is_a_tagged_slim_python() -> None:
    bases = [s["value"].split()[0] for s in _instructions() if s["instruction"] == "FROM"]
    assert bases and all(b.startswith("python:3.12-slim-") for b in bases), bases


def test_the_hub_runs_as_an_unprivileged_user_with_its_data_on_a_volume() -> None:
    final = _final_stage()
    users = [s["value"] for s in final if s["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), users
    assert any("/var/lib/fleetsync" in s["value"] for s in final if s["instruction"] == "VOLUME")
    entry = [s["value"] for s in final if s["instruction"] == "ENTRYPOINT"]
    assert entry == ['["fleetsync"]']


def test_git_is_installed_and_no_kubernetes_tool_is() -> None:
    runs = " ".join(s["value"] for s in _final_stage() if s["instruction"] == "RUN")
    assert "install -y --no-install-recommends git" in runs
    steps = " ".join(s["value"] for s in _instructions() if s["instruction"] != "COMMENT")
    for tool in ("kubectl", "kustomize", "helm", "kube-apiserver"):
        assert tool not in steps


def test_the_build_context_is_only_what_the_image_needs() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") + 1:][:3] == ["!pyproject.toml", "!README.md", "!engine/"]
    copies = [s["value"] for s in _instructions() if s["instruction"] == "COPY"]
    sources = {part for c in copies if "--from" not in c for part in c.split()[:-1]}
    assert sources == {"pyproject.toml", "README.md", "engine"}
