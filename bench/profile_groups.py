#!/usr/bin/python3
"""Reads `perf report --sort dso,symbol --stdio` and prints the samples' shares by kind of work
(bench/profile.sh). The first pattern that matches a symbol names its group."""
import re
import sys

GROUPS = [
    ("matrix products (OpenBLAS sgemm)", r"sgemm|_HASWELL|_SKYLAKEX|_ZEN|libopenblas"),
    ("attention softmax (scale, causal mask, softmax and backward)", r"Softmax|softmax|kernels::\(anonymous namespace\)::(dot|row_dx)<"),
    ("layer norm", r"LayerNorm"),
    ("GELU", r"Gelu"),
    ("cross-entropy", r"CrossEntropy|cross_entropy|Loss"),
    ("AdamW update", r"Adam"),
    ("gradient clipping and norms", r"clip|Norm|norm_sq"),
    ("embedding gather/scatter", r"Embedding|embedding|gather|scatter"),
    ("elementwise and broadcast (bias add, residual add, grads)", r"binary|broadcast|for_each_row|apply<|Unary|each"),
    ("sums over axes", r"reduce"),
    ("copies (transposes of heads, contiguous)", r"Strided|strided|memmove|memcpy|kernels::\(anonymous namespace\)::copy\b"),
    ("memset (zeroing buffers)", r"memset"),
    ("threads waiting (OpenMP barriers, sched_yield)", r"libgomp|gomp_|GOMP|sched_yield"),
    ("tape and autograd bookkeeping", r"tapegrad::(Tape|Node|autograd|Tensor::backward|record)"),
    ("kernel (page faults, scheduling)", r"\[kernel|\[k\]"),
]


def main():
    shares = {name: 0.0 for name, _ in GROUPS}
    other = {}
    for line in sys.stdin:
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        share, dso, kind, symbol = float(m[1]), m[2], m[3], m[4].strip()
        text = f"{dso} [{kind}] {symbol}"
        for name, pattern in GROUPS:
            if re.search(pattern, text):
                shares[name] += share
                break
        else:
            other[symbol[:70]] = other.get(symbol[:70], 0.0) + share
    print("| where the time goes | share of samples |\n|---|---|")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        if share >= 0.05:
            print(f"| {name} | {share:.1f} % |")
    print(f"| everything else | {sum(other.values()):.1f} % |")
    for symbol, share in sorted(other.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  (largest other: {share:.2f} % {symbol})", file=sys.stderr)


if __name__ == "__main__":
    main()
