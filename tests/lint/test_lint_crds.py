"""CRDs from ../shared/crds and hand-written ones: loading, conversion, validation."""

from __future__ import annotations

import textwrap

import yaml

from catalog_gen.lint.crds import CrdStore, openapi_to_jsonschema
from catalog_gen.lint.kube_schemas import KubeSchemas
from lint_cases import SHARED_CRDS

KUBE = KubeSchemas.for_version("1.31")
CRD_FILES = sorted(SHARED_CRDS.glob("*.yaml"))


def _kinds_in(path):
    found = set()
    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            found.add((doc["spec"]["group"], doc["spec"]["names"]["kind"]))
    return found


def test_shared_crds_are_there():
    assert len(CRD_FILES) >= 15


def test_every_shared_crd_loads_lazily_and_compiles():
    store = CrdStore((SHARED_CRDS.resolve(),))
    for path in CRD_FILES:
        kinds = _kinds_in(path)
        assert kinds, f"{path.name} holds no CRD"
        for group, kind in kinds:
            versions = store.versions(group, kind)  # the lazy path: indexed by regex, parsed now
            assert versions, f"{kind}.{group} from {path.name} was not indexed"
            for crd in versions.values():
                assert crd.source == str(path.resolve())
                assert crd.schema is not None, f"{kind} {crd.version} has no schema"
                validator = store.validator(crd, KUBE)
                bare = {"apiVersion": f"{group}/{crd.version}", "kind": kind, "metadata": {"name": "x"}}
                assert all(e.instance_path != [] or e.kind.name == "required" for e in validator.iter_errors(bare))


def test_all_versions_matches_a_full_parse():
    store = CrdStore((SHARED_CRDS.resolve(),))
    expected = set().union(*(_kinds_in(p) for p in CRD_FILES))
    assert {(v.group, v.kind) for v in store.all_versions()} == expected


def _store(tmp_path, text):
    (tmp_path / "crd.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return CrdStore((tmp_path,))


WIDGET_CRD = """\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.example.com
    spec:
      group: example.com
      names: {kind: Widget, plural: widgets}
      scope: Namespaced
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  x-kubernetes-validations:
                    - rule: "self.size < 5"
                  properties:
                    size: {type: integer}
                    port: {x-kubernetes-int-or-string: true}
                    note: {type: string, nullable: true}
                    extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
                    tags: {type: array, x-kubernetes-list-type: set, items: {type: string}}
                    template: {type: object, x-kubernetes-embedded-resource: true, properties: {spec: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
                  required: [size]
        - name: v1beta1
          served: true
          storage: false
          deprecated: true
          deprecationWarning: example.com/v1beta1 Widget is deprecated; use example.com/v1
          schema:
            openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
        - name: v1alpha1
          served: false
          storage: false
"""


def _errors(store, version, spec):
    crd = store.versions("example.com", "Widget")[version]
    obj = {"apiVersion": f"example.com/{version}", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}
    return sorted((tuple(e.instance_path), e.kind.name) for e in store.validator(crd, KUBE).iter_errors(obj))


def test_conversion_keeps_kubernetes_semantics(tmp_path):
    store = _store(tmp_path, WIDGET_CRD)
    good = {"size": 10, "port": "http", "note": None, "extra": {"anything": [1]}, "tags": ["a", "b"],
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}}}
    assert _errors(store, "v1", good) == []  # CEL rule size < 5 is not enforced (documented)
    assert _errors(store, "v1", {"size": 1, "port": 8080}) == []
    assert _errors(store, "v1", {"size": "big", "port": 1.5, "tags": ["a", "a"], "typo": 1}) == [
        (("spec",), "additionalProperties"),
        (("spec", "port"), "anyOf"),
        (("spec", "size"), "type"),
        (("spec", "tags"), "uniqueItems"),
    ]
    assert _errors(store, "v1", {}) == [(("spec",), "required")]


def test_metadata_of_a_custom_resource_is_checked_as_object_meta(tmp_path):
    store = _store(tmp_path, WIDGET_CRD)
    crd = store.versions("example.com", "Widget")["v1"]
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labelz": {}}, "spec": {"size": 1}}
    assert [(e.instance_path, e.kind.name) for e in store.validator(crd, KUBE).iter_errors(obj)] == [(["metadata"], "additionalProperties")]


def test_versions_carry_served_and_deprecated(tmp_path):
    versions = _store(tmp_path, WIDGET_CRD).versions("example.com", "Widget")
    assert (versions["v1"].served, versions["v1"].deprecated) == (True, False)
    assert versions["v1beta1"].deprecated and "deprecated" in versions["v1beta1"].deprecation_warning
    assert versions["v1alpha1"].served is False and versions["v1alpha1"].schema is None


def test_kubectl_list_output_is_indexed_by_parsing(tmp_path):
    listed = {"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(textwrap.dedent(WIDGET_CRD))]}
    (tmp_path / "all.yaml").write_text(yaml.safe_dump(listed), encoding="utf-8")
    assert set(CrdStore((tmp_path,)).versions("example.com", "Widget")) == {"v1", "v1beta1", "v1alpha1"}


def test_openapi_conversion_does_not_close_objects_inside_anyof():
    converted = openapi_to_jsonschema(
        {"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}]}
    )
    assert converted["additionalProperties"] is False
    assert "additionalProperties" not in converted["anyOf"][0]


def test_deprecated_and_unserved_crd_versions_become_findings(tmp_path):
    from catalog_gen.lint.objects import K8sObject
    from catalog_gen.lint.schemas import check_schema

    store = _store(tmp_path, WIDGET_CRD)

    def issues(version):
        data = {"apiVersion": f"example.com/{version}", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
        obj = K8sObject(data, "templates/w.yaml", 0, data["apiVersion"], "Widget", "w")
        return [(i.check, i.message) for i in check_schema(obj, KUBE, store, False)]

    assert issues("v1") == []
    [(check, message)] = issues("v1beta1")
    assert check == "api-deprecated" and "use example.com/v1" in message
    [(check, message)] = issues("v1alpha1")
    assert check == "api-removed" and "served versions: v1, v1beta1" in message
