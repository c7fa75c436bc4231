#!/usr/bin/env python3
"""Start-to-ready time and idle memory of Ferry, beside moto_server, in one run.

    python3 benches/startup.py [--ferry target/release/ferry] [--runs 5]

For each server: spawn it on a free port with a fresh data dir, poll its
health endpoint every 2 ms until it answers, and report the time from spawn to
the first good answer (median of the runs); then let it idle for a second
and read its resident set size from /proc. moto_server is the peer (pip
package `moto`). Nothing here asserts: it prints a table for the issue note.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def measure(argv_for, url_for, runs: int):
    times, rss = [], []
    for _ in range(runs):
        port, data = free_port(), tempfile.mkdtemp(prefix="ferry-bench-")
        start = time.perf_counter()
        proc = subprocess.Popen(argv_for(port, data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = start + 30
            while time.perf_counter() < deadline:
                try:
                    with urllib.request.urlopen(url_for(port), timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.002)
            else:
                raise SystemExit(f"{argv_for(port, data)[0]} did not become ready")
            times.append(time.perf_counter() - start)
            time.sleep(1.0)
            rss.append(rss_kib(proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(data, ignore_errors=True)
    return statistics.median(times), statistics.median(rss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "ferry"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    rows = []
    ferry = measure(
        lambda p, d: [a.ferry, "serve", "--data-dir", d, "--listen", f"127.0.0.1:{p}",
                      "--sftp-listen", f"127.0.0.1:{free_port()}"],
        lambda p: f"http://127.0.0.1:{p}/_ferry/health", a.runs)
    rows.append(("ferry", *ferry))
    moto = shutil.which("moto_server")
    if moto:
        rows.append(("moto_server", *measure(
            lambda p, d: [moto, "-p", str(p)],
            lambda p: f"http://127.0.0.1:{p}/moto-api/", a.runs)))
    else:
        print("moto_server not found (pip install 'moto[server]'); Ferry only", file=sys.stderr)
    size = os.path.getsize(a.ferry)
    print(f"ferry binary: {a.ferry}, {size / 1e6:.1f} MB")
    print(f"{'server':<12} {'start-to-ready (median)':>24} {'idle RSS (median)':>18}")
    for name, t, r in rows:
        print(f"{name:<12} {t * 1000:>21.0f} ms {r / 1024:>15.1f} MiB")


if __name__ == "__main__":
    main()
