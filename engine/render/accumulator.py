"""What a kustomization accumulates besides resources: transformer configuration and vars.

kustomize's ResAccumulator carries, with the resources, the ``TransformerConfig`` grown by
``configurations`` and ``crds`` and the ``vars`` declared so far. Both travel upwards with
the resources: a kustomization listing a directory absorbs that directory's config and
vars, and a component adds to its parent's. An ``Accumulator`` is the ``ResourceList`` the
builder fills, so that every place a list of resources goes, these go too.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.render.configurations import DEFAULT, NOTHING, TransformerConfig, parse_config
from engine.render.crds import parse_crds
from engine.render.kustomization import Kustomization
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import scalar_string
from engine.render.vars import VarSet

# (kustomization, field, entry) -> (text of the file, its name for messages)
FileReader = Callable[[Kustomization, str, str], tuple[str, str]]


class Accumulator(ResourceList):
    """Resources in accumulation order, with their transformer config and vars."""

    def __init__(self, items: list[Resource] | None = None, *,
                 config: TransformerConfig = NOTHING, variables: VarSet | None = None):
        super().__init__(items)
        self.config = config
        self.variables = variables if variables is not None else VarSet()

    def copy(self) -> Accumulator:
        """An independent copy: resources, config, and vars tied to the copies."""
        copies = [res.copy() for res in self.items]
        mapping = {id(old): new for old, new in zip(self.items, copies, strict=True)}
        return Accumulator(copies, config=self.config,
                           variables=self.variables.copy(mapping))

    def absorb(self, child: ResourceList, where: str) -> None:
        """Take the config and vars of a directory listed here (not its resources)."""
        if isinstance(child, Accumulator):
            self.config = self.config.merged(child.config, where)
            self.variables.absorb(child.variables, where)


def configure(ra: Accumulator, kust: Kustomization, read: FileReader, *,
              step: Callable[[str], None]) -> None:
    """Merge kustomize's defaults and the kustomization's ``configurations`` into ``ra``'s
    config, then what its ``crds`` files declare."""
    own = DEFAULT
    for entry in kust.list("configurations"):
        step(kust.display)
        text, source = read(kust, "configurations", scalar_string(entry))
        own = own.merged(parse_config(text, source), source)
    ra.config = ra.config.merged(own, kust.display)
    for entry in kust.list("crds"):
        step(kust.display)
        text, source = read(kust, "crds", scalar_string(entry))
        ra.config = ra.config.merged(parse_crds(text, source, step), kust.display)
