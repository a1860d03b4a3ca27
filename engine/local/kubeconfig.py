"""Write a self-contained kubeconfig (certificates embedded) for a local cluster."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from engine.local.pki import ClusterPki


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig_document(name: str, server: str, pki: ClusterPki) -> dict[str, object]:
    """A kubeconfig with one cluster, one admin user and one context, all called ``name``."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": name,
                "user": {
                    "client-certificate-data": _b64(pki.admin_cert),
                    "client-key-data": _b64(pki.admin_key),
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, name: str, server: str, pki: ClusterPki) -> Path:
    """Write the kubeconfig of ``name`` to ``path`` (mode 0600) and return the path."""
    path.write_text(yaml.safe_dump(kubeconfig_document(name, server, pki), sort_keys=False))
    path.chmod(0o600)
    return path
