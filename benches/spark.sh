#!/bin/sh
# The Spark job's overhead: the same file list scanned by phscan alone and by
# deploy/spark/phscan_spark.py on a local cluster of this machine
# (local-cluster[2,1,1024]: two executors of one core), in the same run, plus the job
# over an empty list (what Spark costs before the first file). Wall time, and user +
# system CPU time of the whole process tree (benches/tree_cpu.py: /usr/bin/time would
# miss Spark's executors, which spark-submit does not reap).
#
#   benches/spark.sh [CORPUS]    (default /work/corpus: every file under photos/ and misc/)
#
# BENCH_FILES=N keeps the first N paths; BENCH_PARTITIONS (default 4) sets --partitions;
# PHSCAN_SPARK_VENV is the pyspark venv (default ~/.cache/phscan/spark-venv, which
# ./setup.sh creates). Needs target/release/phscan (cargo build --release).
set -eu
cd "$(dirname "$0")/.."
corpus=${1:-/work/corpus}
venv=${PHSCAN_SPARK_VENV:-$HOME/.cache/phscan/spark-venv}
bin=target/release/phscan
[ -x "$bin" ] || { echo "spark.sh: build first: cargo build --release" >&2; exit 2; }
[ -x "$venv/bin/spark-submit" ] || { echo "spark.sh: no pyspark in $venv: run ./setup.sh" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$corpus/photos" "$corpus/misc" -type f | sort | head -n "${BENCH_FILES:-100000000}" > "$work/list"
: > "$work/empty"
files=$(wc -l < "$work/list")
bytes=$(tr '\n' '\0' < "$work/list" | du -cb --files0-from=- | tail -1 | cut -f1)

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)  cores: $(nproc)"
echo "corpus: $files files, $((bytes / 1048576)) MiB; partitions: ${BENCH_PARTITIONS:-4}"
echo "load before: $(uptime)"

# Reads the list once so that both runs find it in the page cache.
tr '\n' '\0' < "$work/list" | xargs -0 cat > /dev/null

export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv/bin/python" PYSPARK_DRIVER_PYTHON="$venv/bin/python"
spark() {
    # spark-submit's output to files, the timing line to the terminal.
    python3 benches/tree_cpu.py "$3" sh -c 'log=$1; shift; exec "$@" > "$log.out" 2> "$log.err"' \
        sh "$work/spark" "$venv/bin/spark-submit" --master 'local-cluster[2,1,1024]' \
        --conf spark.ui.enabled=false deploy/spark/phscan_spark.py --phscan "$bin" \
        --hashset hashsets/fixtures.jsonl --files-from "$1" --output "$2" \
        --partitions "${BENCH_PARTITIONS:-4}" || { tail -20 "$work/spark.err" >&2; exit 2; }
}

python3 benches/tree_cpu.py "phscan alone (-j 2)" \
    "$bin" scan -j 2 --progress=never --hashset hashsets/fixtures.jsonl --files-from "$work/list" \
    -o "$work/alone.jsonl" || true
tail -1 "$work/alone.jsonl" | grep -q '"type":"summary"' || { echo "spark.sh: phscan failed" >&2; exit 2; }
spark "$work/list" "$work/spark" "Spark job"
spark "$work/empty" "$work/spark-empty" "Spark job, no files"
echo "load after: $(uptime)"

# The same files counted by both.
alone=$(tail -1 "$work/alone.jsonl" | sed 's/.*"files_seen":\([0-9]*\).*/\1/')
job=$(sed 's/.*"files_seen": \([0-9]*\).*/\1/' "$work/spark/summary.json")
echo "files_seen: phscan alone $alone, Spark job $job"
[ "$alone" = "$job" ] && [ "$alone" = "$files" ] || { echo "spark.sh: the counts differ" >&2; exit 2; }
