"""Rendering a Helm chart of a commit's tree with the helm binary (``helm template``).

Not pure (runs a subprocess). Argo CD renders an app whose path holds a ``Chart.yaml`` (and
no kustomization) with Helm; so does fleetsync, with a pinned helm built like kubectl
(``fleetsync local build``) or the one ``render.helmBinary`` names, sandboxed as the
kustomize fallback is (``engine.renderer.sandbox``: the commit tree read-only, no network,
a cleared environment, the render's deadline, bounded output). The release is named after
the app (or ``helm.releaseName``) in the destination namespace; the chart's CRDs are
included unless ``skipCrds``. Value files must lie inside the repository (read through the
same guarded reader as manifests, so a link out of the tree is refused); inline values are
handed to the sandbox as a read-only file. A chart's dependencies must be in its
``charts/`` directory: with no network, ``helm template`` cannot download them, and says
which is missing. The output is parsed with the guards of every render; Helm's hooks
become fleetsync's (``engine.hooks``).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.apps.helm import HelmOptions
from engine.render.budget import RenderBudget
from engine.render.errors import RenderError
from engine.render.loader import RepoReader, objects_of_output
from engine.renderer.sandbox import SOURCE, VALUES, run_helm


@dataclass(frozen=True)
class HelmRun:
    """What a chart render needs besides the chart: the binary, the app's options, the
    release name and the destination namespace."""

    binary: str
    options: HelmOptions
    release: str
    namespace: str
    # The $<ref>/<path> value files, read from the other sources: (name, content).
    ref_values: tuple[tuple[str, bytes], ...] = ()

    def key(self) -> tuple[tuple[str, str], ...]:
        """What a render's cache key must add for a chart."""
        refs = hashlib.sha256(repr(self.ref_values).encode()).hexdigest()[:16]
        return (("helm", self.options.fingerprint()), ("release", self.release),
                ("namespace", self.namespace), ("refs", refs))


def render_chart(reader: RepoReader, chart: Path, run: HelmRun,
                 budget: RenderBudget) -> list[dict[str, Any]]:  # fmt: skip
    """The objects of ``helm template`` on the chart directory ``chart`` (inside the
    reader's root)."""
    where = reader.display(chart)
    reader.depends_on(chart)  # any file of the chart may change the render
    options = run.options
    arguments = [run.release, _inside(where), "--namespace", run.namespace or "default"]
    if not options.skip_crds:
        arguments.append("--include-crds")
    referenced = dict(run.ref_values)
    with tempfile.TemporaryDirectory(prefix="fleetsync-values-") as values:
        for index, name in enumerate(options.value_files):
            if name.startswith("$"):  # a file of another source, handed in as a copy
                if name not in referenced:
                    if options.ignore_missing_value_files:
                        continue
                    raise RenderError(f"{where}: value file {name}: no such file")
                (Path(values) / f"ref-{index}.yaml").write_bytes(referenced[name])
                arguments += ["--values", f"{VALUES}/ref-{index}.yaml"]
                continue
            found = _value_file(reader, chart, name, where, options.ignore_missing_value_files)
            if found is not None:
                arguments += ["--values", _inside(found)]
        if options.values:
            (Path(values) / "values.yaml").write_text(options.values)
            arguments += ["--values", f"{VALUES}/values.yaml"]
        for parameter in options.parameters:
            flag = "--set-string" if parameter.force_string else "--set"
            arguments += [flag, f"{parameter.name}={_literal(parameter.value)}"]
        output = run_helm(run.binary, reader.root, Path(values), arguments, where=where,
                          budget=budget)  # fmt: skip
    return objects_of_output(output, f"helm template {where}", where, budget)


def _value_file(reader: RepoReader, chart: Path, name: str, where: str,
                ignore_missing: bool) -> str | None:  # fmt: skip
    """A value file's path relative to the root, read (so recorded and bounded) through
    the reader; None for a missing one that may be ignored."""
    path = chart / name
    real = reader.resolve(path)  # outside the repository: SecurityError
    if not real.is_file():
        if ignore_missing:
            return None
        raise RenderError(f"{where}: value file {name}: no such file in the repository")
    reader.read_bytes(real)
    return reader.display(real)


def _inside(relative: str) -> str:
    """A root-relative path as the sandbox sees it."""
    return SOURCE if relative in ("", ".") else f"{SOURCE}/{relative}"


def _literal(value: str) -> str:
    """``value`` escaped so that ``--set`` takes it as it is (no list, no nesting)."""
    return value.replace("\\", "\\\\").replace(",", "\\,")
