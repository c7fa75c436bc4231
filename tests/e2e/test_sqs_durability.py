"""SQS durability and scale-out: an acknowledged send survives kill -9 while
many sends are in flight (group commit must not acknowledge early); a
received, undeleted message comes back after a crash; two Ferry processes on
one Postgres database share a queue without handing a message to both."""

import subprocess
import threading
import time
import uuid

import pytest

from conftest import Ferry
from util import Creds, unique

pytestmark = pytest.mark.timeout(240)

PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-q", "-c"]


def qname(prefix: str) -> str:
    return unique(prefix).replace(".", "-")[:80]


def test_acknowledged_sends_survive_kill_9(fresh_ferry):
    f = fresh_ferry
    vendor = Creds.from_mapping(f.create_account(unique("dur-sqs"), "pooled"))
    sqs = f.client("sqs", vendor)
    url = sqs.create_queue(QueueName=qname("dur"), Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
    # A message received (in flight) but never deleted: after the crash it
    # must still exist and come back once its window ends.
    sqs.send_message(QueueUrl=url, MessageBody="in-flight")
    held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=2)["Messages"]
    assert [m["Body"] for m in held] == ["in-flight"]

    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(n: int) -> None:
        c = f.client("sqs", vendor)
        i = 0
        while not stop.is_set():
            body = f"w{n}-{i}"
            try:
                if i % 2:
                    c.send_message(QueueUrl=url, MessageBody=body)
                    done = [body]
                else:
                    entries = [{"Id": f"e{k}", "MessageBody": f"{body}-{k}"} for k in range(10)]
                    r = c.send_message_batch(QueueUrl=url, Entries=entries)
                    ok = {s["Id"] for s in r.get("Successful", [])}
                    done = [e["MessageBody"] for e in entries if e["Id"] in ok]
            except Exception:  # the crash: unacknowledged, may or may not be stored
                return
            with lock:
                acked.extend(done)
            i += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 400:
                break
        time.sleep(0.05)
    f.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    with lock:
        acknowledged = set(acked)
    assert len(acknowledged) >= 100, "the senders did not get going before the crash"

    f.start()
    sqs = f.client("sqs", vendor)
    seen: dict[str, int] = {}
    wanted = acknowledged | {"in-flight"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # Long polls: the in-flight message reappears when its 2 s end.
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                WaitTimeSeconds=1)
        msgs = r.get("Messages", [])
        if not msgs:
            if wanted <= set(seen):
                break
            continue
        for m in msgs:
            seen[m["Body"]] = seen.get(m["Body"], 0) + 1
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)])
    lost = acknowledged - set(seen)
    assert not lost, f"{len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:5]}"
    assert "in-flight" in seen, "a received, undeleted message did not come back after the crash"
    dupes = {b: n for b, n in seen.items() if n > 1}
    assert not dupes, f"messages delivered twice after the restart: {dupes}"


class PgFerry(Ferry):
    """A Ferry process on a shared Postgres database."""

    def __init__(self, binary, workdir, store: str):
        super().__init__(binary, workdir)
        self.store = store

    def serve_args(self) -> list[str]:
        return super().serve_args() + ["--store", self.store]


@pytest.fixture
def pg_database():
    name = f"ferry_e2e_{uuid.uuid4().hex[:12]}"
    subprocess.run(PG_ADMIN + [f"CREATE DATABASE {name}"], check=True)
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    subprocess.run(PG_ADMIN + [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=False)


def test_two_processes_share_a_queue_without_double_delivery(ferry_bin, tmp_path, pg_database):
    a = PgFerry(ferry_bin, tmp_path / "a", pg_database)
    b = PgFerry(ferry_bin, tmp_path / "b", pg_database)
    try:
        a.start()
        b.start()
        vendor = Creds.from_mapping(a.create_account(unique("pg-sqs"), "pooled", via="endpoint"))
        url_a = a.client("sqs", vendor).create_queue(QueueName=qname("shared"))["QueueUrl"]
        name = url_a.rsplit("/", 1)[1]
        # The queue made through A is visible through B: one database.
        url_b = b.client("sqs", vendor).get_queue_url(QueueName=name)["QueueUrl"]
        total = 600
        sender = a.client("sqs", vendor)
        for start in range(0, total, 10):
            r = sender.send_message_batch(QueueUrl=url_a, Entries=[
                {"Id": str(k), "MessageBody": f"m{start + k}"} for k in range(10)])
            assert len(r["Successful"]) == 10

        got: list[str] = []
        lock = threading.Lock()
        errors: list[Exception] = []

        def receiver(server: Ferry, url: str) -> None:
            c = server.client("sqs", vendor)
            empty = 0
            try:
                while empty < 2:
                    msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                             VisibilityTimeout=300).get("Messages", [])
                    if not msgs:
                        empty += 1
                        continue
                    empty = 0
                    with lock:
                        got.extend(m["Body"] for m in msgs)
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=receiver, args=(srv, u))
                   for srv, u in [(a, url_a), (b, url_b)] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        counts: dict[str, int] = {}
        for body in got:
            counts[body] = counts.get(body, 0) + 1
        twice = {k: v for k, v in counts.items() if v > 1}
        assert not twice, f"delivered to two receivers inside the visibility window: {twice}"
        assert len(counts) == total, f"received {len(counts)} of {total}"
        attrs = a.client("sqs", vendor).get_queue_attributes(
            QueueUrl=url_a, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == str(total)
    finally:
        a.close()
        b.close()
