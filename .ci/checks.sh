#!/usr/bin/env bash
# The test command's body (`make test`): unit and property tests, workflow lint, a dry run of
# every target for both experiment sets, and the quick pipeline end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
CORES=${CORES:-2}
export PATH="$PWD/$BIN:$PATH"

step() { printf '\n== %s  (%s)\n' "$1" "$(date +%T)"; }

step "workflow lint"
snakemake --lint
snakefmt --check Snakefile workflow/rules

step "dry run of every target, quick and full"
targets=$(snakemake --list-target-rules --quiet 2>/dev/null | grep -v '^all$' || true)
for exp in quick full; do
  # One DAG holding every named target: each must resolve (a missing producer names the file).
  snakemake all $targets -n --cores 1 --quiet rules --config experiment=$exp >/dev/null
  echo "dry run ok: all + $(echo $targets | wc -w) targets ($exp)"
done
# The cluster profile resolves without the optional SLURM executor plugin.
snakemake all -n --cores 1 --quiet rules --workflow-profile workflow/profiles/slurm --executor dryrun \
  --config experiment=quick >/dev/null
echo "dry run ok: workflow/profiles/slurm"

step "quick pipeline end to end"
snakemake --cores "$CORES" --config experiment=quick --show-failed-logs

step "unit and property tests"
python -m pytest -q -n "$CORES" tests
