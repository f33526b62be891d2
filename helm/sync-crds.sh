#!/usr/bin/env bash
# Copies the CRDs the crds module generated into the chart (helm/lockwarden/crds/), byte for byte.
# Run by the crds module's build right after the CRDs are generated; never edit the chart's copies by hand.
#
# On CI (CI=true) it copies nothing: there the committed copies must already match, and
# io.lockwarden.e2e.chart.ChartCrdsIT fails if they drift. Locally, a changed CRD lands in the chart and shows in
# `git status`, to be committed with the model change.
#
# Usage: sync-crds.sh GENERATED_DIR CHART_CRDS_DIR
set -euo pipefail
src=${1:?generated CRD directory}
dst=$(realpath -m "${2:?chart crds directory}")
shopt -s nullglob
generated=("$src"/*-v1.yml)
(( ${#generated[@]} > 0 )) || { echo "[chart-crds] ERROR: no generated CRDs (*-v1.yml) in $src" >&2; exit 1; }
mkdir -p "$dst"
for file in "${generated[@]}"; do
  target="$dst/$(basename "$file")"
  cmp -s "$file" "$target" && continue
  if [[ "${CI:-}" == "true" ]]; then
    echo "[chart-crds] CI: $target differs from the generated CRD; not copying (ChartCrdsIT reports it)"
  else
    cp "$file" "$target"
    echo "[chart-crds] updated $target from the generated CRD: commit it with the model change"
  fi
done
for stale in "$dst"/*; do
  [[ -e "$src/$(basename "$stale")" ]] && continue
  if [[ "${CI:-}" == "true" ]]; then
    echo "[chart-crds] CI: $stale is not a generated CRD; not deleting (ChartCrdsIT reports it)"
  else
    rm -f "$stale"
    echo "[chart-crds] removed $stale: no such generated CRD"
  fi
done
