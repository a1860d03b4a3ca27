"""The error tree is drawn and held in one place: ``engine.errors``.

Every error fleetsync raises on purpose is defined there and drawn in its docstring with
whether it is temporary; every other exception class in ``engine`` is a signal listed in
that docstring with its module.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import engine
from engine import errors
from engine.errors import FleetsyncError

_ROW = re.compile(r"^\s*[│├└─ ]*(?P<name>[A-Z]\w+)\s+(?P<kind>[TP])\s", re.MULTILINE)
_SIGNAL = re.compile(r"^\s+(?P<path>engine\.[\w.]+)\s{2,}", re.MULTILINE)


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__.startswith("engine")):  # fmt: skip
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def _drawn() -> dict[str, str]:
    doc = errors.__doc__ or ""
    return {m["name"]: m["kind"] for m in _ROW.finditer(doc)}


def test_every_fleetsync_error_is_defined_in_engine_errors() -> None:
    elsewhere = sorted(path for path, cls in _exception_classes().items()
                       if issubclass(cls, FleetsyncError) and cls.__module__ != "engine.errors")
    assert elsewhere == []


def test_every_public_error_is_drawn_with_whether_it_is_temporary() -> None:
    drawn = _drawn()
    public = {name: cls for name, cls in vars(errors).items()
              if inspect.isclass(cls) and issubclass(cls, FleetsyncError)
              and cls is not FleetsyncError and not name.startswith("_")}  # fmt: skip
    assert sorted(public) == sorted(drawn)
    wrong = [name for name, cls in public.items() if cls.temporary != (drawn[name] == "T")]
    assert wrong == []


def test_every_other_exception_is_a_signal_listed_with_its_module() -> None:
    listed = {m["path"] for m in _SIGNAL.finditer(errors.__doc__ or "")}
    signals = {path for path, cls in _exception_classes().items()
               if not issubclass(cls, FleetsyncError)}
    assert signals == listed
