"""The operator's YAML files, read with the guarded loader of Application files (pure).

``yaml_document`` reads ``fleetsync.yaml`` and ``clusters.yaml`` with the loader that reads
Application files and manifests (``engine.render.loader.parse_documents``: no alias bombs,
no deep nesting, UTF-8 only), as YAML 1.1 like kubectl and the Application files
(``yes``/``on`` are booleans, dates stay text).
"""

from __future__ import annotations

from typing import Any

from engine.errors import ConfigError, RenderError
from engine.render.loader import parse_documents


def yaml_document(text: str | bytes, *, source: str) -> Any:
    """The one YAML document of an operator's file (None if it has none), guarded.

    ConfigError naming ``source`` and the line for invalid YAML, an alias bomb, nesting
    deeper than the loader's limit, bytes that are not UTF-8, or a second document.
    """
    try:
        documents = parse_documents(text, source, yaml11=True)
    except RenderError as err:
        raise ConfigError(str(err)) from None
    if len(documents) > 1:
        raise ConfigError(f"{source}:{documents[1].line}: a second YAML document; "
                          "expected one")  # fmt: skip
    return documents[0].value if documents else None
