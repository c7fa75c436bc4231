"""What the side-by-side benchmarks (benches/sqs.py, benches/s3.py) share:
free ports, starting Ferry (fresh data dir, the operator's key from its
operator.json) and moto_server, stopping them, and reading a server's CPU
time and memory from /proc."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid: int, field: str) -> int:
    """A memory line of /proc/PID/status (VmRSS, VmHWM, ...) in KiB; -1 if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def peak_rss_kib(pid: int) -> int:
    return status_kib(pid, "VmHWM")


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


class Server:
    """A started server: its process, endpoint, key and data dir (if any)."""

    def __init__(self, proc, endpoint, creds, data=None):
        self.proc, self.endpoint, self.creds, self.data = proc, endpoint, creds, data

    def env(self) -> dict:
        """The environment for `ferry bench` against this server."""
        key, secret = self.creds
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
        env.pop("AWS_SESSION_TOKEN", None)
        return env

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.data:
            shutil.rmtree(self.data, ignore_errors=True)


def start_ferry(binary: str, prefix: str = "ferry-bench-") -> Server:
    port, data = free_port(), tempfile.mkdtemp(prefix=prefix)
    argv = [binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
            "--sftp-listen", f"127.0.0.1:{free_port()}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/_ferry/health", proc, "ferry")
    with open(os.path.join(data, "operator.json")) as f:
        op = json.load(f)
    creds = (op["access_key_id"], op["secret_access_key"])
    return Server(proc, f"http://127.0.0.1:{port}", creds, data)


def start_moto() -> Server:
    moto = shutil.which("moto_server")
    if not moto:
        raise SystemExit("moto_server not found (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen([moto, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/moto-api/", proc, "moto_server")
    return Server(proc, f"http://127.0.0.1:{port}", ("test", "test"))


def default_ferry() -> str:
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "ferry")


def check_ferry(binary: str) -> None:
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary} is not an executable: build it (cargo build --release -p ferry) or pass --ferry")


def server_names(spec: str) -> list:
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        if n not in ("ferry", "moto"):
            raise SystemExit(f"unknown server {n!r} (ferry, moto)")
    return names
