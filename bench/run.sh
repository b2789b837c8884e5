#!/usr/bin/env bash
# Side-by-side GPT training-step benchmark, tapegrad vs PyTorch, in one run on this machine.
# PyTorch runs at its best setting: intra-op threads {1,2} x OPENBLAS_NUM_THREADS {1,2} with Debian's
# default (pthread) OpenBLAS, and threads {1,2} with OpenBLAS's OpenMP build (the one tapegrad
# uses, libopenblas0-openmp), with libgomp's default spinning wait and, for 2 threads, with
# OMP_WAIT_POLICY=passive (tapegrad's default, core/kernels/gemm.cpp); the fastest is kept.
#   bash bench/run.sh [steps]        (installs what is missing and builds first, as scripts/dev does)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
openmp_blas=/usr/lib/$(gcc -print-multiarch)/openblas-openmp
bin=${TAPEGRAD_BUILD_DIR:-build}
bash scripts/dev build >&2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
for config in toy tiny small medium; do
    # the peak right before each config: on a shared host it drifts during a run (167-200 GFLOP/s)
    peak=$("$bin/sgemm_peak")
    echo "$peak"
    ours=$("$bin/gpt_bench" "$config" "$steps")
    best=""
    for setting in "1 1 pthread spin" "1 2 pthread spin" "2 1 pthread spin" "2 2 pthread spin" "1 - openmp spin" \
                   "2 - openmp spin" "2 1 pthread passive" "2 2 pthread passive" "2 - openmp passive"; do
        read -r threads blas build wait <<<"$setting"
        env=(OPENBLAS_NUM_THREADS="$blas")
        [ "$build" = openmp ] && env=(LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
        [ "$wait" = passive ] && env+=(OMP_WAIT_POLICY=passive)
        line=$(env "${env[@]}" /usr/bin/python3 bench/torch_gpt.py "$config" "$steps" --threads "$threads")
        line=${line%\}}", \"openblas_threads\": \"$blas\", \"openblas_build\": \"$build\", \"omp_wait\": \"$wait\"}"
        if [ -z "$best" ] || /usr/bin/python3 -c "import json,sys; a,b=(json.loads(s) for s in sys.argv[1:]); sys.exit(0 if a['ms_per_step'] < b['ms_per_step'] else 1)" "$line" "$best"; then
            best=$line
        fi
    done
    echo "$ours"
    echo "$best"
    /usr/bin/python3 -c "import json,sys; a,b,p=(json.loads(s) for s in sys.argv[1:]); print(f\"{a['config']}: tapegrad {a['tokens_per_s']} tok/s, pytorch best {b['tokens_per_s']} tok/s, ratio {a['tokens_per_s']/b['tokens_per_s']:.2f}x, tapegrad MFU {100*a['gflops']/p['gflops']:.0f}% of {p['gflops']} GFLOP/s\")" "$ours" "$best" "$peak"
done
