"""Shared pieces of the SQS end-to-end modules: the accounts, names, an
independent implementation of SQS's message-attribute MD5, and small polls.

Fixtures here are imported into each test module (`from sqs_util import
vendor, ...`), so each module keeps its own server and accounts.
"""

from __future__ import annotations

import hashlib
import struct
import time
from typing import Any, Callable, Mapping

import pytest

from util import Creds, unique

NON_EXISTENT = "AWS.SimpleQueueService.NonExistentQueue"


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("vendor"), "pooled"))


@pytest.fixture(scope="module")
def customer(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("customer"), "siloed"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("stranger"), "pooled"))


@pytest.fixture(scope="module")
def vsqs(ferry, vendor):
    return ferry.client("sqs", vendor)


def qname(prefix: str = "q", fifo: bool = False) -> str:
    name = unique(prefix).replace(".", "-")[:75]
    return name + ".fifo" if fifo else name


def account_of(creds: Creds, ferry) -> str:
    return ferry.identity(creds)["Account"]


def md5(data: str | bytes) -> str:
    return hashlib.md5(data.encode() if isinstance(data, str) else data).hexdigest()


def attributes_md5(attrs: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 of message attributes, from the SQS developer guide: for each
    attribute in name order, the name, the data type and the value, each as a
    4-byte big-endian length and its UTF-8 bytes, with a transport byte before
    the value (1 for String and Number, 2 for Binary)."""
    def field(b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + b

    buf = b""
    for name in sorted(attrs):
        a = attrs[name]
        buf += field(name.encode()) + field(a["DataType"].encode())
        if a["DataType"].split(".")[0] == "Binary":
            value = a["BinaryValue"]
            buf += b"\x02" + field(value if isinstance(value, bytes) else bytes(value))
        else:
            buf += b"\x01" + field(a["StringValue"].encode())
    return hashlib.md5(buf).hexdigest()


def queue_attrs(sqs, url: str, *names: str) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"]).get("Attributes", {})


def counts(sqs, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed)."""
    a = queue_attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed")
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))


def poll(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1, desc: str = "condition") -> Any:
    """Call fn until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.1f}s waiting for {desc}; last value: {last!r}")
        time.sleep(interval)


def receive_all(sqs, url: str, **kw: Any) -> list[dict]:
    """Every message one receive returns (up to 10), [] when none."""
    kw.setdefault("MaxNumberOfMessages", 10)
    return sqs.receive_message(QueueUrl=url, **kw).get("Messages", [])
