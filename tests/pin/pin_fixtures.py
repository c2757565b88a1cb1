"""The leaf full of comments and the defaults file the pin tests edit."""

LEAF = """\
# yaml-language-server: $schema=../../schemas/ollama-inference-load.schema.json
# A leaf full of comments: pin must touch only the lines that gain a digest.
workloadType: OLLAMA_INFERENCE_LOAD
serviceName: chat   # the release name
serviceCatalog: ml-inference
namespace: ml-workloads
environment: dev

models:
  # the main chat model
  - name: "llama3.1:8b"      # quoted on purpose
    keepWarm: true

  - name: 'qwen2.5:0.5b'
    digest: "0000000000000000000000000000000000000000000000000000000000000000"  # stale pin, kept quoted
    kind: text
  - {name: nomic-embed-text:v1.5, kind: embedding}
  # a custom model: its base is pinned
  - name: team/helper:1
    modelfile:
        from: llama3.1:8b
        system: |
          You are helpful.
        parameters: {temperature: 0.2}
gpu:
    count: 0       # odd indentation, kept


ingress: {enabled: false}
"""

DEFAULTS = """\
# catalog defaults
registry:
  mirror: {host}   # the internal registry
  insecure: true
"""
