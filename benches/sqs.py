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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after ")".
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"{what} did not become ready")


def start_ferry(binary: str):
    port, data = free_port(), tempfile.mkdtemp(prefix="ferry-bench-sqs-")
    argv = [binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
            "--sftp-listen", f"127.0.0.1:{free_port()}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/_ferry/health", proc, "ferry")
    with open(os.path.join(data, "operator.json")) as f:
        op = json.load(f)
    creds = (op["access_key_id"], op["secret_access_key"])
    return proc, f"http://127.0.0.1:{port}", creds, data


def start_moto():
    moto = shutil.which("moto_server")
    if not moto:
        raise SystemExit("moto_server not found (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen([moto, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/moto-api/", proc, "moto_server")
    return proc, f"http://127.0.0.1:{port}", ("test", "test"), None


def bench(a, name: str, start):
    proc, endpoint, (key, secret), data = start()
    try:
        argv = [a.ferry, "bench", "sqs", "--endpoint", endpoint, "--json",
                "--clients", str(a.clients), "--batch", str(a.batch),
                "--duration", a.duration, "--warmup", a.warmup]
        if a.no_batch:
            argv.append("--no-batch")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
        env.pop("AWS_SESSION_TOKEN", None)
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
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if data:
            shutil.rmtree(data, ignore_errors=True)


def latency(report, *ops) -> str:
    for o in report["operations"]:
        if o["operation"] in ops:
            return f"{o['p50_ms']:.1f} / {o['p99_ms']:.1f}"
    return "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferry", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "ferry"),
                    help="the release ferry binary (server and load generator)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--warmup", default="2s")
    ap.add_argument("--no-batch", action="store_true",
                    help="single SendMessage/DeleteMessage calls (receive still takes --batch)")
    ap.add_argument("--servers", default="ferry,moto", help="comma-separated: ferry, moto")
    a = ap.parse_args()
    if not os.access(a.ferry, os.X_OK):
        raise SystemExit(f"{a.ferry} is not an executable: build it (cargo build --release -p ferry) or pass --ferry")
    starters = {"ferry": lambda: start_ferry(a.ferry), "moto": start_moto}
    names = [s.strip() for s in a.servers.split(",") if s.strip()]
    for n in names:
        if n not in starters:
            raise SystemExit(f"unknown server {n!r} (ferry, moto)")
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
