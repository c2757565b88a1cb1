#!/usr/bin/env bash
# alive.sh: the Ollama server process answers `GET /` ("Ollama is running"). Never touches a model:
# used for startup and liveness (and readiness of the Ollama containers when the router owns
# model readiness). The official image has no curl: HTTP goes through bash's /dev/tcp.
set -euo pipefail
OLLAMA_HOST="${OLLAMA_HOST:-127.0.0.1:11434}"
PORT="${OLLAMA_HOST##*:}"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$PORT" >&3
IFS=' ' read -r _ status _ <&3 || status=000
exec 3<&- 3>&-
[[ $status == 200 ]] || { echo "Ollama on port $PORT answered ${status:-nothing} to GET /" >&2; exit 1; }
