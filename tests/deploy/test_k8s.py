"""deploy/k8s: both kustomize overlays rendered and every document checked against the
Kubernetes schemas (kubernetes-validate, strict: unknown fields are errors), then for what
the deployment needs: every service, probes, non-root security contexts, limits, autoscaling.

There is no kustomize binary on a fresh machine, so `render` applies the subset of
kustomize the overlays use (resources, namespace, strategic-merge patches by kind and
name); where `kubectl` is installed its `kubectl kustomize` output must be the same.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ["embedded", "distributed"]
KUBERNETES_VERSION = "1.37.0"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "patches"}
# Created outside these manifests: by the operator (deploy/k8s/README.md) or CloudNativePG.
EXTERNAL = {"agentmon-secrets", "agentmon-db-app", "agentmon-openclaw-registry", "agentmon-ssh"}
HTTP_SERVICES = {"ingest-gateway", "query-api", "web-ui"}

Document = dict[str, Any]


def merge(target: Any, patch: Any) -> Any:
    """Strategic merge as kustomize does it for these manifests: maps merge, lists of named
    maps merge by name, anything else is replaced."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            merged[key] = merge(target[key], value) if key in target else value
        return merged
    if (
        isinstance(target, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in target + patch)
    ):
        by_name = {item["name"]: item for item in target}
        for item in patch:
            by_name[item["name"]] = merge(by_name.get(item["name"], {}), item)
        return list(by_name.values())
    return patch


def identity(document: Document) -> tuple[str, str]:
    return document["kind"], document["metadata"]["name"]


def load_documents(path: Path) -> list[Document]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def render(directory: Path) -> list[Document]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    assert not unsupported, f"{directory}: the test renderer does not handle {unsupported}"
    documents: list[Document] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        documents += render(path) if path.is_dir() else load_documents(path)
    for patch_entry in kustomization.get("patches", []):
        for patch in load_documents(directory / patch_entry["path"]):
            [index] = [i for i, doc in enumerate(documents) if identity(doc) == identity(patch)]
            documents[index] = merge(documents[index], patch)
    if "namespace" in kustomization:
        for document in documents:
            if document["kind"] not in CLUSTER_SCOPED:
                document["metadata"]["namespace"] = kustomization["namespace"]
    return documents


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Document]]:
    return request.param, render(K8S / "overlays" / request.param)


def by_kind(documents: list[Document], kind: str) -> dict[str, Document]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def containers(deployment: Document) -> list[Document]:
    result: list[Document] = deployment["spec"]["template"]["spec"]["containers"]
    return result


def test_every_document_is_valid_against_the_kubernetes_schemas(
    overlay: tuple[str, list[Document]],
) -> None:
    _, documents = overlay
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misplaced_field() -> None:
    deployment = copy.deepcopy(by_kind(render(K8S / "overlays" / "embedded"), "Deployment"))
    broken = deployment["agentmon"]
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["path"] = "/healthz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_test_renderer_agrees_with_kubectl_kustomize(
    overlay: tuple[str, list[Document]],
) -> None:
    name, documents = overlay
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / name)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = {identity(doc): doc for doc in yaml.safe_load_all(rendered) if doc}
    assert {identity(doc): doc for doc in documents} == expected


def test_the_distributed_overlay_runs_every_service() -> None:
    documents = render(K8S / "overlays" / "distributed")
    deployments = by_kind(documents, "Deployment")
    assert set(deployments) == HTTP_SERVICES | {"event-processor", "openclaw-monitor"}
    autoscaled = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in by_kind(documents, "HorizontalPodAutoscaler").values()
    }
    assert autoscaled == {"ingest-gateway", "event-processor"}
    for name in autoscaled:  # the autoscaler owns the count; an apply must not reset it
        assert "replicas" not in deployments[name]["spec"], name
    for name in HTTP_SERVICES:
        [container] = containers(deployments[name])
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz", name
    config = by_kind(documents, "ConfigMap")["agentmon-config"]["data"]
    assert config["NATS_URL"].startswith("nats://")
    assert config["AGENTMON_LOG_FORMAT"] == "json"


def test_the_embedded_overlay_is_one_pod_on_a_volume() -> None:
    documents = render(K8S / "overlays" / "embedded")
    [deployment] = by_kind(documents, "Deployment").values()
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    [container] = containers(deployment)
    assert container["args"] == ["serve"]
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert "/data" in mounts
    assert set(by_kind(documents, "PersistentVolumeClaim")) == {"agentmon-data"}


def test_every_pod_is_non_root_limited_and_configured_from_the_config_map(
    overlay: tuple[str, list[Document]],
) -> None:
    _, documents = overlay
    for name, deployment in by_kind(documents, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            sources = {ref.get("configMapRef", {}).get("name") for ref in container["envFrom"]}
            assert "agentmon-config" in sources, name


def test_every_reference_resolves(overlay: tuple[str, list[Document]]) -> None:
    _, documents = overlay
    config_maps = set(by_kind(documents, "ConfigMap")) | EXTERNAL
    secrets = set(by_kind(documents, "Secret")) | EXTERNAL
    claims = set(by_kind(documents, "PersistentVolumeClaim"))
    deployments = by_kind(documents, "Deployment")
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] in by_kind(documents, "ServiceAccount")
        for volume in pod.get("volumes", []):
            assert volume.get("configMap", {}).get("name", "agentmon-config") in config_maps
            assert volume.get("secret", {}).get("secretName", "agentmon-secrets") in secrets
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            assert claim is None or claim in claims
        for container in pod["containers"]:
            for ref in container["envFrom"]:
                assert ref.get("configMapRef", {}).get("name", "agentmon-config") in config_maps
                assert ref.get("secretRef", {}).get("name", "agentmon-secrets") in secrets
            for variable in container.get("env", []):
                key_ref = variable.get("valueFrom", {}).get("secretKeyRef")
                assert key_ref is None or key_ref["name"] in secrets
    for name, service in by_kind(documents, "Service").items():
        selected = [
            deployment
            for deployment in deployments.values()
            if service["spec"]["selector"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert selected, f"Service {name} selects no pod"
        port_names = {
            port["name"]
            for deployment in selected
            for c in containers(deployment)
            for port in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"Service {name} port {port['name']}"


def test_the_original_postgres_schema_is_kept() -> None:
    assert "CREATE TABLE" in (K8S / "postgres.sql").read_text().upper()
