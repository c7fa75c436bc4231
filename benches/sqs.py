#!/usr/bin/env python3
"""SQS throughput of Ferry beside moto_server, in one run, by one Rust client.

    python3 benches/sqs.py [--ferry target/release/ferry] [--clients 16] [--batch 10]
                           [--duration 10s] [--warmup 2s] [--no-batch]
                           [--servers ferry,moto]

Starts each server itself on a free port (Ferry with a fresh data dir and the
operator's key from its operator.json; moto_server with any key), runs
`ferry bench sqs --json` against it (N clients looping SendMessageBatch,
ReceiveMessage, DeleteMessageBatch; `--no-batch` for single SendMessage and
DeleteMessage calls), one server after the other with the same parameters,
then prints a Markdown table. The load generator is the Ferry binary itself
(`--ferry`), so build it in release first: `cargo build --release -p ferry`.

Client and server share the machine's cores: the numbers are for the pair,
and the table shows the CPU use of each (100% = one core) so the split can
be seen. Nothing
here asserts; it prints a table for the issue note.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

from benchlib import (check_ferry, cpu_seconds, default_ferry, peak_rss_kib, server_names,
                      start_ferry, start_moto)


def bench(a, name: str, start):
    server = start()
    proc = server.proc
    try:
        argv = [a.ferry, "bench", "sqs", "--endpoint", server.endpoint, "--json",
                "--clients", str(a.clients), "--batch", str(a.batch),
                "--duration", a.duration, "--warmup", a.warmup]
        if a.no_batch:
            argv.append("--no-batch")
        env = server.env()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        out = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
        cpu = (cpu_seconds(proc.pid) - cpu0) / wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall
        rss = peak_rss_kib(proc.pid)
        if out.returncode != 0:
            raise SystemExit(f"ferry bench sqs against {name} failed ({out.returncode})")
        report = json.loads(out.stdout)
        for sample in report["error_samples"]:
            print(f"{name}: error: {sample}", file=sys.stderr)
        return report, rss, cpu, client_cpu
    finally:
        server.stop()


def latency(report, *ops) -> str:
    for o in report["operations"]:
        if o["operation"] in ops:
            return f"{o['p50_ms']:.1f} / {o['p99_ms']:.1f}"
    return "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferry", default=default_ferry(),
                    help="the release ferry binary (server and load generator)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--warmup", default="2s")
    ap.add_argument("--no-batch", action="store_true",
                    help="single SendMessage/DeleteMessage calls (receive still takes --batch)")
    ap.add_argument("--servers", default="ferry,moto", help="comma-separated: ferry, moto")
    a = ap.parse_args()
    check_ferry(a.ferry)
    starters = {"ferry": lambda: start_ferry(a.ferry, "ferry-bench-sqs-"), "moto": start_moto}
    names = server_names(a.servers)
    rows = []
    for n in names:
        print(f"running {n} ...", file=sys.stderr)
        rows.append((n, *bench(a, n, starters[n])))

    mode = "single SendMessage/DeleteMessage" if a.no_batch else "SendMessageBatch/DeleteMessageBatch"
    print(f"\n{a.clients} clients, batch {a.batch} ({mode}), {a.warmup} warmup + {a.duration}; "
          f"load generator: {a.ferry} bench sqs; {os.cpu_count()} cores shared by client and server\n")
    print("| server | send msg/s | receive msg/s | delete msg/s | full-cycle msg/s | requests/s "
          "| send p50/p99 ms | receive p50/p99 ms | delete p50/p99 ms | errors | server CPU | client CPU | server peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r, rss, cpu, client_cpu in rows:
        label = "moto_server" if name == "moto" else "ferry"
        print(f"| {label} | {r['sent_per_sec']:,.0f} | {r['received_per_sec']:,.0f} | {r['deleted_per_sec']:,.0f} "
              f"| {r['full_cycles_per_sec']:,.0f} | {r['requests_per_sec']:,.0f} "
              f"| {latency(r, 'SendMessageBatch', 'SendMessage')} | {latency(r, 'ReceiveMessage')} "
              f"| {latency(r, 'DeleteMessageBatch', 'DeleteMessage')} | {r['errors_total']} "
              f"| {cpu * 100:.0f}% | {client_cpu * 100:.0f}% | {rss / 1024:.0f} MiB |")
    for name, r, *_ in rows:
        if r["errors"]:
            codes = ", ".join(f"{c}: {n}" for c, n in r["errors"].items())
            print(f"\n{name} errors (whole run): {codes}")


if __name__ == "__main__":
    main()
