#!/usr/bin/env bash
# Where a GPT training step's time goes, by kind of operation: perf samples of bench/gpt_bench
# (after its set-up and warm-up), grouped by bench/profile_groups.py.
#   bash bench/profile.sh [config] [steps]        (after bash scripts/dev build; needs perf)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-medium}
steps=${2:-10}
bin=${TAPEGRAD_BUILD_DIR:-build}
command -v perf >/dev/null || { echo "profile.sh: needs perf (Debian package linux-perf)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data" "$data.ctl"' EXIT
mkfifo "$data.ctl"
# perf starts with its events off; gpt_bench turns them on through the fifo after its warm-up.
perf record -q -F 499 -o "$data" --control "fifo:$data.ctl" -D -1 -- \
    "$bin/gpt_bench" "$config" "$steps" --perf-control "$data.ctl"
perf report -i "$data" --no-children --sort dso,symbol -g none --percent-limit 0 --stdio 2>/dev/null |
    /usr/bin/python3 bench/profile_groups.py
