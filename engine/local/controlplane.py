"""The processes of one local cluster and the checks that say it is up.

A local cluster is a real ``kube-apiserver`` (storing under its own prefix of a shared
``etcd``), ``kube-controller-manager``, ``kube-scheduler`` and ``kwok``, which plays one
fake Node so that Pods run and Deployments become Available. Every process listens on
loopback only. The node-lifecycle controller is off: kwok's node sends no heartbeats, and
a laptop that sleeps should not find its node NotReady and its pods evicted.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from engine.errors import LocalClusterError
from engine.local.pki import ClusterPki

SERVICE_CIDR = "10.96.0.0/16"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


@dataclass(frozen=True)
class LocalClusterSpec:
    """Where one local cluster lives: its name, directory, ports and labels."""

    name: str
    index: int
    directory: Path
    apiserver_port: int
    kwok_port: int
    labels: dict[str, str]
    kubeconfig: Path

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def node_name(self) -> str:
        return f"{self.name}-node"


def kwok_stages_file() -> Path:
    """The packaged kwok stage definitions."""
    return Path(str(resources.files("engine.local") / "data" / "kwok-stages.yaml"))


def audit_policy_file() -> Path:
    """The packaged audit policy: object writes, as metadata."""
    return Path(str(resources.files("engine.local") / "data" / "audit-policy.yaml"))


def audit_log(directory: Path) -> Path:
    """Where the kube-apiserver of the cluster in ``directory`` records object writes."""
    return directory / "audit.log"


def etcd_command(bin_dir: Path, data_dir: Path, client_port: int, peer_port: int) -> list[str]:
    """Argv of the one etcd that stores every cluster of a directory."""
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        str(bin_dir / "etcd"),
        "--name=fleetsync-local",
        f"--data-dir={data_dir}",
        f"--listen-client-urls=http://127.0.0.1:{client_port}",
        f"--advertise-client-urls=http://127.0.0.1:{client_port}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=fleetsync-local={peer}",
        # Throwaway test data: durability buys nothing here and fsync is slow.
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=4294967296",
        "--log-level=warn",
    ]


def apiserver_command(
    bin_dir: Path, spec: LocalClusterSpec, pki: ClusterPki, etcd_url: str
) -> list[str]:
    """Argv of the cluster's kube-apiserver, storing under ``/<name>`` in the shared etcd."""
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers={etcd_url}",
        f"--etcd-prefix=/{spec.name}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={spec.apiserver_port}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=RBAC",
        "--allow-privileged=true",
        # A loopback address may not be published as the kubernetes Service's endpoint.
        "--endpoint-reconciler-type=none",
        f"--cert-dir={spec.directory / 'apiserver-certs'}",
        "--profiling=false",
        # Every object write, as metadata (who, what, when), kept to a few MB.
        f"--audit-policy-file={audit_policy_file()}",
        f"--audit-log-path={audit_log(spec.directory)}",
        "--audit-log-format=json",
        "--audit-log-maxsize=20",
        "--audit-log-maxbackup=1",
    ]


def controller_manager_command(bin_dir: Path, spec: LocalClusterSpec, pki: ClusterPki) -> list[str]:
    """Argv of the cluster's kube-controller-manager."""
    return [
        str(bin_dir / "kube-controller-manager"),
        f"--kubeconfig={spec.kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        "--controllers=*,-node-lifecycle-controller",
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca_cert}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--concurrent-deployment-syncs=10",
        "--concurrent-replicaset-syncs=10",
    ]


def scheduler_command(bin_dir: Path, spec: LocalClusterSpec) -> list[str]:
    """Argv of the cluster's kube-scheduler."""
    return [
        str(bin_dir / "kube-scheduler"),
        f"--kubeconfig={spec.kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
    ]


def kwok_command(bin_dir: Path, spec: LocalClusterSpec) -> list[str]:
    """Argv of the cluster's kwok, playing the nodes annotated as fake."""
    return [
        str(bin_dir / "kwok"),
        f"--kubeconfig={spec.kubeconfig}",
        f"--config={kwok_stages_file()}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
        "--node-lease-duration-seconds=0",
        "--node-ip=127.0.0.1",
        f"--cidr=10.{(spec.index % 200) + 10}.0.0/16",
        f"--server-address=127.0.0.1:{spec.kwok_port}",
    ]


def node_object(spec: LocalClusterSpec) -> dict[str, Any]:
    """The fake Node kwok plays for this cluster (untainted, so every Pod may land on it)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": spec.node_name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": spec.node_name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                **{f"fleetsync.io/{k}": v for k, v in spec.labels.items()},
            },
        },
    }


class AdminHttp:
    """A minimal synchronous HTTPS client with the admin certificate, for start-up checks."""

    def __init__(self, spec: LocalClusterSpec, pki: ClusterPki, timeout: float = 5.0) -> None:
        self._port = spec.apiserver_port
        self._timeout = timeout
        self._ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """Send one request; return the status and the decoded JSON (or text) body."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self._port, context=self._ctx, timeout=self._timeout
        )
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": content_type} if payload else {}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            raw = resp.read().decode()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when a plain-HTTP GET of ``url`` on loopback answers 200."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", "/" + path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def apiserver_ready(client: AdminHttp) -> bool:
    """True when the API server answers ``/readyz`` with 200."""
    try:
        status, _ = client.request("GET", "/readyz")
    except (OSError, ssl.SSLError):
        return False
    return status == 200


def ensure_node(client: AdminHttp, spec: LocalClusterSpec) -> None:
    """Create the fake Node (an existing one is kept)."""
    status, body = client.request("POST", "/api/v1/nodes", node_object(spec))
    if status not in (201, 409):
        raise LocalClusterError(f"{spec.name}: creating node {spec.node_name} failed: {body}")


def node_schedulable(client: AdminHttp, spec: LocalClusterSpec) -> bool:
    """True once the fake Node is Ready, untainted, and ``default/default`` exists.

    The API server taints every new Node ``not-ready``; the node-lifecycle controller that
    would lift it is off, so once kwok reports Ready the taint is removed here.
    """
    status, node = client.request("GET", f"/api/v1/nodes/{spec.node_name}")
    if status != 200:
        return False
    conditions = node.get("status", {}).get("conditions", [])
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return False
    if node.get("spec", {}).get("taints"):
        patch = {"spec": {"taints": None}}
        client.request(
            "PATCH",
            f"/api/v1/nodes/{spec.node_name}",
            patch,
            content_type="application/merge-patch+json",
        )
        return False
    status, _ = client.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")
    return status == 200


def wait_until(check: Any, *, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``check()`` until it is true; raise naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, ssl.SSLError):
            pass
        if time.monotonic() > deadline:
            raise LocalClusterError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
