# models-lib.sh: the models file and the cache checks, shared by pull-models.sh and wait-models.sh
# (sourced, never run). Static: model names come from the data file, never from script text.
# Callers set MODELS_FILE and OLLAMA_MODELS before sourcing.
NAME_RE='^([A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}/)?([A-Za-z0-9_][A-Za-z0-9_-]{0,79}/)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?$'
DIGEST_RE='^([0-9a-f]{64}|-)$'
FILE_RE='^(-|[A-Za-z0-9_][A-Za-z0-9._-]{0,252})$'
LAYER_RE='"digest"[[:space:]]*:[[:space:]]*"sha256:([0-9a-f]{64})"([[:space:]]*,[[:space:]]*"size"[[:space:]]*:[[:space:]]*([0-9]+))?'
FROM_RE='^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]+([^[:space:]]+)[[:space:]]*$'
M_NAME=() M_DIGEST=() M_INSECURE=() M_MODELFILE=()
MODELS_DIR=""
STATE="" DETAIL="" ACTUAL="" BYTES=0

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() { printf '%s ERROR: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; exit "${2:-1}"; }
human() {
  local b=$1
  if ((b >= 1073741824)); then printf '%d.%02d GiB' $((b / 1073741824)) $((b % 1073741824 * 100 / 1073741824))
  elif ((b >= 1048576)); then printf '%d.%02d MiB' $((b / 1048576)) $((b % 1048576 * 100 / 1048576))
  else printf '%d bytes' "$b"; fi
}
now_ms() { # REPLY: milliseconds since the epoch (bash 5 EPOCHREALTIME; SECONDS is too coarse for deadlines)
  local t=${EPOCHREALTIME/[.,]/}
  REPLY=$((10#$t / 1000))
}
require_number() { # NAME VALUE PATTERN
  [[ $2 =~ $3 ]] || fail "$1 must be a number, got ${2@Q}" 2
}

read_models() { # FILE: fills M_* or fails naming every bad line
  local file=$1 line n=0 tabs name digest insecure modelfile errors=()
  [[ -f $file && -r $file ]] || fail "cannot read the models file $file (set MODELS_FILE)" 2
  MODELS_DIR=$(dirname -- "$file")
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ $line =~ ^[[:space:]]*$ || $line == '#'* ]] && continue
    tabs=${line//[!$'\t']/}
    if ((${#tabs} != 3)); then
      errors+=("line $n: expected 4 tab-separated fields (name, digest, insecure, modelfile), found $((${#tabs} + 1))")
      continue
    fi
    IFS=$'\t' read -r name digest insecure modelfile <<<"$line"
    if [[ ! $name =~ $NAME_RE ]]; then errors+=("line $n: invalid model name ${name@Q}"); continue; fi
    [[ $digest =~ $DIGEST_RE ]] || errors+=("line $n: model $name: digest must be 64 lower-case hex characters or -, got ${digest@Q}")
    [[ $insecure == 0 || $insecure == 1 ]] || errors+=("line $n: model $name: insecure must be 0 or 1, got ${insecure@Q}")
    [[ $modelfile =~ $FILE_RE ]] || errors+=("line $n: model $name: modelfile must be - or a file name, got ${modelfile@Q}")
    M_NAME+=("$name") M_DIGEST+=("$digest") M_INSECURE+=("$insecure") M_MODELFILE+=("$modelfile")
  done <"$file"
  if ((${#errors[@]})); then
    local e
    for e in "${errors[@]}"; do printf '%s ERROR: %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$file" "$e" >&2; done
    fail "$file: ${#errors[@]} bad line(s); nothing was done" 2
  fi
  ((${#M_NAME[@]})) || fail "$file lists no models" 2
}

manifest_path() { # NAME -> REPLY: $OLLAMA_MODELS/manifests/<host>/<namespace>/<model>/<tag>
  local name=$1 host=registry.ollama.ai ns=library prefix="" last tag=latest
  last=${name##*/}
  [[ $name == */* ]] && prefix=${name%/*}
  if [[ $prefix == */* ]]; then host=${prefix%%/*} ns=${prefix#*/}; elif [[ -n $prefix ]]; then ns=$prefix; fi
  [[ $last == *:* ]] && tag=${last#*:}
  REPLY="$OLLAMA_MODELS/manifests/$host/$ns/${last%%:*}/$tag"
}

file_digest() { # FILE -> REPLY
  REPLY=$(sha256sum -- "$1")
  REPLY=${REPLY%% *}
}

model_state() { # INDEX -> STATE (ok|missing|incomplete|mismatch), DETAIL, ACTUAL digest, BYTES
  local i=$1 path rest hex size blob have layers=0
  manifest_path "${M_NAME[$i]}"
  path=$REPLY
  STATE=missing DETAIL="no manifest at $path" ACTUAL="" BYTES=0
  [[ -f $path ]] || return 0
  file_digest "$path"
  ACTUAL=$REPLY
  rest=$(<"$path")
  while [[ $rest =~ $LAYER_RE ]]; do
    hex=${BASH_REMATCH[1]} size=${BASH_REMATCH[3]}
    rest=${rest#*"${BASH_REMATCH[0]}"}
    layers=$((layers + 1))
    blob="$OLLAMA_MODELS/blobs/sha256-$hex"
    if [[ ! -f $blob ]]; then STATE=incomplete DETAIL="blob sha256-$hex is missing"; return 0; fi
    if [[ -n $size ]]; then
      have=$(stat -c %s -- "$blob")
      if ((have != size)); then STATE=incomplete DETAIL="blob sha256-$hex has $have bytes, its manifest says $size"; return 0; fi
      BYTES=$((BYTES + size))
    fi
  done
  ((layers)) || { STATE=incomplete DETAIL="manifest $path lists no blobs"; return 0; }
  if [[ ${M_DIGEST[$i]} != - && ${M_DIGEST[$i]} != "$ACTUAL" ]]; then
    STATE=mismatch DETAIL="digest mismatch: expected ${M_DIGEST[$i]}, found $ACTUAL"
    return 0
  fi
  STATE=ok DETAIL=""
}

custom_fingerprint() { # INDEX -> REPLY: "<sha256 of the Modelfile> <digest of its FROM base or ->"
  local file="$MODELS_DIR/${M_MODELFILE[$1]}" line base="" mf
  [[ -f $file ]] || fail "model ${M_NAME[$1]}: its Modelfile $file is missing" 2
  file_digest "$file"
  mf=$REPLY
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ $FROM_RE ]]; then base=${BASH_REMATCH[1]}; break; fi
  done <"$file"
  REPLY="$mf -"
  if [[ -n $base && $base =~ $NAME_RE ]]; then
    manifest_path "$base"
    if [[ -f $REPLY ]]; then file_digest "$REPLY"; REPLY="$mf $REPLY"; else REPLY="$mf -"; fi
  fi
}

marker_path() { # INDEX -> REPLY: where this script records what a custom model was created from
  manifest_path "${M_NAME[$1]}"
  REPLY="$OLLAMA_MODELS/.catalog-gen/created/${REPLY#"$OLLAMA_MODELS/manifests/"}"
}

check_model() { # INDEX -> STATE also `stale` for a custom model not created from this Modelfile and base
  local i=$1 want marker have_mf have_base have_manifest
  model_state "$i"
  [[ ${M_MODELFILE[$i]} != - && $STATE != missing ]] || return 0
  custom_fingerprint "$i"
  want=$REPLY
  marker_path "$i"
  marker=$REPLY
  if [[ ! -f $marker ]]; then STATE=stale DETAIL="not created from its Modelfile yet"; return 0; fi
  read -r have_mf have_base have_manifest <"$marker" || true
  if [[ "$have_mf $have_base" != "$want" ]]; then STATE=stale DETAIL="its Modelfile or its base model changed"
  elif [[ $have_manifest != "$ACTUAL" ]]; then STATE=stale DETAIL="its manifest changed since it was created"; fi
}
