"""Helpers shared by Ferry's end-to-end tests.

Nothing here knows about a running server except through an endpoint URL:
raw HTTP, SigV4 signing of hand-made requests (to bypass boto3's own
validation), error-code extraction, polling, CloudTrail paging and read-only
SQLite access to the data directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import http.client
import json
import random
import re
import sqlite3
import string
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"
# Audit records are written in batches off the hot path; the contract gives
# them this long to become visible.
AUDIT_WAIT = 5.0

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")

ORG_TARGET = "AWSOrganizationsV20161128"
CLOUDTRAIL_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
JSON_11 = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
STS_VERSION = "2011-06-15"


# --------------------------------------------------------------------------
# credentials and names


@dataclasses.dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    account_id: str | None = None
    session_token: str | None = None

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> "Creds":
        return cls(
            access_key_id=m["access_key_id"],
            secret_access_key=m["secret_access_key"],
            account_id=m.get("account_id"),
        )

    def with_secret(self, secret: str) -> "Creds":
        return dataclasses.replace(self, secret_access_key=secret)

    def __repr__(self) -> str:  # never print secrets in assertion output
        return f"Creds(account_id={self.account_id!r}, access_key_id={self.access_key_id!r})"


def unique(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "e2e") -> str:
    return f"{unique(prefix)}@example.com"


def random_access_key_id(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    return "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


# --------------------------------------------------------------------------
# polling


def wait_for(fn: Callable[[], Any], timeout: float = AUDIT_WAIT, interval: float = 0.2,
             desc: str = "condition") -> Any:
    """Call fn until it returns something truthy; return that. Fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.1f}s waiting for {desc}; last value: {last!r}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# boto3 errors


@contextlib.contextmanager
def client_error(code: str, status: int | None = None):
    """`with client_error("AccessDeniedException", 400) as err: client.op(...)`.

    The block must raise botocore's ClientError with this error code (and HTTP
    status); `err.value.response` is the parsed error response.
    """
    with pytest.raises(ClientError) as excinfo:
        yield excinfo
    resp = excinfo.value.response
    got_code = resp.get("Error", {}).get("Code")
    got_status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
    assert got_code == code, f"expected error code {code}, got {got_code} (HTTP {got_status}): {resp.get('Error')}"
    if status is not None:
        assert got_status == status, f"expected HTTP {status} with {code}, got {got_status}"


# --------------------------------------------------------------------------
# raw HTTP


@dataclasses.dataclass
class RawResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        return error_code_of(self.headers.get("x-amzn-ErrorType"), self.body)

    def __repr__(self) -> str:
        return f"RawResponse(status={self.status}, code={self.error_code!r}, body={self.body[:300]!r})"


def _clean_code(code: str) -> str:
    # "com.amazonaws.foo#Code", "Code:http://internal.amazon.com/...", "aws.protocoltests#Code"
    code = code.split(":", 1)[0]
    return code.rsplit("#", 1)[-1].strip()


def error_code_of(error_type_header: str | None, body: bytes) -> str | None:
    """Error code from an AWS error response in any protocol (JSON 1.x, query XML, REST)."""
    if error_type_header:
        return _clean_code(error_type_header)
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        for key in ("__type", "code", "Code"):
            if isinstance(doc.get(key), str):
                return _clean_code(doc[key])
        err = doc.get("Error")
        if isinstance(err, dict) and isinstance(err.get("Code"), str):
            return err["Code"]
        return None
    m = re.search(r"<Code>([^<]+)</Code>", text)
    return m.group(1).strip() if m else None


def split_endpoint(endpoint: str) -> tuple[str, int]:
    u = urllib.parse.urlsplit(endpoint)
    return u.hostname or "127.0.0.1", u.port or 80


def http_request(endpoint: str, method: str = "GET", path: str = "/", *,
                 headers: Mapping[str, str] | None = None, body: bytes | str = b"",
                 timeout: float = 15.0) -> RawResponse:
    """One HTTP/1.1 request on a fresh connection; never raises on HTTP status."""
    host, port = split_endpoint(endpoint)
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body if (body or method not in ("GET", "HEAD")) else None,
                     headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, resp.headers, data)
    finally:
        conn.close()


def urlopen(url: str, timeout: float = 15.0) -> RawResponse:
    """Plain GET through urllib (what a browser or curl would do); never raises on status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return RawResponse(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, e.headers, e.read())


# --------------------------------------------------------------------------
# SigV4 signing of hand-made requests


def sign(creds: Creds, service: str, method: str, url: str, headers: Mapping[str, str] | None,
         body: bytes, region: str = REGION, when: _dt.datetime | None = None) -> dict[str, str]:
    """Return the headers of a SigV4-signed request (X-Amz-Date, Authorization, ...).

    `when` pretends the clock reads that time (naive = UTC) while signing.
    """
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    auth = botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
        service, region)
    if when is None:
        auth.add_auth(req)
    else:
        if when.tzinfo is not None:
            when = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        if hasattr(botocore.auth, "get_current_datetime"):
            with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
                auth.add_auth(req)
        else:  # older botocore read datetime.datetime.utcnow() directly
            fake = mock.MagicMock(wraps=_dt.datetime)
            fake.utcnow.return_value = when
            with mock.patch.object(botocore.auth.datetime, "datetime", fake):
                auth.add_auth(req)
    return {k: v for k, v in req.headers.items()}


def signed_request(endpoint: str, creds: Creds, service: str, *, method: str = "POST", path: str = "/",
                   headers: Mapping[str, str] | None = None, body: bytes | str = b"",
                   region: str = REGION, when: _dt.datetime | None = None,
                   timeout: float = 15.0) -> RawResponse:
    if isinstance(body, str):
        body = body.encode()
    url = endpoint.rstrip("/") + path
    signed_headers = sign(creds, service, method, url, headers, body, region=region, when=when)
    return http_request(endpoint, method, path, headers=signed_headers, body=body, timeout=timeout)


def json_call(endpoint: str, creds: Creds, service: str, target: str, payload: Any = None, *,
              raw_body: bytes | None = None, **kw: Any) -> RawResponse:
    """A signed AWS JSON 1.1 call (X-Amz-Target). raw_body bypasses json.dumps."""
    body = raw_body if raw_body is not None else json.dumps({} if payload is None else payload).encode()
    headers = {"Content-Type": JSON_11, "X-Amz-Target": target}
    return signed_request(endpoint, creds, service, headers=headers, body=body, **kw)


def query_call(endpoint: str, creds: Creds, service: str, params: Mapping[str, str], **kw: Any) -> RawResponse:
    """A signed AWS query-protocol call (form-encoded POST)."""
    body = urllib.parse.urlencode(params).encode()
    return signed_request(endpoint, creds, service, headers={"Content-Type": FORM}, body=body, **kw)


# --------------------------------------------------------------------------
# CloudTrail


def lookup_all(ct, max_pages: int = 200, **kwargs: Any) -> list[dict]:
    """Every event a LookupEvents query returns, following NextToken."""
    events: list[dict] = []
    token = None
    for _ in range(max_pages):
        args = dict(kwargs)
        args.setdefault("MaxResults", 50)
        if token:
            args["NextToken"] = token
        page = ct.lookup_events(**args)
        events.extend(page.get("Events", []))
        token = page.get("NextToken")
        if not token:
            return events
    pytest.fail(f"LookupEvents did not finish paginating in {max_pages} pages")


def ct_detail(event: Mapping[str, Any]) -> dict:
    """The parsed CloudTrailEvent JSON document of a LookupEvents event."""
    raw = event.get("CloudTrailEvent")
    assert isinstance(raw, str) and raw, f"event without CloudTrailEvent: {event}"
    return json.loads(raw)


def request_ids(events: Iterable[Mapping[str, Any]]) -> set[str]:
    return {ct_detail(e).get("requestID") for e in events}


def wait_for_request_ids(ct, ids: Iterable[str], timeout: float = AUDIT_WAIT, **lookup: Any) -> list[dict]:
    """Poll LookupEvents until every request id shows up; return the final event list."""
    want = set(ids)
    state: dict[str, Any] = {"missing": want, "seen": 0}

    def probe():
        events = lookup_all(ct, **lookup)
        state["missing"] = want - request_ids(events)
        state["seen"] = len(events)
        return events if not state["missing"] else None

    deadline = time.monotonic() + timeout
    while True:
        events = probe()
        if events is not None:
            return events
        if time.monotonic() >= deadline:
            pytest.fail(f"after {timeout:.1f}s, {len(state['missing'])} of {len(want)} request ids are not in "
                        f"the audit trail ({state['seen']} events visible, lookup {lookup}): "
                        f"missing {sorted(state['missing'])}")
        time.sleep(0.2)


# --------------------------------------------------------------------------
# SQLite (read-only) views of the data directory


def sqlite_ro(path: Path) -> sqlite3.Connection:
    assert path.is_file(), f"expected SQLite store at {path}"
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=5.0)


def audit_count(db: Path, account_id: str) -> int:
    conn = sqlite_ro(db)
    try:
        (n,) = conn.execute(
            "SELECT COUNT(*) FROM audit_events WHERE CAST(account_id AS TEXT) = ?", (account_id,)
        ).fetchone()
        return int(n)
    finally:
        conn.close()


def audit_dump(db: Path) -> str:
    """Every audit_events row of a store, as one searchable text blob."""
    conn = sqlite_ro(db)
    try:
        rows = conn.execute("SELECT * FROM audit_events").fetchall()
    finally:
        conn.close()
    out = []
    for row in rows:
        for v in row:
            if isinstance(v, (bytes, bytearray, memoryview)):
                out.append(bytes(v).decode("utf-8", "replace"))
            else:
                out.append(str(v))
    return "\n".join(out)
