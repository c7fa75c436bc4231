"""Contract 10: robustness against garbage on the HTTP port.

Raw TCP connections carry random bytes, truncated and mutated requests, huge
header lines, invalid methods and bad Content-Length values; then signed calls
carry nonsense parameters. No answer may be a 5xx, no connection may hang, and
the server must still be healthy and serving afterwards. Fixed seed, bounded
number of attempts.
"""

import http.client
import json
import random
import re
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from util import (CLOUDTRAIL_TARGET, FORM, JSON_11, ORG_TARGET, STS_VERSION, json_call, query_call,
                  sign, signed_request, split_endpoint)

SEED = 20240611
HANG_LIMIT = 10.0        # seconds a connection may stay open after we stopped sending
STATUS_RE = re.compile(rb"(?m)^HTTP/1\.[01] (\d{3})")

pytestmark = pytest.mark.timeout(300)


@dataclass
class Outcome:
    name: str
    statuses: list
    hung: bool
    elapsed: float
    head: bytes


def probe(host, port, name, payload):
    """Send payload, half-close, and read until the server closes (or HANG_LIMIT)."""
    start = time.monotonic()
    sock = socket.create_connection((host, port), timeout=5)
    data, hung = b"", False
    try:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server gave up on us early: that is fine
        except socket.timeout:
            pass  # it stopped reading; whether it closes in time is judged below
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sock.settimeout(0.5)
        while True:
            if time.monotonic() - start > HANG_LIMIT:
                hung = True
                break
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    statuses = [int(s) for s in STATUS_RE.findall(data)]
    return Outcome(name, statuses, hung, time.monotonic() - start, data[:200])


# ---------------------------------------------------------------- raw cases


def templates(ferry, operator):
    """A few well-formed requests to truncate and mutate."""
    host = f"127.0.0.1:{ferry.port}"
    out = [f"GET /_ferry/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()]
    body = urllib.parse.urlencode({"Action": "GetCallerIdentity", "Version": STS_VERSION}).encode()
    hdrs = sign(operator, "sts", "POST", ferry.endpoint + "/", {"Content-Type": FORM}, body)
    out.append(raw_request("POST", "/", host, hdrs, body))
    body = json.dumps({"MaxResults": 5}).encode()
    hdrs = sign(operator, "organizations", "POST", ferry.endpoint + "/",
                {"Content-Type": JSON_11, "X-Amz-Target": f"{ORG_TARGET}.ListAccounts"}, body)
    out.append(raw_request("POST", "/", host, hdrs, body))
    return out


def raw_request(method, path, host, headers, body=b"", content_length=True):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() not in ("host", "content-length"))
    if content_length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def raw_cases(rng, ferry, operator):
    host = f"127.0.0.1:{ferry.port}"
    tpl = templates(ferry, operator)
    cases = []

    for i in range(60):
        cases.append((f"random-bytes-{i}", rng.randbytes(rng.randint(1, 4096))))
    for i in range(25):
        line = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ /:?&=%-_.0123456789abcdef") for _ in range(rng.randint(1, 300)))
        cases.append((f"random-line-{i}", line.encode() + b"\r\n\r\n"))

    for i in range(60):
        t = rng.choice(tpl)
        cases.append((f"truncated-{i}", t[:rng.randint(1, len(t) - 1)]))

    for i in range(40):
        t = bytearray(rng.choice(tpl))
        first_line_end = t.index(b"\r\n") + 2  # keep the request line (and its HTTP version) intact
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(first_line_end, len(t))
            t[pos] = rng.randrange(256)
        cases.append((f"mutated-{i}", bytes(t)))

    big = 70 * 1024
    cases += [
        ("huge-header-value", f"GET /_ferry/health HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * big}\r\n\r\n".encode()),
        ("huge-header-name", f"GET / HTTP/1.1\r\nHost: {host}\r\n{'X' * big}: 1\r\n\r\n".encode()),
        ("huge-header-1mib", f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: {'b' * (1024 * 1024)}\r\n\r\n".encode()),
        ("many-headers", (f"GET / HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"X-H{n}: {n}\r\n" for n in range(2000))
                          + "\r\n").encode()),
        ("huge-uri", f"GET /{'u' * big} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()),
        ("huge-query", f"GET /?Action={'q' * big} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()),
        ("huge-authorization", f"POST / HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={'c' * big}\r\nContent-Length: 0\r\n\r\n".encode()),
    ]

    for m in ["FOO", "get", "G ET", "GET\x00", "\x00\x01\x02", "PURGE", "TRACE", "CONNECT", "PROPFIND",
              "M" * 5000, "PO\tST", "DELETE", "PATCH", "OPTIONS", "HEAD"]:
        target = f"127.0.0.1:{ferry.port}" if m == "CONNECT" else "/"
        cases.append((f"method-{m[:12]!r}", f"{m} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode("latin-1")))
    cases.append(("options-star", f"OPTIONS * HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()))

    gci = b"Action=GetCallerIdentity&Version=2011-06-15"
    for name, cl in [("cl-abc", "abc"), ("cl-negative", "-1"), ("cl-huge", "99999999999999999999999"),
                     ("cl-u64max", "18446744073709551615"), ("cl-too-big", "1000"), ("cl-empty", ""),
                     ("cl-space", " 12 3"), ("cl-hex", "0x10"), ("cl-plus", "+5"), ("cl-float", "4.5")]:
        cases.append((name, f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\nContent-Length: {cl}\r\n\r\n".encode() + gci))
    cases += [
        ("cl-conflicting", f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 43\r\n\r\n".encode() + gci),
        ("cl-and-chunked", f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 43\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + gci),
        ("cl-too-small", f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\nContent-Length: 3\r\n\r\n".encode() + gci),
        ("chunked-bad-size", f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".encode()),
        ("chunked-huge-size", f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n".encode()),
        ("chunked-unterminated", f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc".encode()),
        ("te-unknown", f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: gzip, rot13\r\n\r\nabc".encode()),
        ("header-no-colon", f"GET / HTTP/1.1\r\nHost: {host}\r\nNoColonHere\r\n\r\n".encode()),
        ("header-space-before-colon", f"GET / HTTP/1.1\r\nHost : {host}\r\n\r\n".encode()),
        ("header-obs-fold", f"GET / HTTP/1.1\r\nHost: {host}\r\nX-A: 1\r\n  continued\r\n\r\n".encode()),
        ("header-nul", f"GET / HTTP/1.1\r\nHost: {host}\r\nX-A: a\x00b\r\n\r\n".encode()),
        ("header-8bit", b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nX-\xff\xfe: \xc3\x28\r\n\r\n"),
        ("bare-lf", f"GET /_ferry/health HTTP/1.1\nHost: {host}\n\n".encode()),
        ("no-host", b"GET /_ferry/health HTTP/1.1\r\n\r\n"),
        ("empty-lines", b"\r\n\r\n\r\n\r\n"),
        ("http10", b"GET /_ferry/health HTTP/1.0\r\n\r\n"),
    ]

    for i, path in enumerate(["/%", "/%zz", "/%ff%fe", "/../../../../etc/passwd", "/_ferry/../../x", "//", "/_ferry/",
                              "/_ferry/nope", "/_ferry/health/../metrics", "/?" + "&" * 5000, "/?a=%",
                              "/?Action=GetCallerIdentity&Version=2011-06-15", "/?X-Amz-Signature=00&X-Amz-Credential=a%2Fb"]):
        cases.append((f"path-{i}", f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()))

    auths = ["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential=",
             "AWS4-HMAC-SHA256 Credential=AKIA/20200101/us-east-1/sts/aws4_request, SignedHeaders=, Signature=zz",
             f"AWS4-HMAC-SHA256 Credential={operator.access_key_id}/nodate/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00",
             f"AWS4-HMAC-SHA256 Credential={operator.access_key_id}/20200101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
             "AWS4-HMAC-SHA256 Credential=///////, SignedHeaders=;;;;, Signature=",
             "AWS AKIA:sig", "Basic Zm9vOmJhcg==", "Bearer x", "AWS4-ECDSA-P256-SHA256 Credential=x"]
    for i in range(30):
        auth = rng.choice(auths) if i < 20 else "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randint(0, 400)))
        date = rng.choice(["20200101T000000Z", "garbage", "", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), "99999999T999999Z"])
        target = rng.choice(["", f"{ORG_TARGET}.ListAccounts", f"{ORG_TARGET}.", ".", "x" * 3000,
                             f"{CLOUDTRAIL_TARGET}.LookupEvents", "AWSOrganizationsV20161128.💥"])
        body = rng.choice([gci, b"{}", b"", rng.randbytes(64)])
        hdrs = {"Authorization": auth, "X-Amz-Date": date, "Content-Type": rng.choice([FORM, JSON_11, "text/plain"])}
        if target:
            hdrs["X-Amz-Target"] = target
        cases.append((f"bad-auth-{i}", raw_request("POST", "/", host, hdrs, body)))
    return cases


def test_raw_garbage_never_gets_5xx_or_hangs(ferry, operator):
    rng = random.Random(SEED)
    cases = raw_cases(rng, ferry, operator)
    assert 250 <= len(cases) <= 600
    host, port = split_endpoint(ferry.endpoint)
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(lambda c: probe(host, port, *c), cases))

    server_errors = [o for o in outcomes if any(s >= 500 for s in o.statuses)]
    hangs = [o for o in outcomes if o.hung]
    assert ferry.running, "the server died during the fuzz run"
    assert not server_errors, "5xx answers: " + "; ".join(f"{o.name} -> {o.statuses} {o.head!r}" for o in server_errors[:10])
    assert not hangs, "connections left hanging: " + ", ".join(o.name for o in hangs[:20])
    answered = sum(1 for o in outcomes if o.statuses)
    assert answered >= len(cases) // 4, f"only {answered} of {len(cases)} probes got any HTTP answer"
    assert_still_serving(ferry, operator)


# ---------------------------------------------------------------- signed nonsense


WEIRD = [None, True, False, 0, -1, 1, 2 ** 31, 2 ** 63, -(2 ** 63) - 1, 10 ** 30, 1.5, -0.0, 1e308, "", " ",
         "x" * 20000, "\u0000", "💥", "\ud7ff", "%s%n", "' OR 1=1 --", "../../etc/passwd", [], [1, 2], {}, {"a": {}},
         "123456789012", "999999999999", "0" * 12, "AKIA" + "A" * 16, "2020-13-45T99:99:99Z", "NaN"]


def deep(n):
    """JSON nested n levels deep (built as text: json.dumps would hit Python's recursion limit)."""
    return ('{"a":' * n + "{}" + "}" * n).encode()


JSON_OPS = [
    ("organizations", ORG_TARGET, "DescribeAccount", ["AccountId"]),
    ("organizations", ORG_TARGET, "ListAccounts", ["MaxResults", "NextToken"]),
    ("organizations", ORG_TARGET, "DescribeCreateAccountStatus", ["CreateAccountRequestId"]),
    ("organizations", ORG_TARGET, "DescribeOrganization", []),
    ("cloudtrail", CLOUDTRAIL_TARGET, "LookupEvents", ["LookupAttributes", "StartTime", "EndTime", "MaxResults",
                                                       "NextToken", "EventCategory"]),
]


def signed_cases(rng):
    cases = []
    for i in range(120):
        service, prefix, op, fields = rng.choice(JSON_OPS)
        kind = rng.random()
        if kind < 0.7 and fields:
            payload = {f: rng.choice(WEIRD) for f in rng.sample(fields, rng.randint(1, len(fields)))}
            if op == "LookupEvents" and rng.random() < 0.5:
                payload["LookupAttributes"] = [{"AttributeKey": rng.choice(["EventName", "Nope", "", None, 5]),
                                                "AttributeValue": rng.choice(WEIRD)}
                                               for _ in range(rng.randint(0, 3))]
            body = json.dumps(payload).encode()
        elif kind < 0.8:
            body = deep(rng.choice([200, 5000]))
        elif kind < 0.9:
            body = rng.choice([b"", b"null", b"[]", b"1", b'"str"', b"{" * 1000, b'{"a":1,"a":2}', b"\xff\xfe"])
        else:
            body = rng.randbytes(rng.randint(1, 2000))
        cases.append(("json", service, f"{prefix}.{op}", body))
    for i in range(40):
        params = {"Action": rng.choice(["GetCallerIdentity", "", "getcalleridentity", "AssumeRole", "x" * 500, "💥"]),
                  "Version": rng.choice([STS_VERSION, "", "1999-01-01", "💥"])}
        for _ in range(rng.randint(0, 4)):
            params[rng.choice(["RoleArn", "DurationSeconds", "Policy", "💥", "A" * 100])] = str(rng.choice(WEIRD))
        cases.append(("query", "sts", None, params))
    return cases


def test_signed_nonsense_never_gets_5xx(ferry, operator):
    rng = random.Random(SEED + 1)
    failures = []
    for kind, service, target, body in signed_cases(rng):
        try:
            if kind == "json":
                r = json_call(ferry.endpoint, operator, service, target, raw_body=body)
            else:
                r = query_call(ferry.endpoint, operator, service, body)
        except (http.client.HTTPException, OSError) as e:
            failures.append(f"{target or body.get('Action')!r}: no answer ({e!r}) (sent {str(body)[:200]})")
            continue
        if r.status >= 500:
            failures.append(f"{target or body.get('Action')!r}: {r.status} {r.body[:200]!r} (sent {str(body)[:200]})")
        elif r.status >= 400:
            assert r.error_code, f"{r.status} without an error code for {target}: {r.body[:200]!r}"
    assert ferry.running, "the server died during the fuzz run"
    assert not failures, "5xx or missing answers:\n" + "\n".join(failures[:10])
    assert_still_serving(ferry, operator)


def assert_still_serving(ferry, operator):
    status, _ = ferry.health()
    assert status == 200
    assert ferry.identity(operator)["Account"] == operator.account_id
    r = signed_request(ferry.endpoint, operator, "sts", headers={"Content-Type": FORM},
                       body=f"Action=GetCallerIdentity&Version={STS_VERSION}")
    assert r.status == 200, r
