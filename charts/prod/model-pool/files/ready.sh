#!/usr/bin/env bash
# ready.sh: readiness of an Ollama container when the router is off.
#
# Ready means: every model is on disk, complete and matches its pin (checked by wait-models.sh
# with no wait), and answers: a load request (generate with an empty prompt, or embed for an
# embedding model) returns 200 with done. Runs in the official ollama/ollama image (bash, no curl):
# HTTP goes through bash's /dev/tcp. Static: model names come from data files, never script text.
# Data: MODELS_FILE (models.tsv) and READY_FILE (ready.tsv: name<TAB>kind per line).
set -euo pipefail

READY_FILE="${READY_FILE:-/etc/catalog-gen/ready.tsv}"
export MODELS_FILE="${MODELS_FILE:-/etc/catalog-gen/models.tsv}"
OLLAMA_HOST="${OLLAMA_HOST:-127.0.0.1:11434}"
PORT="${OLLAMA_HOST##*:}"
NAME_RE='^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,511}$'

WAIT_DEADLINE_SECONDS=0 bash "$(dirname "$0")/wait-models.sh" >/dev/null

answers() {  # answers NAME KIND -> 0 when Ollama loads the model and answers 200
  local name=$1 kind=$2 path body status
  if [[ $kind == embedding ]]; then
    path=/api/embed body="{\"model\":\"$name\",\"input\":\"\"}"
  else
    path=/api/generate body="{\"model\":\"$name\",\"prompt\":\"\",\"stream\":false}"
  fi
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$path" "$PORT" "${#body}" "$body" >&3
  IFS=' ' read -r _ status _ <&3 || status=000
  exec 3<&- 3>&-
  [[ $status == 200 ]]
}

while IFS=$'\t' read -r name kind || [[ -n ${name:-} ]]; do
  [[ -z $name || $name == \#* ]] && continue
  [[ $name =~ $NAME_RE ]] || { echo "ready.tsv: invalid model name" >&2; exit 2; }
  if ! answers "$name" "${kind:-text}"; then
    echo "model $name does not answer on port $PORT" >&2
    exit 1
  fi
done <"$READY_FILE"
