#!/usr/bin/env bash
# The chaos test of `procdemo tickets` at full length.
#
#   tests/chaos.sh [ITERATIONS] [SEED]      # default: 1000 iterations, a random seed
#
# Each iteration starts 2 or 3 locked `procdemo tickets` runs at once on one ticket file and
# SIGKILLs random buyers and mains while they run. At the end, after one last run that sweeps
# the temporary files of killed writers, it checks: the file is valid and kept its other key;
# no ticket was sold twice (`bought` lines <= how far the count went down, each `remaining`
# reported once); no `.data.json.tmp.*` file is left; and no process of any run is left
# behind. `cargo test` runs the same test for 150 iterations or 40 s, whichever comes first.
# A failure prints its seed: pass it back as SEED to replay the same choices.
set -euo pipefail
cd "$(dirname "$0")/.."

export CHAOS_ITERATIONS="${1:-1000}"
export CHAOS_SECONDS=0 # no time limit
if [ -n "${2:-}" ]; then
  export CHAOS_SEED="$2"
fi
exec cargo test --test cli -- --exact chaos_sigkill_buyers_and_mains
