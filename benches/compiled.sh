#!/usr/bin/env bash
# Startup and memory of `scan` with a large PDQ list: the CSV against the same list
# compiled (`phscan hashset compile`), in the same run, over the fixtures.
#
#   benches/compiled.sh [WORKDIR]     (default target/bench-compiled; about 2.5 GB)
#
# PHSCAN_LIST_N entries (default 10,000,000: random PDQ hashes, fixed seed, plus the
# fixtures' own) are written once as `hash,id` lines; the list is compiled (timed);
# then ROUNDS (default 3) rounds each scan tests/fixtures with the CSV and with the
# compiled list, the page cache warm, and print wall time and peak RSS (VmHWM: the
# process's own memory plus the mapped file's pages it touched), the process's own
# (anonymous) memory and the file pages it had mapped at the end of the scan (its
# binary's and the list's), and
# check that both report the same records. Last, two scans hold the compiled list
# at once and their proportional set sizes show the file's pages shared.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-target/bench-compiled}
N=${PHSCAN_LIST_N:-10000000}
ROUNDS=${ROUNDS:-3}
cargo build --release --quiet
B=$PWD/target/release/phscan
mkdir -p "$W"
CSV=$W/pdq-$N.csv
PHC=$W/pdq-$N.phc
if [ ! -s "$CSV" ]; then
    python3 - "$CSV" "$N" <<'EOF'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
r = random.Random(16)
with open(path, "w") as f:
    for line in open("hashsets/fixtures.pdq.csv"):
        if not line.startswith("#"):
            f.write(line)
    for start in range(0, n, 100_000):
        f.write("".join("%064x,r%d\n" % (r.getrandbits(256), i)
                        for i in range(start, min(n, start + 100_000))))
EOF
fi
echo "phscan compiled-list benchmark: $N PDQ entries + the fixtures' ($(du -hL "$CSV" | cut -f1) CSV)"
echo "  $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "  compile: %e s wall, %U s user, peak RSS %M KiB" \
    "$B" hashset compile "$CSV" -o "$PHC" 2>&1 | sed 's/^phscan: wrote /  wrote /'
cat "$CSV" "$PHC" >/dev/null # warm the page cache for both

FILES=$(find tests/fixtures -type f | sort)
NFILES=$(echo "$FILES" | wc -l)
# Scans the fixtures with list $1 into $2; the scan's stdin stays open until its
# records are all out, so that its memory can be read before it exits. Prints
# "wall_s anon_kib file_kib hwm_kib".
measure() {
    local list=$1 out=$2 pid t0 t1 anon file hwm
    rm -f "$out"
    t0=$(date +%s.%N)
    { echo "$FILES"; while [ ! -e "$out.done" ]; do sleep 0.01; done; } |
        "$B" scan --force --list-clean --list-skipped --files-from - --hashset "$list" -o "$out" &
    pid=$!
    local n=0
    while [ "$n" -lt "$NFILES" ]; do
        sleep 0.005
        n=$(grep -c '"path"' "$out" 2>/dev/null) || n=${n:-0}
    done
    t1=$(date +%s.%N)
    anon=$(awk '/^RssAnon/ {print $2}' /proc/"$pid"/status)
    file=$(awk '/^RssFile/ {print $2}' /proc/"$pid"/status)
    hwm=$(awk '/^VmHWM/ {print $2}' /proc/"$pid"/status)
    touch "$out.done"
    wait || true
    rm -f "$out.done"
    echo "$(echo "$t1 - $t0" | bc) $anon $file $hwm"
}
same=yes
for r in $(seq 1 "$ROUNDS"); do
    for kind in csv phc; do
        list=$CSV; [ $kind = phc ] && list=$PHC
        read -r wall anon file hwm < <(measure "$list" "$W/out.$kind.jsonl")
        printf '  round %d %-4s all records out after %6.2f s; own (anonymous) memory %5d MiB, file pages mapped (binary and list) %5d MiB, peak RSS %5d MiB\n' \
            "$r" "$kind" "$wall" $((anon / 1024)) $((file / 1024)) $((hwm / 1024))
    done
    strip() { grep '"path"' "$1" | grep -v '"type":"begin"' | sed 's/"hashset":"[^"]*"//g' | sort; }
    cmp -s <(strip "$W/out.csv.jsonl") <(strip "$W/out.phc.jsonl") || same=no
done
echo "  records of the CSV and the compiled list identical in every round: $same"
# Whole runs, start to exit, as a user sees them.
for kind in csv phc; do
    list=$CSV; [ $kind = phc ] && list=$PHC
    /usr/bin/time -f "  whole run, $kind: %e s wall, %U s user, %S s system, peak RSS %M KiB" \
        "$B" scan --hashset "$list" -o /dev/null tests/fixtures 2>&1 | grep whole || true
done

# Two processes with the compiled list at once: the file's pages are shared.
hold() {
    { echo "$FILES"; sleep 3; } | "$B" scan --force --files-from - --hashset "$PHC" -o "$1" &
}
hold "$W/two-a.jsonl"
hold "$W/two-b.jsonl"
sleep 2
for p in $(pgrep -f -- "--hashset $PHC -o $W/two-"); do
    awk -v p="$p" '/^Rss:/ {r=$2} /^Pss_File:/ {f=$2} /^Pss_Anon:/ {a=$2} END {printf "  two scans at once, pid %s: RSS %d MiB, proportional share of file pages %d MiB, own %d MiB\n", p, r/1024, f/1024, a/1024}' /proc/"$p"/smaps_rollup
done
wait
[ $same = yes ]
