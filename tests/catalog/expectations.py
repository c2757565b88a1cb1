"""What each single-file fixture in fixtures/ must produce: exactly one finding, here.

Line and column are 1-based and were counted in the fixture by hand (the first
line of every fixture is a comment saying what it shows). Line 0 / column 0 is
a finding about the whole file. `hint` must appear in the finding's hint (for
did-you-mean hints it is the whole hint).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Expect:
    fixture: str
    code: str
    line: int
    column: int
    pointer: str
    hint: str
    severity: str = "error"
    message: str = ""  # a part of the message, where the message carries the point


EXPECTED = [
    # --- YAML ---------------------------------------------------------------------------------
    Expect("yaml_syntax_error.yaml", "yaml.syntax", 10, 17, "", "check indentation", message="mapping values are not allowed"),
    Expect("unclosed_quote_points_at_its_start.yaml", "yaml.syntax", 7, 8, "", "check indentation",
           message="quoted scalar is never closed"),
    Expect("duplicate_key.yaml", "yaml.duplicate-key", 10, 3, "/gpu/count", "remove one of them", message="first at line 9"),
    Expect("empty_file.yaml", "yaml.empty", 0, 0, "", "delete the file"),
    Expect("only_comments_is_empty.yaml", "yaml.empty", 0, 0, "", "delete the file"),
    Expect("two_documents.yaml", "yaml.multiple-documents", 8, 1, "", "remove the `---` separator"),
    Expect("top_level_list.yaml", "yaml.not-mapping", 2, 1, "", "not a list"),
    Expect("tab_indentation.yaml", "yaml.tab", 9, 1, "", "replace the tab with spaces"),
    Expect("not_utf8.yaml", "yaml.encoding", 1, 37, "", "save the file as UTF-8", message="byte 0xe9"),
    Expect("alias_bomb.yaml", "yaml.alias-bomb", 12, 1, "/e/1/5/2/2/3", "write the values out"),
    Expect("recursive_alias.yaml", "yaml.recursive-alias", 10, 3, "/gpu/again", "remove the recursive alias"),
    Expect("merge_key.yaml", "yaml.merge-key", 11, 3, "/gpu", "_defaults.yaml"),
    Expect("unsupported_tag.yaml", "yaml.tag", 7, 8, "/model", "remove the tag", message="python/object"),
    Expect("non_finite_number.yaml", "yaml.non-finite", 11, 12, "/container/resources/limits/cpu", "finite number"),
    Expect("control_character.yaml", "yaml.syntax", 7, 11, "", "remove the control character", message="U+0007"),
    Expect("deep_nesting.yaml", "yaml.too-deep", 8, 38, "/gpu" + "/0" * 32, "remove the extra nesting",
           message="more than 32 levels deep"),
    Expect("version_number_keeps_its_zero.yaml", "schema.type", 9, 12, "/ollama/version", 'quote it as written: "0.10"',
           message="must be a string, not a number"),
    Expect("route_timeout_not_gateway_duration.yaml", "schema.format", 11, 19, "/ingress/requestTimeout", "no fractions",
           message="is not a Gateway API duration"),
    Expect("scrape_interval_not_prometheus_duration.yaml", "schema.format", 9, 13, "/monitoring/interval", "1m30s",
           message="is not a Prometheus duration"),
    Expect("yes_is_a_string.yaml", "schema.type", 9, 12, "/ingress/enabled", "YAML 1.2 reads `yes` as a string; write true or false"),
    # --- schema -------------------------------------------------------------------------------
    Expect("unknown_key_did_you_mean.yaml", "schema.unknown-key", 10, 3, "/gpu/vendr", "did you mean `vendor`?"),
    Expect("unknown_key_lists_allowed.yaml", "schema.unknown-key", 10, 3, "/gpu/colour",
           "allowed keys here: count, "),
    Expect("enum_did_you_mean.yaml", "schema.enum", 10, 11, "/gpu/vendor", "did you mean `nvidia`?",
           message="not one of: nvidia, amd, none"),
    Expect("missing_required_key.yaml", "schema.required", 2, 1, "", "add `serviceCatalog:`"),
    Expect("quoted_number_is_a_string.yaml", "schema.type", 9, 10, "/gpu/count", "remove the quotes",
           message="must be an integer, not a string"),
    Expect("mapping_expected.yaml", "schema.type", 8, 6, "/gpu", "Accelerators", message="must be a mapping, not an integer"),
    Expect("cpu_lots.yaml", "schema.format", 11, 12, "/container/resources/requests/cpu", "500m, 2, 4Gi",
           message="is not a Kubernetes quantity"),
    Expect("negative_quantity.yaml", "schema.range", 11, 15, "/container/resources/limits/memory", "Memory",
           message="is -4; it must be at least 0"),
    Expect("service_name_too_long.yaml", "schema.length", 3, 14, "/serviceName", "at most 40 characters",
           message="44 characters long; it must be at most 40"),
    Expect("service_name_not_a_label.yaml", "schema.format", 3, 14, "/serviceName", "lower-case letter",
           message="not a valid RFC 1035 label (a Service name)"),
    Expect("namespace_not_a_label.yaml", "schema.format", 5, 12, "/namespace", "lower-case letters", message="not a valid RFC 1123 label"),
    Expect("model_name_shell_substitution.yaml", "schema.format", 7, 8, "/model", "[host[:port]/][namespace/]model[:tag]",
           message="not a valid Ollama model name"),
    Expect("model_name_helm_template.yaml", "schema.format", 7, 8, "/model", "[host[:port]/][namespace/]model[:tag]",
           message="not a valid Ollama model name"),
    Expect("model_name_digest_suffix.yaml", "schema.format", 7, 8, "/model", "no '@sha256:' (pin with `digest:`)",
           message="not a valid Ollama model name"),
    Expect("model_name_too_many_parts.yaml", "schema.format", 8, 11, "/models/0/name", "[host[:port]/][namespace/]model[:tag]",
           message="not a valid Ollama model name"),
    Expect("digest_format.yaml", "schema.format", 9, 13, "/models/0/digest", "without `sha256:`", message="is not a model digest"),
    Expect("env_name_invalid.yaml", "schema.format", 10, 5, "/ollama/env/OLLAMA-DEBUG", "not starting with a digit",
           message="not a valid environment variable name"),
    Expect("replicas_above_maximum.yaml", "schema.range", 9, 13, "/container/replicas", "Pod replicas", message="it must be at most 100"),
    Expect("unknown_workload_type.yaml", "leaf.workload-type", 2, 15, "/workloadType", "did you mean OLLAMA_INFERENCE_LOAD?",
           message="(known: OLLAMA_INFERENCE_LOAD)"),
    Expect("missing_workload_type.yaml", "leaf.workload-type", 2, 1, "/workloadType", "add `workloadType: OLLAMA_INFERENCE_LOAD`",
           message="(known: OLLAMA_INFERENCE_LOAD)"),
    # --- semantic rules (rules.RULES) ---------------------------------------------------------
    Expect("model_and_models_both_set.yaml", "leaf.model-form", 8, 1, "/models", "keep one"),
    Expect("no_model.yaml", "leaf.model-form", 2, 1, "", "add `model: llama3.2:1b`"),
    Expect("model_listed_twice.yaml", "leaf.model-duplicate", 9, 11, "/models/1/name", "case-insensitively",
           message="also at model_listed_twice.yaml:8"),
    Expect("custom_model_from_itself.yaml", "leaf.model-name", 12, 13, "/models/0/modelfile/from", "name of its own"),
    Expect("model_size_unknown.yaml", "leaf.model-size", 8, 11, "/models/0/name", "size: {parameters: 8B"),
    Expect("modelfile_unquotable.yaml", "leaf.modelfile", 10, 5, "/models/1/modelfile", "remove the character",
           message="LINE SEPARATOR (U+2028)"),
    Expect("cache_smaller_than_models.yaml", "leaf.cache-size", 12, 9, "/cache/size", "at least", message="smaller than the models"),
    # --- sizing: the planner's problems, at the leaf's line, with the numbers -------------------
    Expect("gpu_too_small_for_model.yaml", "leaf.gpu-memory", 10, 12, "/gpu/product", "gpu.count: 3",
           message="need 45.3 GiB per GPU (llama3.1:70b: 40.0 GiB weights"),
    Expect("gpu_vram_too_small.yaml", "leaf.gpu-memory", 11, 9, "/gpu/vram", "a GPU with at least 45.3 GiB",
           message="one GPU has 24.0 GiB (gpu.vram 24Gi)"),
    Expect("gpu_unnamed_for_large_model.yaml", "leaf.gpu-memory", 9, 10, "/gpu/count", "gpu.product", severity="warning",
           message="22.3 GiB per GPU but the leaf names no GPU"),
    Expect("memory_limit_below_weights.yaml", "leaf.memory-limit", 13, 15, "/container/resources/limits/memory", "at least 45Gi",
           message="weights alone take 40.5 GiB"),
    Expect("memory_limit_below_estimate.yaml", "leaf.memory-limit", 13, 15, "/container/resources/limits/memory", "at least 7Gi",
           severity="warning", message="below the 6.0 GiB the models need on CPU"),
    Expect("preset_too_small.yaml", "leaf.preset", 12, 11, "/container/preset", "preset: auto", severity="warning",
           message="meant for up to 8.0 GiB per GPU; the models need 45.3 GiB"),
    Expect("cpu_preset_with_gpus.yaml", "leaf.preset", 11, 11, "/container/preset", "gpu.count: 0", message="CPU only"),
    Expect("custom_model_other_context.yaml", "leaf.model-context", 8, 3, "/models", "num_ctx", severity="warning",
           message="different context lengths (4096, 8192)"),
    Expect("memory_bare_number_is_bytes.yaml", "leaf.quantity", 11, 15, "/container/resources/limits/memory",
           "did you mean `4Gi`?", message="`container.resources.limits.memory: 4` is 4 byte(s); it must be at least 16 MiB"),
    Expect("memory_milli_is_half_a_byte.yaml", "schema.format", 11, 15, "/container/resources/requests/memory", "half a byte",
           message="'500m' is not a size in bytes"),
    Expect("body_size_too_small.yaml", "leaf.quantity", 9, 16, "/router/maxBodySize", "from 1 KiB to 256 MiB",
           message="is 500 byte(s); it must be at least 1 KiB"),
    Expect("model_size_absurd.yaml", "leaf.model-size", 7, 8, "/model", "check the size in the tag",
           message="means 999,999,999,999B parameters, which no model has"),
    Expect("service_name_yaml_boolean.yaml", "leaf.yaml-word", 3, 14, "/serviceName", "`y-svc`", message="reads `y` as a boolean"),
    Expect("node_selector_key_prefix_too_long.yaml", "leaf.label-key", 10, 5,
           "/container/nodeSelector/" + "a" * 64 + ".example.com~1pool", "each dot-separated part at most 63",
           message="with a part longer than 63"),
    Expect("duration_longer_than_a_year.yaml", "leaf.duration", 9, 17, "/router/queueTimeout", "at most a year",
           message="`router.queueTimeout: 99999999h` is longer than a year"),
    Expect("ollama_version_not_a_label.yaml", "leaf.version-label", 9, 12, "/ollama/version", "0.33.0",
           message="is not a valid label value"),
    Expect("ollama_version_latest.yaml", "leaf.image-tag", 9, 12, "/ollama/version", "pin a version"),
    Expect("gpu_processes_uneven.yaml", "leaf.gpu", 11, 14, "/ollama/processes", "one process per GPU", message="3 Ollama processes"),
    Expect("gpu_vendor_none_with_count.yaml", "leaf.gpu", 10, 11, "/gpu/vendor", "gpu.count: 0"),
    Expect("processes_without_router.yaml", "leaf.gpu", 11, 14, "/ollama/processes", "router.enabled: true"),
    Expect("gpu_product_without_count.yaml", "leaf.gpu", 11, 12, "/gpu/product", "remove `gpu.product`", severity="warning"),
    Expect("requests_above_limits.yaml", "leaf.resources", 11, 12, "/container/resources/requests/cpu", "Kubernetes rejects",
           message="request 4 is above its limit 2000m"),
    Expect("reserved_namespace.yaml", "leaf.namespace", 5, 12, "/namespace", "a namespace of your own"),
    Expect("cache_claim_with_emptydir.yaml", "leaf.cache", 10, 3, "/cache/existingClaim", "cache.mode: pvc"),
    # --- how the chart behaves on a cluster (deploy_rules.py) ----------------------------------------
    Expect("router_off_public_ingress.yaml", "leaf.public-admin-api", 9, 12, "/router/enabled", "publicModelManagement"),
    Expect("gateway_controller_unknown.yaml", "leaf.gateway-traffic", 11, 15, "/ingress/controller", "allowFromNamespaces",
           severity="warning", message="names no data plane"),
    Expect("gateway_cilium_unselectable.yaml", "leaf.gateway-traffic", 9, 3, "/ingress", "fromEntities",
           severity="warning", message="reserved `ingress` identity"),
    Expect("route_path_internal.yaml", "leaf.route-paths", 12, 19, "/ingress/paths/1", "route `/`"),
    Expect("existing_claim_many_replicas.yaml", "leaf.cache-claim", 12, 18, "/cache/existingClaim", "remove `existingClaim`"),
    Expect("affinity_invalid.yaml", "leaf.placement", 13, 13,
           "/container/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0",
           "kubectl explain", message="matchExpression"),
    Expect("host_not_rfc1123.yaml", "leaf.ingress", 10, 9, "/ingress/host", "lower-case letters", message="not a valid RFC 1123 host"),
    Expect("host_is_ip_address.yaml", "leaf.ingress", 10, 9, "/ingress/host", "DNS names", message="is an IP address"),
    Expect("ingress_without_host.yaml", "leaf.ingress", 8, 1, "/ingress", "add `host:"),
    Expect("tls_without_issuer.yaml", "leaf.ingress", 11, 3, "/ingress/tls", "issuer: letsencrypt-prod"),
    Expect("autoscaling_min_above_max.yaml", "leaf.autoscaling", 10, 16, "/autoscaling/minReplicas", "minReplicas <= maxReplicas"),
    Expect("api_keys_without_router.yaml", "leaf.router", 10, 3, "/router/apiKeySecret", "router.enabled: true"),
    Expect("env_managed_by_chart.yaml", "leaf.env", 11, 5, "/ollama/env/OLLAMA_HOST", "its own port"),
    # --- a model pool (pool_rules.py; capacity: the sizing rule leaf.pool-capacity) ----------------------
    Expect("pool_gateway_single_replica.yaml", "leaf.pool", 11, 15, "/pool/gateway/replicas", "at least 2 gateway replicas"),
    Expect("pool_without_router.yaml", "leaf.pool", 9, 12, "/router/enabled", "router.enabled: true", message="/router/state"),
    Expect("min_workers_outside_pool.yaml", "leaf.pool", 9, 5, "/models/0/minWorkers", "pool.enabled: true"),
    Expect("pool_keep_warm_false_with_min_workers.yaml", "leaf.pool", 10, 17, "/models/0/minWorkers", "keep one",
           message="`keepWarm: false` but `minWorkers: 1`"),
    Expect("pool_several_processes.yaml", "leaf.pool", 11, 14, "/ollama/processes", "ollama.processes: 1"),
    Expect("pool_autoscaling_hpa.yaml", "leaf.pool", 11, 11, "/autoscaling/engine", "engine: keda"),
    Expect("pool_container_replicas_ignored.yaml", "leaf.pool", 9, 3, "/container/replicas", "pool.workers", severity="warning"),
    Expect("pool_workers_with_autoscaling.yaml", "leaf.pool", 13, 3, "/pool/workers", "remove `pool.workers`",
           severity="warning", message="KEDA keeps the workers"),
    Expect("pool_warm_set_too_big.yaml", "leaf.pool-capacity", 18, 12, "/pool/workers", "minWorkers: 0",
           message="llama3.1:8b x1, llama3.2:3b x1, mistral:7b x1, qwen2.5:1.5b x1, qwen2.5:7b x1; 5 warm copies for 4 model slots"),
    Expect("pool_model_larger_than_worker.yaml", "leaf.pool-capacity", 9, 11, "/models/1/name", "bigger GPU",
           message="model llama3.1:70b needs 44.8 GiB loaded"),
    Expect("pool_max_loaded_more_than_fit.yaml", "leaf.pool-capacity", 20, 20, "/pool/maxLoadedModels",
           "pool.maxLoadedModels: 3", severity="warning", message="only the 3 largest model(s) fit"),
    Expect("pool_min_workers_above_workers.yaml", "leaf.pool-capacity", 9, 17, "/models/0/minWorkers", "at most 2",
           message="on 3 workers"),
    Expect("pool_warm_set_fills_workers.yaml", "leaf.pool-capacity", 14, 12, "/pool/workers", "leave a slot free",
           severity="warning", message="(qwen2.5:0.5b) evicts a warm one"),
    Expect("pool_existing_claim_many_workers.yaml", "leaf.cache-claim", 10, 18, "/cache/existingClaim",
           "remove `existingClaim`", message="up to 3 replicas"),
]

# Single-file fixtures that must validate clean.
CLEAN = ["tab_in_block_scalar_is_content.yaml", "gpu_fits_model.yaml", "gateway_controller_known.yaml", "pool_fits.yaml"]

# Fixture folders (several files) and the finding each must produce: (folder, file, code, line, column, pointer).
FOLDERS = [
    ("same_service_twice", "b.yaml", "catalog.duplicate-service", 3, 14, "/serviceName"),
    ("same_output_path", "b.yaml", "catalog.duplicate-output", 3, 14, "/serviceName"),
    ("host_claimed_twice", "b.yaml", "catalog.duplicate-host", 10, 9, "/ingress/host"),
    ("defaults_inherited_value", "_defaults.yaml", "schema.enum", 4, 11, "/gpu/vendor"),
    ("gpu_product_inherited", "big.yaml", "leaf.gpu-memory", 7, 8, "/model"),
    ("defaults_sets_service_name", "_defaults.yaml", "defaults.leaf-key", 2, 1, "/serviceName"),
    ("defaults_yml_not_read", "_defaults.yml", "defaults.file-name", 0, 0, ""),
    # across environments (environments.CROSS_RULES); same_host_in_other_environment is their clean pair (two clusters)
    ("host_across_environments", "prod.yaml", "catalog.host-across-environments", 10, 9, "/ingress/host"),
    ("cluster_collision", "prod/chat.yaml", "catalog.cluster-collision", 5, 12, "/namespace"),
    ("shared_object", "prod/chat.yaml", "catalog.shared-object", 9, 23, "/monitoring/dashboardNamespace"),
    ("environment_folder", "prod/chat.yaml", "catalog.environment-folder", 6, 14, "/environment"),
    ("gitops_disagree", "b.yaml", "catalog.gitops-disagree", 11, 11, "/gitops/argocd/mode"),
    ("gitops_name_clash", "b.yaml", "catalog.gitops-name", 3, 14, "/serviceName"),
]
CLEAN_FOLDERS = ["same_host_in_other_environment", "defaults_cascade", "pool_replicas_inherited"]

# Folders with a catalog/ and committed charts/: (folder, finding codes of `validate catalog` run inside).
COMMITTED = [("cache_shrinks", ["catalog.cache-shrink"], "shrink from 17Gi (charts/dev/coder/values.yaml) to 8Gi"),
             ("claim_template_changes", ["catalog.cache-shrink"], "change from 8Gi (charts/dev/coder/values.yaml) to 32Gi: a StatefulSet"),
             ("cache_kept", [], "")]
