"""The parts of kubernetes_asyncio the cluster client uses, loaded without the rest.

``import kubernetes_asyncio`` runs the package's ``__init__``, which imports every
generated API and model class: about 850 modules, a third of an idle hub's memory (34 of
~74 MiB measured with kubernetes_asyncio 36.1). The hub sends raw requests and needs only
the API client, its configuration and the kubeconfig loader. So, unless something
imported the package already, its three package modules (the package, ``client`` and
``client.models``) are registered before their ``__init__`` runs: submodules then load
alone, and the first use of any other name of such a package (a test's ``CoreV1Api``, a
typed response's model) runs that ``__init__`` then, so every name still works.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import PathFinder
from types import ModuleType
from typing import Any

_PACKAGES = ("kubernetes_asyncio", "kubernetes_asyncio.client", "kubernetes_asyncio.client.models")


def _deferred(name: str) -> None:
    """Register package ``name`` with its ``__init__`` run on the first missing name."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot find {name}")
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(attribute: str) -> Any:
        if PathFinder.find_spec(f"{name}.{attribute}", module.__path__) is not None:
            # A submodule: ``from package import submodule`` then imports it alone.
            raise AttributeError(f"module {name!r} has no attribute {attribute!r} yet")
        vars(module).pop("__getattr__", None)  # once; the __init__ defines the rest
        loader.exec_module(module)
        try:
            return vars(module)[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    module.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


if "kubernetes_asyncio" not in sys.modules:
    for _name in _PACKAGES:
        _deferred(_name)

from kubernetes_asyncio.client.api_client import ApiClient  # noqa: E402
from kubernetes_asyncio.client.configuration import Configuration  # noqa: E402

_client: ModuleType = sys.modules["kubernetes_asyncio.client"]
if "ApiClient" not in vars(_client):  # what the kubeconfig loader imports from it
    _client.ApiClient = ApiClient  # type: ignore[attr-defined]
    _client.Configuration = Configuration  # type: ignore[attr-defined]

from kubernetes_asyncio.config import ConfigException, load_kube_config  # noqa: E402

__all__ = ["ApiClient", "ConfigException", "Configuration", "load_kube_config"]
