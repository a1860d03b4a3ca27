"""Class 6 of issue 8: render work without bound.

Kustomizations that fan out (each level listing two directories of the next) ask for
exponential work from under 1 KB of files. Built directories are memoized per render
(the diamond becomes cheap), and a budget of directory visits, objects and time stops
what memoizing cannot share. A render past its deadline, or one no caller waits for any
more, stops and frees its thread for the next app. User regexes run on RE2 (no ReDoS).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.render import (
    RenderBudget,
    RenderCancelledError,
    RenderError,
    RenderLimitError,
    RenderTimeoutError,
    build,
)
from engine.renderer.cache import RenderKey
from engine.renderer.service import AsyncRenderCache
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"
LEVELS = 20


def resource_fan_out(root: Path, *, leaf: str, renamed: bool) -> Path:
    """Levels 0..LEVELS, each directory listing both directories of the next level."""
    files = {f"l{LEVELS}/{side}/kustomization.yaml": leaf for side in "ab"}
    for level in range(LEVELS):
        for side in "ab":
            prefix = f"namePrefix: {side}{level}-\n" if renamed else ""
            files[f"l{level}/{side}/kustomization.yaml"] = (
                f"resources: [../../l{level + 1}/a, ../../l{level + 1}/b]\n{prefix}")
    files["kustomization.yaml"] = "resources: [l0/a, l0/b]\n"
    write(root, files)
    return root


def component_fan_out(root: Path) -> Path:
    """Components listing two components of the next level: not shareable by a memo."""
    files = {"cm.yaml": CM.format(name="cm"),
             "kustomization.yaml": "resources: [cm.yaml]\ncomponents: [c0/a, c0/b]\n"}
    for level in range(LEVELS + 1):
        for side in "ab":
            nested = (f"components: [../../c{level + 1}/a, ../../c{level + 1}/b]\n"
                      if level < LEVELS else "")
            files[f"c{level}/{side}/kustomization.yaml"] = (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                f"commonAnnotations: {{level: '{level}'}}\n{nested}")
    write(root, files)
    return root


def test_fan_out_of_resources_builds_each_directory_once(tmp_path: Path) -> None:
    repo = resource_fan_out(tmp_path, leaf="commonLabels: {leaf: 'yes'}\n", renamed=False)
    budget = RenderBudget()
    assert build(repo, budget=budget) == []
    # 2 directories per level, each listed twice: 2^21 builds without the memo.
    assert budget.visits <= 4 * (LEVELS + 1) + 1


def test_diamond_of_one_base_is_refused_as_kustomize_refuses_it(tmp_path: Path) -> None:
    repo = resource_fan_out(tmp_path, leaf="resources: [../../cm.yaml]\n", renamed=False)
    write(repo, {"cm.yaml": CM.format(name="cm")})
    (repo / f"l{LEVELS}" / "a" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (repo / f"l{LEVELS}" / "a" / "cm.yaml").write_text(CM.format(name="cm"))
    (repo / f"l{LEVELS}" / "b" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (repo / f"l{LEVELS}" / "b" / "cm.yaml").write_text(CM.format(name="other"))
    budget = RenderBudget()
    with pytest.raises(Exception, match="already registered id"):
        build(repo, budget=budget)
    assert budget.visits <= 4 * (LEVELS + 1) + 1


def test_fan_out_of_renamed_copies_is_stopped_by_the_object_budget(tmp_path: Path) -> None:
    repo = resource_fan_out(tmp_path, leaf="resources: [cm.yaml]\n", renamed=True)
    for side in "ab":
        write(repo, {f"l{LEVELS}/{side}/cm.yaml": CM.format(name=f"cm-{side}")})
    budget = RenderBudget(max_objects=1000)
    with pytest.raises(RenderLimitError, match=r"l\d+/[ab]: render accumulates more than 1000"):
        build(repo, budget=budget)
    assert budget.objects == 1001 or budget.objects <= 2 * 1000


def test_fan_out_of_components_is_stopped_by_the_visit_budget(tmp_path: Path) -> None:
    repo = component_fan_out(tmp_path)
    budget = RenderBudget()
    with pytest.raises(RenderLimitError, match=r"c\d+/[ab]: render visits more than 2000 "
                                               "kustomization directories"):
        build(repo, budget=budget)
    assert budget.visits == budget.max_visits + 1


def test_render_past_its_deadline_stops(tmp_path: Path) -> None:
    repo = component_fan_out(tmp_path)
    budget = RenderBudget(timeout=0.3, max_visits=10**9)
    with pytest.raises(RenderTimeoutError, match=r"time limit of 0.3 s \(limits.renderTimeout\)"):
        build(repo, budget=budget)
    assert budget.visits < 2 ** LEVELS


def test_a_cancelled_render_stops_at_its_next_step(tmp_path: Path) -> None:
    repo = component_fan_out(tmp_path)
    budget = RenderBudget(timeout=3600, max_visits=10**9)
    budget.cancel()
    with pytest.raises(RenderCancelledError):
        build(repo, budget=budget)
    assert budget.visits <= 1


def test_a_render_reading_too_many_files_is_stopped_naming_the_file(tmp_path: Path) -> None:
    files = {f"cm{i}.yaml": CM.format(name=f"cm{i}") for i in range(6)}
    files["kustomization.yaml"] = "resources: [" + ", ".join(sorted(files)) + "]\n"
    write(tmp_path, files)
    budget = RenderBudget(max_files=4)
    with pytest.raises(RenderLimitError, match=r"^cm\d\.yaml: render reads more than 4 files"):
        build(tmp_path, budget=budget)
    assert budget.files == 5


def test_a_file_read_is_named_only_when_the_budget_refuses_it() -> None:
    asked: list[str] = []

    def name() -> str:
        asked.append("x")
        return "app/x.yaml"

    budget = RenderBudget(max_files=1).start()
    budget.read_file(name)
    assert asked == []
    with pytest.raises(RenderLimitError, match=r"^app/x.yaml: render reads more than 1 files"):
        budget.read_file(name)
    budget = RenderBudget(max_files=10).start()
    budget.cancel()
    with pytest.raises(RenderCancelledError, match=r"^app/x.yaml: render cancelled"):
        budget.read_file(name)


# The async front: renders on the cache's own threads, stopped when no one waits.

def small_app(root: Path) -> Path:
    write(root, {"kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM.format(name="ok")})
    return root


class Runaway:
    """A render of the component fan-out that records when its thread starts and ends."""

    def __init__(self, repo: Path, budget: RenderBudget):
        self.repo, self.budget = repo, budget
        self.started, self.ended = threading.Event(), threading.Event()
        self.error: BaseException | None = None

    def __call__(self) -> list[dict[str, Any]]:
        self.started.set()
        try:
            return build(self.repo, budget=self.budget)
        except BaseException as err:
            self.error = err
            raise
        finally:
            self.ended.set()


def key(name: str) -> RenderKey:
    return RenderKey("https://git.example/repo", "0" * 40, name)


async def wait_for_event(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 30), "event not set within 30 s"


async def render_next(front: AsyncRenderCache, app: Path) -> list[dict[str, Any]]:
    budget = RenderBudget()
    done = front.render(key("next"), lambda: build(app, budget=budget), budget=budget)
    return await asyncio.wait_for(done, 30)


async def test_cancelled_caller_stops_its_render_and_frees_the_slot(tmp_path: Path) -> None:
    front = AsyncRenderCache(limit=1)
    runaway = Runaway(component_fan_out(tmp_path / "a"), RenderBudget(timeout=3600,
                                                                     max_visits=10**9))
    caller = asyncio.create_task(front.render(key("a"), runaway, budget=runaway.budget))
    await wait_for_event(runaway.started)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    objects = await render_next(front, small_app(tmp_path / "b"))  # needs the one thread
    assert [o["metadata"]["name"] for o in objects] == ["ok"]
    assert runaway.ended.is_set() and isinstance(runaway.error, RenderCancelledError)
    front.close()


async def test_caller_timeout_stops_its_render_and_frees_the_slot(tmp_path: Path) -> None:
    front = AsyncRenderCache(limit=1)
    runaway = Runaway(component_fan_out(tmp_path / "a"), RenderBudget(timeout=3600,
                                                                     max_visits=10**9))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(front.render(key("a"), runaway, budget=runaway.budget), 0.5)
    objects = await render_next(front, small_app(tmp_path / "b"))
    assert [o["metadata"]["name"] for o in objects] == ["ok"]
    assert isinstance(runaway.error, RenderCancelledError)
    front.close()


async def test_render_past_its_deadline_frees_the_slot(tmp_path: Path) -> None:
    front = AsyncRenderCache(limit=1)
    runaway = Runaway(component_fan_out(tmp_path / "a"), RenderBudget(timeout=0.5,
                                                                     max_visits=10**9))
    first = asyncio.create_task(front.render(key("a"), runaway, budget=runaway.budget))
    objects = await render_next(front, small_app(tmp_path / "b"))
    assert [o["metadata"]["name"] for o in objects] == ["ok"]
    with pytest.raises(RenderTimeoutError):
        await first
    assert runaway.ended.is_set()
    front.close()


async def test_renders_do_not_use_the_loops_default_executor(tmp_path: Path) -> None:
    front = AsyncRenderCache(limit=1)
    names: list[str] = []

    def render() -> list[dict[str, Any]]:
        names.append(threading.current_thread().name)
        return []

    await front.render(key("x"), render, budget=RenderBudget())
    assert names and names[0].startswith("fleetsync-render")
    front.close()


# ReDoS: patterns from the repository run on RE2, linear in the input. The render runs in
# a child process: a backtracking regex holds the GIL in C, so a thread could not even be
# given up on; the generous timeout only bounds a failing run.

CATASTROPHIC = "(a+)+$"
VICTIM = "a" * 40 + "x"  # 2^40 backtracking steps for Python's re


def render_in_child(app: Path) -> list[dict[str, Any]]:
    code = ("import json, sys; from engine.render import build; "
            "print(json.dumps(build(sys.argv[1])))")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(app)], capture_output=True,
                              text=True, timeout=30, check=True, cwd=Path(__file__).parents[2])
    except subprocess.TimeoutExpired:
        pytest.fail("a catastrophic pattern held the render")
    objects: list[dict[str, Any]] = json.loads(done.stdout)
    return objects


def test_catastrophic_patch_target_pattern_returns_promptly(tmp_path: Path) -> None:
    write(tmp_path, {"victim.yaml": CM.format(name=VICTIM), "match.yaml": CM.format(name="aaa"),
                     "kustomization.yaml": (
                         "resources: [victim.yaml, match.yaml]\npatches:\n- target:\n"
                         f"    name: '{CATASTROPHIC}'\n"
                         "  patch: '[{op: add, path: /data/p, value: x}]'\n")})
    objects = render_in_child(tmp_path)
    assert [o["data"] for o in objects] == [{"k": "v", "p": "x"}, {"k": "v"}]  # aaa, victim


def test_catastrophic_image_name_returns_promptly(tmp_path: Path) -> None:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
           f"  - name: c\n    image: '{VICTIM}!'\n")
    write(tmp_path, {"pod.yaml": pod, "kustomization.yaml":
                     "resources: [pod.yaml]\nimages:\n- name: '(a+)+'\n  newTag: v2\n"})
    objects = render_in_child(tmp_path)
    assert objects[0]["spec"]["containers"][0]["image"] == f"{VICTIM}!"


def test_pattern_re2_cannot_compile_is_a_render_error(tmp_path: Path) -> None:
    write(tmp_path, {"cm.yaml": CM.format(name="cm"), "kustomization.yaml":
                     "resources: [cm.yaml]\npatches:\n- target: {name: '(a)\\1'}\n"
                     "  patch: '[{op: add, path: /data/p, value: x}]'\n"})
    with pytest.raises(RenderError, match="invalid pattern"):
        build(tmp_path)
