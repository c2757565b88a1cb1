#!/usr/bin/env bash
# preStop of an Ollama container. Ollama drops every connection at once on SIGTERM (no drain), so it
# must outlive the router's drain: wait until the router no longer listens and no connection to this
# process's port is left (the containers of a pod share one network namespace, so /proc/net/tcp shows
# the router's connections), or until the deadline. Without the router, wait for the callers' connections.
# Usage: drain-wait.sh PORT   (ROUTER_PORT, PRESTOP_DELAY_SECONDS, DRAIN_DEADLINE_SECONDS from the environment)
set -u
port="${1:?usage: drain-wait.sh PORT}"
router_port="${ROUTER_PORT:-}"
delay="${PRESTOP_DELAY_SECONDS:-5}"
deadline=$(( SECONDS + ${DRAIN_DEADLINE_SECONDS:-600} ))
# Sockets in STATE (0A listen, 01 established) whose local port is PORT; tables: /proc/net/tcp and tcp6.
count() {
  local want n=0 table sl addr st rest
  want=$(printf ':%04X' "$2")
  for table in "${PROC_NET:-/proc/net}/tcp" "${PROC_NET:-/proc/net}/tcp6"; do
    [ -r "$table" ] || continue
    while read -r sl addr _ st rest; do
      [ "$st" = "$1" ] && [ "${addr: -5}" = "$want" ] && n=$((n + 1))
    done < <(tail -n +2 "$table")
  done
  echo "$n"
}
sleep "$delay"
while [ "$SECONDS" -lt "$deadline" ]; do
  listening=0
  [ -n "$router_port" ] && listening=$(count 0A "$router_port")
  if [ "$listening" = 0 ] && [ "$(count 01 "$port")" = 0 ]; then
    echo "drain-wait: nothing left to drain on port $port after ${SECONDS}s" >&2
    exit 0
  fi
  sleep 1
done
echo "drain-wait: deadline reached with connections left on port $port" >&2
exit 0
