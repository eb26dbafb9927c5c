#!/usr/bin/env bash
# Benchmarks the runtime on a generated 1,000,000-row file against baselines run in this same
# script: `cat FILE >/dev/null` (the I/O floor) and GNU `split -l 30000`. Prints wall times,
# peak RSS and ratios. Usage: scripts/bench.sh PATH/TO/eventdriven [ROWS]
set -euo pipefail
bin=$(realpath "$1")
rows=${2:-1000000}
repeats=5
dir=$(mktemp -d "${TMPDIR:-/tmp}/eventdriven-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
input="$dir/orders.csv"

"$bin" generate --rows "$rows" --seed 1 --output "$input"
echo "input: $rows rows, $(du -m "$input" | cut -f1) MiB, $(nproc) cores"
cat "$input" >/dev/null # warm the page cache for every contender alike

# best_of NAME COMMAND...: runs COMMAND $repeats times (fresh output dir each time), records the
# fastest wall time and the largest peak RSS in $dir/NAME.
best_of() {
  local name=$1; shift
  local best="" peak=0
  for _ in $(seq "$repeats"); do
    rm -rf "$dir/work"; mkdir -p "$dir/work"
    local start end seconds kib
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$dir/time" "$@" >/dev/null 2>"$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
    end=$(date +%s%N)
    seconds=$(awk "BEGIN{printf \"%.3f\", ($end - $start) / 1e9}")
    read -r kib <"$dir/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($seconds < $best)}"; then best=$seconds; fi
    [ "$kib" -gt "$peak" ] && peak=$kib
  done
  echo "$best $peak" >"$dir/$name"
}

best_of cat bash -c "cat '$input' >/dev/null"
best_of gnu_split bash -c "cd '$dir/work' && split -l 30000 '$input'"
best_of our_split "$bin" split --input "$input" --work-dir "$dir/work" --run-id bench --max-lines-per-batch 30000
best_of local_run "$bin" run --input "$input" --output "$dir/work/result.csv" --work-dir "$dir/work/runs" \
  --table "$dir/work/orders.table" --max-lines-per-batch 30000

# Peak RSS of one process step on a 30,000-row chunk.
rm -rf "$dir/work"; mkdir -p "$dir/work"
"$bin" split --input "$input" --work-dir "$dir/work" --run-id rss --max-lines-per-batch 30000 >/dev/null
chunk=$(ls "$dir/work/rss/chunks" | head -n 1); chunk=${chunk%.csv}
/usr/bin/time -f "%M" -o "$dir/time" "$bin" process --run-id rss --work-dir "$dir/work" --chunk "$chunk" \
  --table "$dir/work/orders.table" >/dev/null
read -r process_kib <"$dir/time"

# The same step as the cloud Job runs it, writing to DynamoDB (the local AWS emulator), when the
# emulator and the AWS CLI are installed (make test installs both).
dynamodb_kib=""
if command -v fakecloud >/dev/null && command -v aws >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  FAKECLOUD_CONTAINER_CLI=false fakecloud --addr "127.0.0.1:$port" --log-level error >/dev/null 2>&1 &
  emulator=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  aws dynamodb create-table --table-name bench --billing-mode PAY_PER_REQUEST \
    --attribute-definitions AttributeName=OrderId,AttributeType=S \
    --key-schema AttributeName=OrderId,KeyType=HASH >/dev/null
  rm -rf "$dir/work/rss/out"
  /usr/bin/time -f "%M" -o "$dir/time" "$bin" process --run-id rss --work-dir "$dir/work" --chunk "$chunk" \
    --table dynamodb://bench >/dev/null
  read -r dynamodb_kib <"$dir/time"
  kill "$emulator"; wait "$emulator" 2>/dev/null || true
fi

read -r cat_s cat_kib <"$dir/cat"
read -r gnu_s gnu_kib <"$dir/gnu_split"
read -r split_s split_kib <"$dir/our_split"
read -r run_s run_kib <"$dir/local_run"
ratio() { awk "BEGIN{printf \"%.2f\", $1 / ($2 > 0 ? $2 : 0.001)}"; }
printf '%-34s %8s %10s %14s\n' "contender (best of $repeats)" "wall s" "peak MiB" "x GNU split"
printf '%-34s %8s %10s %14s\n' "cat FILE >/dev/null (I/O floor)" "$cat_s" "$((cat_kib / 1024))" "$(ratio "$cat_s" "$gnu_s")"
printf '%-34s %8s %10s %14s\n' "GNU split -l 30000" "$gnu_s" "$((gnu_kib / 1024))" "1.00"
printf '%-34s %8s %10s %14s\n' "eventdriven split" "$split_s" "$((split_kib / 1024))" "$(ratio "$split_s" "$gnu_s")"
printf '%-34s %8s %10s %14s\n' "eventdriven run (whole pipeline)" "$run_s" "$((run_kib / 1024))" "$(ratio "$run_s" "$gnu_s")"
printf '%-34s %8s %10s\n' "eventdriven process (one chunk)" "-" "$((process_kib / 1024))"
[ -n "$dynamodb_kib" ] && printf '%-34s %8s %10s\n' "  same, writing to DynamoDB" "-" "$((dynamodb_kib / 1024))"
echo "local run throughput: $(awk "BEGIN{printf \"%.0f\", $rows / $run_s}") rows/s"
echo "targets: split <= 1.00x GNU split; run <= 5.00x GNU split; split and process peak RSS < 64 MiB"
