"""Fixtures for Ferry's end-to-end tests: start the built `ferry` binary on free
ports with a fresh data directory and talk to it with boto3, the `aws` CLI and
the `ferry` CLI itself.

Binary: $FERRY_BIN, else $CARGO_TARGET_DIR/debug/ferry, else <repo>/target/debug/ferry.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping

import boto3
import pytest
from botocore.config import Config

from util import REGION, Creds, unique

REPO = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
DEFAULT_TEST_TIMEOUT = 120  # seconds, when pytest-timeout is installed

# One set of empty AWS config files for the whole run, so nothing from the
# machine (profiles, credentials, endpoints, retry settings) leaks into boto3
# or the aws CLI.
_AWS_SANDBOX = Path(tempfile.mkdtemp(prefix="ferry-e2e-aws-"))
_EMPTY_CONFIG = _AWS_SANDBOX / "config"
_EMPTY_CREDENTIALS = _AWS_SANDBOX / "credentials"
_EMPTY_CONFIG.write_text("")
_EMPTY_CREDENTIALS.write_text("")

_ACTIVE: list["Ferry"] = []  # servers whose logs are attached to failing tests
_SESSION: list[boto3.session.Session] = []


def _boto_session() -> boto3.session.Session:
    """One boto3 session for the run (clients share its loaded service models)."""
    if not _SESSION:
        _SESSION.append(boto3.session.Session())
    return _SESSION[0]


def _scrubbed_env() -> dict[str, str]:
    """The environment minus anything AWS_* or FERRY_* from the machine."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("AWS_") or k.startswith("FERRY_"))}
    env["AWS_CONFIG_FILE"] = str(_EMPTY_CONFIG)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(_EMPTY_CREDENTIALS)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.setdefault("RUST_BACKTRACE", "1")
    return env


def pytest_configure(config: pytest.Config) -> None:
    # Known even without pytest-timeout installed (then it is a no-op).
    config.addinivalue_line("markers", "timeout(seconds): per-test time limit (pytest-timeout)")
    # boto3 in this process must not see the machine's AWS settings either.
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[k]
    os.environ["AWS_CONFIG_FILE"] = str(_EMPTY_CONFIG)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(_EMPTY_CREDENTIALS)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for f in list(_ACTIVE):
            rep.sections.append((f"ferry server log ({f.log_path})", f.log_tail()))


# --------------------------------------------------------------------------
# the binary


def ferry_binary_path() -> Path:
    if os.environ.get("FERRY_BIN"):
        return Path(os.environ["FERRY_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        t = Path(target)
        return (t if t.is_absolute() else REPO / t) / "debug" / "ferry"
    return REPO / "target" / "debug" / "ferry"


@pytest.fixture(scope="session")
def ferry_bin() -> Path:
    path = ferry_binary_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"ferry binary not found at {path}: build it (cargo build -p ferry) or set FERRY_BIN",
                    pytrace=False)
    return path


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# a running server


class Ferry:
    """One `ferry serve` process on its own ports and data directory."""

    def __init__(self, binary: Path, workdir: Path):
        self.binary = Path(binary)
        self.workdir = Path(workdir)           # cwd of every process we start
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "ferry-e2e.log"
        self.port, self.sftp_port = _free_ports(2)
        self.proc: subprocess.Popen | None = None
        self._log = None

    # ---- addresses and identity

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def operator_path(self) -> Path:
        return self.data_dir / "operator.json"

    @property
    def operator(self) -> dict:
        return json.loads(self.operator_path.read_text())

    @property
    def operator_creds(self) -> Creds:
        return Creds.from_mapping(self.operator)

    # ---- lifecycle

    def serve_args(self) -> list[str]:
        return [str(self.binary), "serve",
                "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}",
                "--sftp-listen", f"127.0.0.1:{self.sftp_port}"]

    def start(self, timeout: float = HEALTH_TIMEOUT) -> "Ferry":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== e2e: starting {' '.join(self.serve_args())} =====\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.serve_args(), cwd=self.workdir, env=_scrubbed_env(),
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if self not in _ACTIVE:
            _ACTIVE.append(self)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ferry serve exited with {self.proc.returncode} before becoming healthy\n"
                                   f"{self.log_tail()}")
            try:
                status, _ = self.health()
                if status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() >= deadline:
                self.kill9()
                raise RuntimeError(f"ferry serve not healthy after {timeout}s\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; returns the exit code (fails the test if it hangs)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                pytest.fail(f"ferry serve did not exit within {timeout}s of SIGTERM")
        self._close_log()
        return self.proc.returncode

    def kill9(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._close_log()

    def restart(self) -> "Ferry":
        """Stop (SIGTERM) if still running, then start on the same data dir and ports."""
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        return self.start()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, max_bytes: int = 30000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError as e:
            return f"(no log: {e})"
        return data[-max_bytes:].decode("utf-8", "replace")

    # ---- Ferry's own endpoints

    def _get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.endpoint + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def health(self) -> tuple[int, bytes]:
        return self._get("/_ferry/health", timeout=2.0)

    def metrics(self) -> str:
        status, body = self._get("/_ferry/metrics")
        assert status == 200, f"GET /_ferry/metrics -> {status}: {body[:300]!r}"
        return body.decode()

    # ---- clients

    def client(self, service: str, creds: Creds | Mapping[str, str] | None = None,
               region: str = REGION, **config: Any):
        """A boto3 client for this server; creds default to the operator's. No retries."""
        c = self._creds(creds)
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                     connect_timeout=5, read_timeout=30, **config)
        return _boto_session().client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
            aws_session_token=c.session_token, config=cfg)

    def _creds(self, creds: Creds | Mapping[str, str] | None) -> Creds:
        if creds is None:
            return self.operator_creds
        if isinstance(creds, Creds):
            return creds
        return Creds.from_mapping(creds)

    def identity(self, creds: Creds | Mapping[str, str] | None = None, region: str = REGION) -> dict:
        return self.client("sts", creds, region=region).get_caller_identity()

    def _env(self, creds: Creds | Mapping[str, str] | None = None) -> dict[str, str]:
        env = _scrubbed_env()
        env["AWS_DEFAULT_REGION"] = REGION
        env["AWS_REGION"] = REGION
        if creds is not None:
            c = self._creds(creds)
            env["AWS_ACCESS_KEY_ID"] = c.access_key_id
            env["AWS_SECRET_ACCESS_KEY"] = c.secret_access_key
            if c.session_token:
                env["AWS_SESSION_TOKEN"] = c.session_token
        return env

    def cli(self, *args: str, creds: Creds | Mapping[str, str] | None = None,
            timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run the ferry binary (not the server) with these args; creds go to AWS_* env."""
        return subprocess.run([str(self.binary), *map(str, args)], cwd=self.workdir, env=self._env(creds),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    def cli_json(self, *args: str, **kw: Any) -> Any:
        p = self.cli(*args, **kw)
        assert p.returncode == 0, f"ferry {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
        try:
            return json.loads(p.stdout)
        except ValueError:
            pytest.fail(f"ferry {' '.join(args)} did not print JSON on stdout:\n{p.stdout!r}\nstderr: {p.stderr}")

    def aws(self, *args: str, creds: Creds | Mapping[str, str] | None = None,
            timeout: float = 90.0) -> subprocess.CompletedProcess:
        """Run the aws CLI (v1, from this interpreter) against this server, --output json."""
        env = self._env(creds if creds is not None else self.operator_creds)
        env["AWS_MAX_ATTEMPTS"] = "1"
        env["AWS_RETRY_MODE"] = "standard"
        env["AWS_PAGER"] = ""
        cmd = [sys.executable, "-m", "awscli", *map(str, args),
               "--endpoint-url", self.endpoint, "--output", "json"]
        return subprocess.run(cmd, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def aws_json(self, *args: str, **kw: Any) -> Any:
        p = self.aws(*args, **kw)
        assert p.returncode == 0, f"aws {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else {}

    # ---- account management through the ferry CLI

    def mode(self, via: str) -> tuple[list[str], Creds | None]:
        """CLI flags and env creds for the two ways `ferry account ...` reaches the store."""
        if via == "data-dir":
            return ["--data-dir", str(self.data_dir)], None
        if via == "endpoint":
            return ["--endpoint", self.endpoint], self.operator_creds
        raise ValueError(via)

    def create_account(self, name: str | None = None, tier: str = "pooled", via: str = "data-dir") -> dict:
        flags, creds = self.mode(via)
        return self.cli_json("account", "create", name or unique("acct"), "--tier", tier, *flags, creds=creds)

    def list_accounts(self, via: str = "data-dir") -> list[dict]:
        flags, creds = self.mode(via)
        out = self.cli_json("account", "list", *flags, creds=creds)
        assert isinstance(out, list), f"`ferry account list` printed {type(out).__name__}, not a JSON array"
        return out

    def account_key(self, account_id: str, via: str = "data-dir") -> dict:
        flags, creds = self.mode(via)
        return self.cli_json("account", "key", account_id, *flags, creds=creds)


def _start(binary: Path, workdir: Path) -> Ferry:
    f = Ferry(binary, workdir)
    try:
        f.start()
    except Exception:
        f.close()
        raise
    return f


@pytest.fixture(scope="module")
def ferry(ferry_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """A server shared by the tests of one module."""
    f = _start(ferry_bin, tmp_path_factory.mktemp("ferry"))
    yield f
    f.close()


@pytest.fixture
def fresh_ferry(ferry_bin: Path, tmp_path: Path):
    """A server of its own, for tests that stop, kill or restart it."""
    f = _start(ferry_bin, tmp_path)
    yield f
    f.close()


@pytest.fixture(scope="module")
def operator(ferry: Ferry) -> Creds:
    return ferry.operator_creds


@pytest.fixture(scope="module")
def member(ferry: Ferry) -> Creds:
    """A pooled member account's admin keys (made with `ferry account create`)."""
    return Creds.from_mapping(ferry.create_account(unique("member"), "pooled"))
