#!/usr/bin/env bash
# Data-parallel scaling on one machine: tokens/s of `tapegrad train` as 1 process × 2 threads and
# as 2 MPI ranks × 1 thread (mpirun), same global batch, on bench/gpt_bench's small and medium
# configs; the median of each run's steps after the first two (metrics' tokens_per_s, all ranks).
#   TAPEGRAD_BUILD_DIR=build bash bench/mpi_scaling.sh [steps]   (a build with TAPEGRAD_MPI on)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-8}
bin=${TAPEGRAD_BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Random characters, vocabulary 65 like gpt_bench: the step time does not depend on the text.
/usr/bin/python3 -c "import random, string; random.seed(3); a = (string.ascii_letters + string.digits + ' .,')[:65]
print(''.join(random.choice(a) for _ in range(400000)))" > "$work/data.txt"

median_tokens_per_s() {
    /usr/bin/python3 -c "import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])][2:]
print(round(statistics.median(r['tokens_per_s'] for r in rows)))" "$1"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $steps steps"
for config in small medium; do
    case $config in
        small) model=(--n-layer 4 --n-head 4 --n-embd 128 --block-size 128 --batch 16) ;;
        medium) model=(--n-layer 6 --n-head 6 --n-embd 384 --block-size 256 --batch 8) ;;
    esac
    run=(train --data "$work/data.txt" "${model[@]}" --steps "$steps" --warmup 1 --eval-every 0
         --eval-batches 1 --quiet)
    OMP_NUM_THREADS=2 "$bin/tapegrad" "${run[@]}" --metrics "$work/$config-1x2.jsonl" > /dev/null
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 mpirun --allow-run-as-root -np 2 --bind-to core \
        "$bin/tapegrad" "${run[@]}" --metrics "$work/$config-2x1.jsonl" > /dev/null
    one=$(median_tokens_per_s "$work/$config-1x2.jsonl")
    two=$(median_tokens_per_s "$work/$config-2x1.jsonl")
    /usr/bin/python3 -c "import sys; c, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(f'{c}: 1 process x 2 threads {a} tok/s, 2 ranks x 1 thread {b} tok/s, ratio {b / a:.2f}x')" \
        "$config" "$one" "$two"
done
