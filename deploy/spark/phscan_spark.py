"""phscan on Apache Spark: one phscan process per partition of a file list.

    spark-submit deploy/spark/phscan_spark.py --phscan BIN --hashset SET \\
        --files-from LIST --output DIR [--partitions N] [--null] [-- PHSCAN-ARGS...]

The driver reads LIST (one path a line, or NUL-separated with --null; relative paths
are made absolute against the driver's directory), splits it into N partitions in
order, and ships the phscan binary and the hash sets to the executors
(SparkContext.addFile). Each task runs `phscan scan --files-from - -0` over its
partition's paths, given on standard input, in the directory SparkFiles holds the
hash sets in (so that every part names them alike), and writes the complete phscan
report to DIR/part-NNNNN.jsonl: written under a name of its own per attempt, renamed
into place only when phscan finished with a summary. A phscan that ends without a
summary (a fatal error: exit 2 with no report, a crash, a kill) fails the task, which
Spark retries (spark.task.maxFailures); a failed attempt leaves no part behind.

When every task is done, the driver checks that each listed path was counted exactly
once (the parts' files_seen add up to the list's length) and writes DIR/summary.json:
the parts' summaries added up (counts summed, elapsed_seconds the longest part's,
exit_code worked out again: 1 if anything matched, else 2 if anything failed, else
0), with `partitions` and `listed`. The job exits 0 when it ran; the scan's outcome
is summary.json's exit_code. `phscan report merge DIR/part-*.jsonl -o REPORT` joins
the parts into one report.

DIR must be reachable under the same path by the driver and every executor (a shared
file system), as must the files listed. RDD.pipe is not used: it ignores the exit
code of the command and, in local mode, runs it in the driver's directory.
"""

import argparse
import json
import os
import stat
import subprocess
import sys

from pyspark import SparkConf, SparkContext, SparkFiles, TaskContext


def parse(argv):
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    else:
        extra = []
    p = argparse.ArgumentParser(
        prog="phscan_spark.py",
        description="Run phscan over a file list on Spark, one process per partition.",
    )
    p.add_argument("--phscan", required=True, help="the phscan binary (shipped to executors)")
    p.add_argument(
        "--hashset",
        required=True,
        action="append",
        help="a hash set or compiled list (shipped to executors); repeatable",
    )
    p.add_argument("--files-from", required=True, help="the paths to scan, one a line")
    p.add_argument("--null", action="store_true", help="LIST is NUL-separated")
    p.add_argument("--output", required=True, help="directory for part-*.jsonl and summary.json")
    p.add_argument(
        "--partitions", type=int, default=None, help="default: Spark's default parallelism"
    )
    args = p.parse_args(argv)
    for flag in ("-o", "--output", "--files-from", "--resume", "--shard", "--hashset"):
        if any(a == flag or a.startswith(flag + "=") for a in extra):
            p.error(f"{flag} after -- is the job's to set")
    return args, extra


def read_list(path, null):
    with open(path, "rb") as f:
        data = f.read()
    sep = b"\0" if null else b"\n"
    paths = []
    for p in data.split(sep):
        if not null and p.endswith(b"\r"):
            p = p[:-1]
        if p:
            # Executors do not run in the driver's directory.
            paths.append(os.path.abspath(p))
    return paths


def add_summaries(summaries):
    """The parts' summaries added up, as `phscan report merge` does."""
    total = {}
    for s in summaries:
        for k, v in s.items():
            if k in ("type", "exit_code"):
                continue
            if k == "elapsed_seconds":
                total[k] = max(total.get(k, 0.0), v)
            elif isinstance(v, bool):
                total[k] = total.get(k, False) or v
            elif isinstance(v, int):
                total[k] = total.get(k, 0) + v
            elif isinstance(v, dict):
                d = total.setdefault(k, {})
                for kk, vv in v.items():
                    d[kk] = d.get(kk, 0) + vv
    if total.get("interrupted"):
        code = 130
    elif total.get("matched", 0) > 0:
        code = 1
    elif sum(total.get("failed", {}).values()) > 0:
        code = 2
    else:
        code = 0
    return {"type": "summary", **total, "exit_code": code}


def last_record(path):
    """The report's last line as a record, or None when it is not a whole one."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - (1 << 20)))
            tail = f.read()
    except OSError:
        return None
    if not tail.endswith(b"\n"):
        return None
    try:
        return json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    except ValueError:
        return None


def scan_partition(binary_name, set_names, out_dir, extra):
    def run(paths):
        paths = list(paths)
        ctx = TaskContext.get()
        part, attempt = ctx.partitionId(), ctx.attemptNumber()
        binary = SparkFiles.get(binary_name)
        mode = os.stat(binary).st_mode
        if not mode & stat.S_IXUSR:
            os.chmod(binary, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        final = os.path.join(out_dir, f"part-{part:05d}.jsonl")
        tmp = os.path.join(out_dir, f".part-{part:05d}.jsonl.attempt-{attempt}-{os.getpid()}")
        cmd = [binary, "scan", "--files-from", "-", "-0", "--progress=never", "-o", tmp]
        for name in set_names:
            cmd += ["--hashset", name]
        cmd += extra
        stdin = b"".join(p + b"\0" for p in paths)
        proc = subprocess.run(
            cmd,
            input=stdin,
            cwd=SparkFiles.getRootDirectory(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        summary = last_record(tmp)
        ok = (
            proc.returncode in (0, 1, 2)
            and summary is not None
            and summary.get("type") == "summary"
            and summary.get("exit_code") == proc.returncode
            and not summary.get("interrupted")
        )
        if not ok:
            for leftover in (tmp, tmp + ".checkpoint"):
                try:
                    os.remove(leftover)
                except OSError:
                    pass
            err = proc.stderr.decode("utf-8", "replace")[-2000:]
            # Failing the task makes Spark retry it.
            raise RuntimeError(
                f"phscan on partition {part} (attempt {attempt}) exited {proc.returncode} "
                f"without a complete report: {err}"
            )
        os.replace(tmp, final)
        yield {"partition": part, "paths": len(paths), "summary": summary}

    return run


def main(argv):
    args, extra = parse(argv)
    out_dir = os.path.abspath(args.output)
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        sys.exit(f"phscan_spark: {out_dir} is not empty: give a new directory")
    os.makedirs(out_dir, exist_ok=True)
    paths = read_list(args.files_from, args.null)
    set_names = [os.path.basename(h) for h in args.hashset]
    if len(set(set_names)) != len(set_names):
        sys.exit("phscan_spark: hash sets must have distinct file names (they are shipped by name)")

    sc = SparkContext.getOrCreate(SparkConf().setAppName("phscan"))
    try:
        sc.addFile(os.path.abspath(args.phscan))
        for h in args.hashset:
            sc.addFile(os.path.abspath(h))
        n = args.partitions or sc.defaultParallelism
        results = (
            sc.parallelize(paths, n)
            .mapPartitions(scan_partition(os.path.basename(args.phscan), set_names, out_dir, extra))
            .collect()
        )
    finally:
        sc.stop()

    results.sort(key=lambda r: r["partition"])
    parts = [r["partition"] for r in results]
    if parts != list(range(n)):
        sys.exit(f"phscan_spark: partitions {parts} came back, expected 0..{n - 1}")
    listed = sum(r["paths"] for r in results)
    summary = add_summaries(r["summary"] for r in results)
    # Every listed path is one entry of exactly one part: counted once.
    if listed != len(paths) or summary.get("files_seen") != len(paths):
        sys.exit(
            f"phscan_spark: {len(paths)} paths listed, {listed} handed out, "
            f"{summary.get('files_seen')} counted"
        )
    summary["partitions"] = n
    summary["listed"] = len(paths)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f)
        f.write("\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
