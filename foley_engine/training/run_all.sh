#!/usr/bin/env bash
# Train the whole model: cavp → detector → vae → base → temporal → assemble.
#
#   foley_engine/training/run_all.sh DATA ROOT [CONFIG]
#
# Each stage trains into ROOT/<stage> and logs to ROOT/<stage>.log; the pipeline
# lands in ROOT/pipeline. Every stage runs with --resume, so running the script
# again after an interruption continues where it stopped (finished stages only
# re-export). Set PYTHON to choose the interpreter and THREADS the torch threads.
set -euo pipefail

DATA=${1:?usage: run_all.sh DATA ROOT [CONFIG]}
ROOT=${2:?usage: run_all.sh DATA ROOT [CONFIG]}
CONFIG=${3:-small}
PYTHON=${PYTHON:-python}
THREADS=${THREADS:-2}
# OpenMP threads that spin while waiting fight other processes for the cores;
# passive waiting keeps a shared machine usable and training steady.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

mkdir -p "$ROOT"

train() {
    local stage=$1
    shift
    echo "$(date -Is) $stage: starting (log: $ROOT/$stage.log)"
    "$PYTHON" -m foley_engine.cli train "$stage" --config "$CONFIG" --data "$DATA" --out "$ROOT/$stage" \
        --resume --threads "$THREADS" "$@" >>"$ROOT/$stage.log" 2>&1
}

train cavp
train detector
train vae
train base --cavp "$ROOT/cavp" --vae "$ROOT/vae"
train temporal --cavp "$ROOT/cavp" --vae "$ROOT/vae" --base "$ROOT/base"
echo "$(date -Is) assemble: starting (log: $ROOT/assemble.log)"
"$PYTHON" -m foley_engine.cli train assemble --config "$CONFIG" --cavp "$ROOT/cavp" --vae "$ROOT/vae" \
    --base "$ROOT/base" --temporal "$ROOT/temporal" --detector "$ROOT/detector" -o "$ROOT/pipeline" \
    >>"$ROOT/assemble.log" 2>&1
echo "$(date -Is) done: $ROOT/pipeline"
