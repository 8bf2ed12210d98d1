#!/usr/bin/env bash
# The test command's body (`make test`): unit and property tests, workflow lint, a dry run of
# every target for both experiment sets, and the quick pipeline end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
CORES=${CORES:-2}
export PATH="$PWD/$BIN:$PATH"

T0=$(date +%s)
LAST=$T0
SUMMARY=""
# Each step prints its start; the summary at the end gives the minutes each took (the 20-minute budget).
close_step() {
  local now; now=$(date +%s)
  [ -n "${CURRENT:-}" ] && SUMMARY+="$(awk -v s=$((now - LAST)) -v n="$CURRENT" 'BEGIN{printf "%6.1f min  %s", s/60, n}')"$'\n'
  LAST=$now
}
step() {
  close_step
  CURRENT=$1
  printf '\n== %s  (%s)\n' "$1" "$(date +%T)"
}
finish() {
  close_step
  printf '\n== time per step\n%s' "$SUMMARY"
  awk -v s=$(($(date +%s) - T0)) 'BEGIN{printf "%6.1f min  total (after the install)\n", s/60}'
}

step "workflow lint"
snakemake --lint
snakefmt --check Snakefile workflow/rules

step "dry run of every target, quick and full"
targets=$(snakemake --list-target-rules --quiet 2>/dev/null | grep -v '^all$' || true)
# One DAG holding every named target per set: each must resolve (a missing producer names the file).
# The three dry runs are independent single-threaded processes: run them side by side.
pids=()
for exp in quick full; do
  snakemake all $targets -n --cores 1 --quiet rules --config experiment=$exp >/dev/null &
  pids+=($!)
done
# The cluster profile resolves without the optional SLURM executor plugin.
snakemake all -n --cores 1 --quiet rules --workflow-profile workflow/profiles/slurm --executor dryrun \
  --config experiment=quick >/dev/null &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done  # set -e: a failed dry run stops here with its message
echo "dry runs ok: all + $(echo $targets | wc -w) targets (quick, full), workflow/profiles/slurm"

step "quick pipeline end to end"
snakemake --cores "$CORES" --config experiment=quick --show-failed-logs

step "unit and property tests"
python -m pytest -q -n "$CORES" --durations=15 tests
finish
