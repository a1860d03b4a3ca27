"""Pure parts of clusters/local: certificates, registration file, build cache key."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from engine.local import fleet, toolchain
from engine.local.controlplane import LocalClusterSpec, node_object
from engine.local.pki import write_cluster_pki


def test_admin_certificate_is_signed_by_the_cluster_ca_and_is_a_cluster_admin(
    tmp_path: Path,
) -> None:
    pki = write_cluster_pki("c1", tmp_path)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    admin = x509.load_pem_x509_certificate(pki.admin_cert.read_bytes())
    admin.verify_directly_issued_by(ca)
    orgs = [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ["system:masters"]
    assert pki.admin_key.stat().st_mode & 0o077 == 0


def test_serving_certificate_names_loopback_and_the_in_cluster_service(tmp_path: Path) -> None:
    pki = write_cluster_pki("c1", tmp_path)
    serving = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    san = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubernetes.default.svc" in san.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def test_each_cluster_gets_its_own_ca(tmp_path: Path) -> None:
    one = write_cluster_pki("a", tmp_path / "a").ca_cert.read_bytes()
    two = write_cluster_pki("b", tmp_path / "b").ca_cert.read_bytes()
    assert one != two


def test_registration_names_kubeconfigs_relative_to_the_file(tmp_path: Path) -> None:
    clusters = [
        fleet.LocalCluster(
            "local-1",
            "https://127.0.0.1:1",
            tmp_path / "local-1.kubeconfig",
            {"env": "dev", "region": "local-east"},
        ),
    ]
    doc = fleet.registration_document(clusters, tmp_path)
    assert doc == {
        "clusters": [
            {
                "name": "local-1",
                "labels": {"env": "dev", "region": "local-east"},
                "kubeconfig": "local-1.kubeconfig",
                "context": "local-1",
            }
        ]
    }


def test_cluster_labels_cycle_through_envs_and_regions(tmp_path: Path) -> None:
    specs = fleet._specs(tmp_path, 4, fleet._PortPicker())
    assert [s.labels["env"] for s in specs] == ["dev", "prod", "staging", "dev"]
    assert len({s.apiserver_port for s in specs} | {s.kwok_port for s in specs}) == 8


def test_fake_node_is_untainted_and_annotated_for_kwok(tmp_path: Path) -> None:
    spec = LocalClusterSpec("c1", 0, tmp_path, 1, 2, {"env": "dev"}, tmp_path / "k")
    node = node_object(spec)
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert "taints" not in node.get("spec", {})


def test_cache_key_changes_with_any_pin_file(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "go.mod").write_text("module x\n")
    (tmp_path / "k8s" / "go.sum").write_text("a v1 h1:x\n")
    before = toolchain.cache_key(tmp_path, "go1.26.8")
    (tmp_path / "k8s" / "go.sum").write_text("a v1 h1:y\n")
    assert toolchain.cache_key(tmp_path, "go1.26.8") != before
    assert toolchain.cache_key(tmp_path, "go1.27.0") != toolchain.cache_key(tmp_path, "go1.26.8")


def test_kubernetes_binaries_are_stamped_with_the_pinned_version() -> None:
    module = toolchain.go_modules_dir() / "kubernetes"
    version = toolchain.kubernetes_version(module)
    assert version is not None and version.startswith("v1.")
    assert f"version.gitVersion={version}" in toolchain._ldflags(module)
    assert toolchain.kubernetes_version(toolchain.go_modules_dir() / "etcd") is None
