"""A small kustomize renderer for the deploy tests: the subset of kustomize our manifests use.

There is no kustomize binary on these machines (no internet beyond package registries, and no PyPI
package ships one), so the tests render kustomizations themselves. Anything outside the subset
raises `Unsupported` instead of being ignored, so a manifest change that needs real kustomize fails
loudly here rather than passing on a wrong rendering.

Supported: `resources` (files and directories holding a kustomization), `namespace`, `labels`
(with `includeTemplates`, without `includeSelectors`), `images` (`newName`, `newTag`, `digest`),
and `patches` given by `path` (strategic-merge style: maps merge, lists of named items merge by
`name`, other lists are replaced, null deletes) with an optional `target` of `kind` and/or `name`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED_FIELDS = frozenset(
    {"apiVersion", "kind", "namespace", "labels", "resources", "images", "patches"}
)
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "StorageClass",
        "IngressClass",
        "PersistentVolume",
    }
)
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


class Unsupported(Exception):
    """The kustomization uses a feature this renderer does not implement."""


def render(directory: Path) -> list[Obj]:
    """All objects of the kustomization in `directory`, transformed like `kustomize build` would."""
    kustomization = _load_kustomization(directory)
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(_load_documents(path))
    for patch in kustomization.get("patches", []):
        _apply_patch_entry(directory, objects, patch)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for label_set in kustomization.get("labels", []):
        _add_labels(objects, label_set)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    return objects


def pod_spec(obj: Obj) -> Obj | None:
    """The pod template spec of a workload, or None for other kinds."""
    if obj["kind"] in WORKLOAD_KINDS:
        spec: Obj = obj["spec"]["template"]["spec"]
        return spec
    return None


def containers(obj: Obj) -> list[Obj]:
    """Init containers then containers of a workload ([] for other kinds)."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _load_kustomization(directory: Path) -> Obj:
    data: Obj = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(data) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{directory}: kustomization fields {sorted(unknown)}")
    return data


def _load_documents(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _apply_patch_entry(directory: Path, objects: list[Obj], entry: Obj) -> None:
    if set(entry) - {"path", "target"}:
        raise Unsupported(f"patch fields {sorted(set(entry) - {'path', 'target'})}")
    target = entry.get("target")
    if target is not None and set(target) - {"kind", "name"}:
        raise Unsupported(f"patch target fields {sorted(set(target) - {'kind', 'name'})}")
    for patch in _load_documents(directory / entry["path"]):
        # With a target, the patch's own name is a placeholder (kustomize ignores it too).
        kind = target.get("kind") if target else patch["kind"]
        name = target.get("name") if target else patch["metadata"]["name"]
        matched = [
            obj
            for obj in objects
            if (kind is None or obj["kind"] == kind)
            and (name is None or obj["metadata"]["name"] == name)
        ]
        if not matched:
            raise ValueError(f"patch {entry['path']} matches nothing (kind={kind}, name={name})")
        body = {key: value for key, value in patch.items() if key not in ("apiVersion", "kind")}
        if target:
            body.get("metadata", {}).pop("name", None)
        for obj in matched:
            merged = _merge(obj, body)
            obj.clear()
            obj.update(merged)


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        by_name = {item["name"]: item for item in base}
        merged = [
            _merge(by_name[item["name"]], item) if item["name"] in by_name else item
            for item in patch
        ]
        patched = {item["name"] for item in patch}
        return [item for item in base if item["name"] not in patched] + merged
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _set_namespace(objects: list[Obj], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] == "Namespace":
            # kustomize renames the Namespace object itself to the kustomization's namespace.
            obj["metadata"]["name"] = namespace
        elif obj["kind"] not in CLUSTER_SCOPED_KINDS:
            obj["metadata"]["namespace"] = namespace


def _add_labels(objects: list[Obj], label_set: Obj) -> None:
    if label_set.get("includeSelectors"):
        raise Unsupported("labels with includeSelectors (changes selectors of running objects)")
    pairs: dict[str, str] = label_set["pairs"]
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        if label_set.get("includeTemplates") and obj["kind"] in WORKLOAD_KINDS:
            template = obj["spec"]["template"]
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _set_image(objects: list[Obj], image: Obj) -> None:
    for obj in objects:
        for container in containers(obj):
            name, tag = _split_image(container["image"])
            if name != image["name"]:
                continue
            new_name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new_name}@{image['digest']}"
            else:
                new_tag = image.get("newTag", tag)
                container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name


def _split_image(reference: str) -> tuple[str, str | None]:
    """('registry:5000/app', 'v1') from 'registry:5000/app:v1': the tag follows the last colon
    after the last slash (a colon before it is a registry port)."""
    reference = reference.split("@", 1)[0]
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, None
