#!/usr/bin/env bash
# Side-by-side GPT training-step benchmark, tapegrad vs PyTorch, in one run on this machine.
# PyTorch runs at its best setting: intra-op threads {1,2} x OPENBLAS_NUM_THREADS {1,2} with Debian's
# default (pthread) OpenBLAS, and threads {1,2} with OpenBLAS's OpenMP build (the one tapegrad
# uses, libopenblas0-openmp), with libgomp's default spinning wait and, for 2 threads, with
# OMP_WAIT_POLICY=passive, and data parallel: 2 processes x 1 thread, DistributedDataParallel over
# gloo, each on half the batch's rows (the split tapegrad's data-parallel step makes), the ranks
# sleeping in the gradient allreduce (DDP's own wait) or polling for it (torch_gpt.py --ddp-wait
# spin, a comm hook); the fastest is kept.
# Then the bf16 rows: tapegrad --precision bf16 against PyTorch under torch.autocast(bfloat16) at its
# best of threads {1,2} x OPENBLAS_NUM_THREADS {1,2}, and the model-FLOP utilisation against the
# bf16 GEMM peak (oneDNN, n = 2048; build/sgemm_peak bf16).
# tapegrad runs three times: as shipped (idle threads spin 300 pauses, then sleep: GOMP_SPINCOUNT=300,
# core/kernels/gemm.cpp), with threads that keep spinning (OMP_WAIT_POLICY=active), faster on a
# machine that runs nothing else and far slower under load, and with the batch in 2 shards side by
# side (--shards 2, train/sharded_step.hpp: one thread per half-batch, no op split across threads;
# the same gradients up to rounding); all three ratios are printed.
#   bash bench/run.sh [steps]        (installs what is missing and builds first, as scripts/dev does)
# Without [steps], each config runs for about the same time (toy 400 steps ... medium 6): a median of
# a few 5 ms steps reads the first slow steps after warm-up (toy read 10.9 ms at 5 steps, 5.7 at 200).
set -euo pipefail
cd "$(dirname "$0")/.."
steps_for() {
    if [ $# -gt 1 ]; then echo "$2"; return; fi
    case $1 in toy) echo 400 ;; tiny) echo 150 ;; small) echo 16 ;; *) echo 6 ;; esac
}
openmp_blas=/usr/lib/$(gcc -print-multiarch)/openblas-openmp
bin=${TAPEGRAD_BUILD_DIR:-build}
bash scripts/dev build >&2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
"$bin/tapegrad" info --system
faster() {  # exit 0 when JSON line $1 has fewer ms_per_step than $2
    /usr/bin/python3 -c "import json,sys; a,b=(json.loads(s) for s in sys.argv[1:]); sys.exit(0 if a['ms_per_step'] < b['ms_per_step'] else 1)" "$1" "$2"
}
for config in toy tiny small medium; do
    # the peak right before each config: on a shared host it drifts during a run (167-200 GFLOP/s)
    peak=$("$bin/sgemm_peak")
    echo "$peak"
    steps=$(steps_for "$config" "$@")
    ours=$("$bin/gpt_bench" "$config" "$steps")
    ours_spin=$(OMP_WAIT_POLICY=active "$bin/gpt_bench" "$config" "$steps")
    ours_sharded=$("$bin/gpt_bench" "$config" "$steps" --shards 2)
    best=""
    for setting in "1 1 pthread spin" "1 2 pthread spin" "2 1 pthread spin" "2 2 pthread spin" "1 - openmp spin" \
                   "2 - openmp spin" "2 1 pthread passive" "2 2 pthread passive" "2 - openmp passive" \
                   "1 1 pthread passive 2" "1 1 pthread spin 2"; do
        read -r threads blas build wait procs <<<"$setting"  # procs: DDP processes, empty for one
        env=(OPENBLAS_NUM_THREADS="$blas")
        [ "$build" = openmp ] && env=(LD_LIBRARY_PATH="$openmp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
        [ "$wait" = passive ] && env+=(OMP_WAIT_POLICY=passive)
        ddp=()
        [ -n "$procs" ] && ddp=(--ddp "$procs" --ddp-wait "$wait")
        # timeout: a rank that dies or hangs must not stall the whole run (it signals all the ranks)
        line=$(env "${env[@]}" timeout -k 10 $((300 + 60 * steps)) /usr/bin/python3 bench/torch_gpt.py \
               "$config" "$steps" --threads "$threads" "${ddp[@]}")
        line=${line%\}}", \"openblas_threads\": \"$blas\", \"openblas_build\": \"$build\", \"omp_wait\": \"$wait\"}"
        if [ -z "$best" ] || faster "$line" "$best"; then
            best=$line
        fi
    done
    echo "$ours"
    echo "$ours_spin"
    echo "$ours_sharded"
    echo "$best"
    /usr/bin/python3 -c "import json,sys; a,s,h,b,p=(json.loads(s) for s in sys.argv[1:]); print(f\"{a['config']}: tapegrad {a['tokens_per_s']} tok/s, pytorch best {b['tokens_per_s']} tok/s, ratio {a['tokens_per_s']/b['tokens_per_s']:.2f}x, tapegrad MFU {100*a['gflops']/p['gflops']:.0f}% of {p['gflops']} GFLOP/s; spinning threads {s['tokens_per_s']} tok/s, ratio {s['tokens_per_s']/b['tokens_per_s']:.2f}x, MFU {100*s['gflops']/p['gflops']:.0f}%; 2 shards {h['tokens_per_s']} tok/s, ratio {h['tokens_per_s']/b['tokens_per_s']:.2f}x, MFU {100*h['gflops']/p['gflops']:.0f}%\")" "$ours" "$ours_spin" "$ours_sharded" "$best" "$peak"
    bf16_peak=$("$bin/sgemm_peak" bf16)
    echo "$bf16_peak"
    ours_bf16=$("$bin/gpt_bench" "$config" "$steps" --precision bf16)
    best_bf16=""
    for setting in "1 1" "1 2" "2 1" "2 2"; do
        read -r threads blas <<<"$setting"
        line=$(OPENBLAS_NUM_THREADS="$blas" /usr/bin/python3 bench/torch_gpt.py "$config" "$steps" \
               --threads "$threads" --autocast)
        line=${line%\}}", \"openblas_threads\": \"$blas\"}"
        if [ -z "$best_bf16" ] || faster "$line" "$best_bf16"; then best_bf16=$line; fi
    done
    echo "$ours_bf16"
    echo "$best_bf16"
    /usr/bin/python3 -c "import json,sys; a,b,f,p=(json.loads(s) for s in sys.argv[1:]); print(f\"{a['config']} bf16: tapegrad {a['tokens_per_s']} tok/s ({a['precision']}, {a['isa']}), pytorch autocast best {b['tokens_per_s']} tok/s, ratio {a['tokens_per_s']/b['tokens_per_s']:.2f}x, {a['tokens_per_s']/f['tokens_per_s']:.2f}x tapegrad fp32, peak RSS {a['peak_rss_mb']} vs {f['peak_rss_mb']} MB fp32, MFU {100*a['gflops']/p['gflops']:.0f}% of {p['gflops']} GFLOP/s bf16\")" "$ours_bf16" "$best_bf16" "$ours" "$bf16_peak"
done
