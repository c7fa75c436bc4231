#!/usr/bin/env python3
"""S3 throughput of Ferry beside moto_server, in one run, by one Rust client.

    python3 benches/s3.py [--ferry target/release/ferry] [--clients 16] [--size 4KiB]
                          [--duration 10s] [--warmup 2s] [--big 1GiB] [--moto-big SIZE]
                          [--servers ferry,moto]

Starts each server itself on a free port (Ferry with a fresh data dir and the
operator's key from its operator.json; moto_server with any key), runs
`ferry bench s3 --json` against it, one server after the other with the same
parameters: a fresh bucket; N clients PUT distinct --size objects for a
warmup and a measured window; N clients GET random ones of those for a
warmup and a window; then one --big object is PUT (streamed) and GET (read
and discarded) on one connection. Then prints a Markdown table. The load
generator is the Ferry binary itself (`--ferry`), so build it in release
first: `cargo build --release -p ferry`.

While the generator runs, the server's VmRSS is sampled from /proc every
20 ms and kept per phase (the generator announces its phases on stderr):
"peak RSS, big" is the highest sample during the big PUT and GET, beside
the RSS just before them. Client and server share the machine's cores: the
table shows the CPU use of each (100% = one core) during the small-object
phases. Nothing here asserts; it prints a table for the issue note.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

from benchlib import (check_ferry, cpu_seconds, default_ferry, peak_rss_kib, server_names,
                      start_ferry, start_moto, status_kib)

PHASE = "ferry bench s3: phase "
SAMPLE_SECS = 0.02


class Watch:
    """Follows the generator's phases (from its stderr) and samples the
    server's RSS and CPU per phase."""

    def __init__(self, pid: int, client: int, stderr, name: str):
        self.pid, self.client, self.name = pid, client, name
        self.phase = "setup"
        self.peak = {}  # phase -> max VmRSS KiB
        # phase -> (monotonic, server CPU seconds, server VmRSS KiB, client CPU seconds) at its start
        self.marks = {}
        self.done = threading.Event()
        self.reader = threading.Thread(target=self._read, args=(stderr,), daemon=True)
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.reader.start()
        self.sampler.start()

    def _read(self, stderr) -> None:
        for line in stderr:
            if line.startswith(PHASE):
                phase = line[len(PHASE):].strip()
                self.marks[phase] = (time.monotonic(), cpu_seconds(self.pid), status_kib(self.pid, "VmRSS"),
                                     cpu_seconds(self.client))
                self.phase = phase
            else:
                print(f"{self.name}: {line}", end="", file=sys.stderr)

    def _sample(self) -> None:
        while not self.done.is_set():
            rss = status_kib(self.pid, "VmRSS")
            phase = self.phase
            self.peak[phase] = max(self.peak.get(phase, 0), rss)
            time.sleep(SAMPLE_SECS)

    def stop(self) -> None:
        self.done.set()
        self.sampler.join()
        self.reader.join(timeout=5)


def bench(a, name: str, start, big: str):
    server = start()
    proc = server.proc
    try:
        argv = [a.ferry, "bench", "s3", "--endpoint", server.endpoint, "--json",
                "--clients", str(a.clients), "--size", a.size, "--big", big,
                "--duration", a.duration, "--warmup", a.warmup]
        gen = subprocess.Popen(argv, env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watch = Watch(proc.pid, gen.pid, gen.stderr, name)
        out = gen.stdout.read()
        gen.wait()
        watch.stop()
        hwm = peak_rss_kib(proc.pid)
        if gen.returncode != 0:
            raise SystemExit(f"ferry bench s3 against {name} failed ({gen.returncode})")
        report = json.loads(out)
        for sample in report["error_samples"]:
            print(f"{name}: error: {sample}", file=sys.stderr)
        # CPU over the small-object phases (PUT and GET with their warmups).
        small_start = watch.marks.get("put")
        small_end = watch.marks.get("big-put") or watch.marks.get("done")
        cpu = client_cpu = None
        if small_start and small_end:
            wall = small_end[0] - small_start[0]
            cpu = (small_end[1] - small_start[1]) / wall
            client_cpu = (small_end[3] - small_start[3]) / wall
        big_peak = max((watch.peak.get(p, 0) for p in ("big-put", "big-get")), default=0)
        big_before = watch.marks["big-put"][2] if "big-put" in watch.marks else None
        return dict(report=report, cpu=cpu, client_cpu=client_cpu, big_peak=big_peak,
                    big_before=big_before, hwm=hwm, big=big)
    finally:
        server.stop()


def ms(phase) -> str:
    return f"{phase['p50_ms']:.1f} / {phase['p99_ms']:.1f}"


def mib(kib) -> str:
    return "-" if kib is None or kib <= 0 else f"{kib / 1024:,.0f} MiB"


def pct(x) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferry", default=default_ferry(), help="the release ferry binary (server and load generator)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--size", default="4KiB", help="bytes per small object")
    ap.add_argument("--duration", default="10s", help="measured window of each small-object phase")
    ap.add_argument("--warmup", default="2s")
    ap.add_argument("--big", default="1GiB", help="the big object (0 skips it)")
    ap.add_argument("--moto-big", default=None, help="the big object for moto_server (default: --big)")
    ap.add_argument("--servers", default="ferry,moto", help="comma-separated: ferry, moto")
    a = ap.parse_args()
    check_ferry(a.ferry)
    starters = {"ferry": lambda: start_ferry(a.ferry, "ferry-bench-s3-"), "moto": start_moto}
    bigs = {"ferry": a.big, "moto": a.moto_big or a.big}
    rows = []
    for n in server_names(a.servers):
        print(f"running {n} ...", file=sys.stderr)
        rows.append((n, bench(a, n, starters[n], bigs[n])))

    print(f"\n{a.clients} clients, {a.size} objects, {a.warmup} warmup + {a.duration} per phase; "
          f"big object {a.big}, one connection; load generator: {a.ferry} bench s3; "
          f"{os.cpu_count()} cores shared by client and server\n")
    print(f"| server | PUT {a.size} ops/s | PUT p50/p99 ms | GET {a.size} ops/s | GET p50/p99 ms "
          f"| {a.big} PUT MB/s | {a.big} GET MB/s | errors | server RSS before big | server peak RSS during big "
          f"| server CPU (small phases) | client CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        rep = r["report"]
        label = "moto_server" if name == "moto" else "ferry"
        b = rep.get("big")
        if b:
            note = "" if r["big"] == a.big else f" ({r['big']})"
            put = f"{b['put_mb_per_sec']:,.1f}{note}" if b["put_ok"] else f"failed{note}"
            get = f"{b['get_mb_per_sec']:,.1f}{note}" if b["get_ok"] else f"failed{note}"
        else:
            put = get = "-"
        print(f"| {label} | {rep['put']['ops_per_sec']:,.0f} | {ms(rep['put'])} "
              f"| {rep['get']['ops_per_sec']:,.0f} | {ms(rep['get'])} | {put} | {get} | {rep['errors_total']} "
              f"| {mib(r['big_before'])} | {mib(r['big_peak'])} | {pct(r['cpu'])} | {pct(r['client_cpu'])} |")
    for name, r in rows:
        rep = r["report"]
        if rep["errors"]:
            codes = ", ".join(f"{c}: {n}" for c, n in rep["errors"].items())
            print(f"\n{name} errors (whole run): {codes}")
        line = f"\n{name}: server peak RSS over the whole run (VmHWM) {mib(r['hwm'])}"
        if rep.get("big"):
            line += f"; big PUT {rep['big']['put_secs']:.2f} s, GET {rep['big']['get_secs']:.2f} s"
        print(line)


if __name__ == "__main__":
    main()
