#!/usr/bin/env bash
# Benchmarks the runtime on generated order files (ids in no particular order) against baselines
# run in this same script: `cat FILE >/dev/null` (the I/O floor), GNU `split -l 30000`, and
# DuckDB doing the local run's job. Prints wall times, peak RSS and ratios for a 1,000,000-row
# file; then, in alternating pairs, how the run scales to 10,000,000 rows (10M / 1M) and how it
# does against DuckDB there, with peak RSS, bytes written to disk per input byte and the time
# those bytes take at the disk's sequential write rate (measured here too); then the
# DynamoDB requests of one chunk on the emulator.
# Usage: scripts/bench.sh PATH/TO/eventdriven [ROWS]
#   BENCH_LARGE_ROWS=0 skips the large runs; BENCH_HUGE=1 adds a 100,000,000-row run (not in CI).
#   BENCH_BASELINE=PATH/TO/earlier/eventdriven joins the 1M pairs with that build's `run` (the
#   order alternating too), reports ours / baseline, and checks both give the same result bytes.
set -euo pipefail
bin=$(realpath "$1")
baseline=""
[ -z "${BENCH_BASELINE:-}" ] || baseline=$(realpath "$BENCH_BASELINE")
rows=${2:-1000000}
large_rows=${BENCH_LARGE_ROWS:-10000000}
repeats=5
# Pairs with DuckDB: the machine's speed drifts by several percent within a minute, and more
# pairs steady the median.
pairs=9
here=$(dirname "$(realpath "$0")")
venv="${XDG_CACHE_HOME:-$HOME/.cache}/eventdriven/bench-venv"
if ! "$venv/bin/python" -c "import duckdb" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "duckdb==2.0.0"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/eventdriven-bench.XXXXXX")
emulator=""
# The emulator, once started, goes with the script however it ends.
trap 'rm -rf "$dir"; [ -z "$emulator" ] || kill "$emulator" 2>/dev/null' EXIT
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
    sync # the previous run's writes are not left to slow this one
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

# DuckDB doing the same job, paired with `eventdriven run`: each pair runs both, the order
# alternating between pairs; the ratio is the median of the pairs' ratios.
# timed NAME COMMAND...: runs COMMAND once, appends "seconds peak_kib bytes_written" to
# $dir/NAME: write_bytes less cancelled_write_bytes of /proc/PID/io (which count the children
# a shell has waited for), the bytes sent to the disk, without those of files removed before
# they reached it.
timed() {
  local name=$1; shift
  rm -rf "$dir/work"; mkdir -p "$dir/work"
  local start end
  sync
  start=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$dir/time" bash -c '"$@" >/dev/null || exit; awk "/^write_bytes/{w=\$2} /^cancelled_write_bytes/{c=\$2} END{print w-c}" /proc/$$/io >"'"$dir/io"'"' \
    _ "$@" 2>"$dir/stderr" || { cat "$dir/stderr" >&2; exit 1; }
  end=$(date +%s%N)
  echo "$(awk "BEGIN{printf \"%.3f\", ($end - $start) / 1e9}") $(cat "$dir/time") $(cat "$dir/io")" >>"$dir/$name"
}
ours=("$bin" run --input "$input" --output "$dir/work/result.csv" --work-dir "$dir/work/runs"
  --table "$dir/work/orders.table" --max-lines-per-batch 30000)
duckdb_table=("$venv/bin/python" "$here/duckdb_job.py" table "$dir/work/orders.duckdb" "$input" "$dir/work/result.csv")
duckdb_csv=("$venv/bin/python" "$here/duckdb_job.py" csv "$input" "$dir/work/result.csv")
theirs=()
[ -z "$baseline" ] || theirs=("$baseline" "${ours[@]:1}")
baseline_run() { [ -z "$baseline" ] || timed baseline_run "${theirs[@]}"; }
for pair in $(seq "$pairs"); do
  if [ $((pair % 2)) -eq 1 ]; then
    timed duckdb_table "${duckdb_table[@]}"; timed paired_run "${ours[@]}"; baseline_run
  else
    baseline_run; timed paired_run "${ours[@]}"; timed duckdb_table "${duckdb_table[@]}"
  fi
  timed duckdb_csv "${duckdb_csv[@]}"
done
# median FILE COLUMN: the median of a column of numbers.
median() { cut -d' ' -f"$2" "$1" | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
# pair_ratio A B: the median of the pairs' A / B wall-time ratios.
pair_ratio() {
  paste -d' ' <(cut -d' ' -f1 "$dir/$1") <(cut -d' ' -f1 "$dir/$2") | awk '{print $1/$2}' >"$dir/ratios"
  printf "%.2f" "$(median "$dir/ratios" 1)"
}
paired_ratio() { pair_ratio paired_run "$1"; }

# The baseline and this build on the same input give the same result, byte for byte.
same_result=""
if [ -n "$baseline" ]; then
  rm -rf "$dir/work"; mkdir -p "$dir/work"
  "${theirs[@]/$dir\/work\/result.csv/$dir/baseline.csv}" >/dev/null
  rm -rf "$dir/work"; mkdir -p "$dir/work"
  "${ours[@]}" >/dev/null
  if cmp -s "$dir/baseline.csv" "$dir/work/result.csv"; then same_result="identical"; else same_result="DIFFERENT"; fi
  rm -f "$dir/baseline.csv"
fi

# Peak RSS of one process step on a 30,000-row chunk.
rm -rf "$dir/work"; mkdir -p "$dir/work"
"$bin" split --input "$input" --work-dir "$dir/work" --run-id rss --max-lines-per-batch 30000 >/dev/null
chunk=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["chunks"][0]["reference"])' \
  "$dir/work/rss/manifest.json")
/usr/bin/time -f "%M" -o "$dir/time" "$bin" process --run-id rss --work-dir "$dir/work" --chunk "$chunk" \
  --table "$dir/work/orders.table" >/dev/null
read -r process_kib <"$dir/time"

# The same step as the cloud Job runs it, writing to DynamoDB (the local AWS emulator), when the
# emulator and the AWS CLI are installed (make test installs both).
dynamodb_kib="" dynamodb_report=""
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
  # A run of its own: a chunk done in one run is not processed again.
  "$bin" split --input "$input" --work-dir "$dir/work" --run-id rss-dynamodb --max-lines-per-batch 30000 >/dev/null
  /usr/bin/time -f "%M" -o "$dir/time" "$bin" process --run-id rss-dynamodb --work-dir "$dir/work" --chunk "$chunk" \
    --table dynamodb://bench >/dev/null 2>"$dir/dynamodb.log"
  read -r dynamodb_kib <"$dir/time"
  dynamodb_report=$(grep -o '[0-9]* items in [0-9]* BatchWriteItem requests, [0-9]* items/s' "$dir/dynamodb.log" || true)
  kill "$emulator"; wait "$emulator" 2>/dev/null || true
  emulator=""
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
echo
printf '%-44s %8s %10s %12s\n' "same job, $pairs alternating pairs (median)" "wall s" "peak MiB" "ours / it"
printf '%-44s %8s %10s %12s\n' "eventdriven run" "$(median "$dir/paired_run" 1)" \
  "$(( $(median "$dir/paired_run" 2 | cut -d. -f1) / 1024 ))" "1.00"
printf '%-44s %8s %10s %12s\n' "DuckDB: table of every column + CSV" "$(median "$dir/duckdb_table" 1)" \
  "$(( $(median "$dir/duckdb_table" 2 | cut -d. -f1) / 1024 ))" "$(paired_ratio duckdb_table)"
printf '%-44s %8s %10s %12s\n' "DuckDB: CSV to CSV, no table (for the record)" "$(median "$dir/duckdb_csv" 1)" \
  "$(( $(median "$dir/duckdb_csv" 2 | cut -d. -f1) / 1024 ))" "$(paired_ratio duckdb_csv)"
if [ -n "$baseline" ]; then
  printf '%-44s %8s %10s %12s\n' "baseline: $(basename "$baseline") run" "$(median "$dir/baseline_run" 1)" \
    "$(( $(median "$dir/baseline_run" 2 | cut -d. -f1) / 1024 ))" "$(paired_ratio baseline_run)"
  echo "baseline / DuckDB (table): $(pair_ratio baseline_run duckdb_table); result bytes: $same_result"
fi
if [ -n "$dynamodb_report" ]; then
  read -r items requests <<<"$(echo "$dynamodb_report" | awk '{print $1, $4}')"
  expected=$(( (items + 24) / 25 ))
  echo "DynamoDB (emulator), one chunk: $dynamodb_report; ceil(items/25) = $expected$([ "$requests" -eq "$expected" ] && echo ", exact" || echo ", NOT exact")"
fi
# Scale: the run on $rows and on $large_rows rows, and DuckDB on $large_rows, in alternating
# pairs, each with its peak RSS and the bytes it wrote to disk.
# scale_pairs SMALL_INPUT LARGE_INPUT PAIRS PREFIX: alternating pairs of our run on both files
# and DuckDB on the large one, into $dir/PREFIX_small, PREFIX_large and PREFIX_duckdb.
scale_pairs() {
  local small=$1 large=$2 count=$3 prefix=$4
  local on_small=("${ours[@]/$input/$small}") on_large=("${ours[@]/$input/$large}")
  local duckdb_large=("${duckdb_table[@]/$input/$large}")
  for pair in $(seq "$count"); do
    if [ $((pair % 2)) -eq 1 ]; then
      timed "${prefix}_small" "${on_small[@]}"; timed "${prefix}_large" "${on_large[@]}"
      timed "${prefix}_duckdb" "${duckdb_large[@]}"
    else
      timed "${prefix}_duckdb" "${duckdb_large[@]}"; timed "${prefix}_large" "${on_large[@]}"
      timed "${prefix}_small" "${on_small[@]}"
    fi
  done
}
# max FILE COLUMN: the largest of a column of numbers.
max() { cut -d' ' -f"$2" "$1" | sort -g | tail -n 1; }
# scale_report PREFIX SMALL_ROWS SMALL_BYTES LARGE_ROWS LARGE_BYTES: the pairs' medians and ratios.
scale_report() {
  local prefix=$1 small_rows=$2 small_bytes=$3 large_rows=$4 large_bytes=$5
  local count; count=$(wc -l <"$dir/${prefix}_large")
  echo
  printf '%-44s %8s %10s %14s %10s\n' "scale, $count alternating pairs (median)" "wall s" "peak MiB" "to disk/input" "disk s"
  local name rows bytes
  for name in small large duckdb; do
    case $name in
      small) rows=$small_rows bytes=$small_bytes label="eventdriven run, $small_rows rows" ;;
      large) rows=$large_rows bytes=$large_bytes label="eventdriven run, $large_rows rows" ;;
      duckdb) rows=$large_rows bytes=$large_bytes label="DuckDB (table + CSV), $large_rows rows" ;;
    esac
    printf '%-44s %8s %10s %14s %10s\n' "$label" "$(median "$dir/${prefix}_$name" 1)" \
      "$(( $(max "$dir/${prefix}_$name" 2) / 1024 ))" \
      "$(awk "BEGIN{printf \"%.2f\", $(median "$dir/${prefix}_$name" 3) / $bytes}")" \
      "$(awk "BEGIN{printf \"%.1f\", $(median "$dir/${prefix}_$name" 3) / $disk_bytes_per_s}")"
  done
  echo "$large_rows / $small_rows rows: $(pair_ratio "${prefix}_large" "${prefix}_small")x the time (target <= 10.50); against DuckDB: $(pair_ratio "${prefix}_large" "${prefix}_duckdb")x (target <= 0.80)"
}
# disk_write_rate: bytes a second this disk takes in sequential writes flushed to it (2 GiB
# and an fdatasync): what a run bound by its writes goes at, give or take the disk's bursts.
disk_write_rate() {
  local start end
  sync
  start=$(date +%s%N)
  dd if=/dev/zero of="$dir/disk" bs=1M count=2048 conv=fdatasync status=none
  end=$(date +%s%N)
  rm -f "$dir/disk"
  awk "BEGIN{printf \"%.0f\", 2048 * 1048576 / (($end - $start) / 1e9)}"
}
if [ "$large_rows" -gt 0 ]; then
  disk_bytes_per_s=$(disk_write_rate)
  echo
  echo "disk: $((disk_bytes_per_s / 1000000)) MB/s of sequential writes, flushed; \"disk s\" below is the time a run's bytes take at that rate"
  large="$dir/large.csv"
  "$bin" generate --rows "$large_rows" --seed 2 --output "$large"
  large_pairs=${BENCH_LARGE_PAIRS:-5}
  scale_pairs "$input" "$large" "$large_pairs" large
  scale_report large "$rows" "$(stat -c %s "$input")" "$large_rows" "$(stat -c %s "$large")"
  if [ -n "${BENCH_HUGE:-}" ]; then
    huge="$dir/huge.csv"
    huge_rows=$((large_rows * 10))
    "$bin" generate --rows "$huge_rows" --seed 3 --output "$huge"
    scale_pairs "$large" "$huge" "${BENCH_HUGE_PAIRS:-1}" huge
    scale_report huge "$large_rows" "$(stat -c %s "$large")" "$huge_rows" "$(stat -c %s "$huge")"
    rm -f "$huge"
  fi
  rm -f "$large"
fi
echo "targets: split <= 1.00x GNU split; run <= 0.80x DuckDB (table) at $rows and $large_rows rows; 10x the rows in <= 10.50x the time; run peak RSS <= 64 MiB; bytes written < 3x the input"
