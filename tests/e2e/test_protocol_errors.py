"""Contract 7: unknown operations, malformed and oversized requests.

Requests are hand-made and signed (util.sign) so boto3's own validation does
not get in the way.
"""

import http.client
import select
import socket

from util import (JSON_11, ORG_TARGET, STS_VERSION, error_code_of, json_call, query_call, sign,
                  split_endpoint)

MIB = 1024 * 1024


def test_unknown_json_operation(ferry, operator):
    r = json_call(ferry.endpoint, operator, "organizations", f"{ORG_TARGET}.NoSuchThing", {})
    assert r.status == 400, r
    assert r.error_code == "UnknownOperationException", r


def test_unknown_query_action(ferry, operator):
    r = query_call(ferry.endpoint, operator, "sts", {"Action": "NoSuchThing", "Version": STS_VERSION})
    assert r.status == 400, r
    assert r.error_code == "InvalidAction", r


def test_malformed_json_body(ferry, operator):
    r = json_call(ferry.endpoint, operator, "organizations", f"{ORG_TARGET}.DescribeAccount",
                  raw_body=b'{"AccountId": ')
    assert r.status == 400, r
    assert r.error_code == "SerializationException", r


def test_json_body_of_wrong_shape(ferry, operator):
    r = json_call(ferry.endpoint, operator, "organizations", f"{ORG_TARGET}.DescribeAccount",
                  raw_body=b'["not", "an", "object"]')
    assert 400 <= r.status < 500, r
    assert r.error_code, r


def test_missing_required_parameter(ferry, operator):
    r = json_call(ferry.endpoint, operator, "organizations", f"{ORG_TARGET}.DescribeAccount", {})
    assert r.status == 400, r
    assert r.error_code == "InvalidInputException", r


def send_large(endpoint, headers, body, timeout=30.0):
    """POST a large body; stop sending as soon as the server answers (it may
    refuse before reading it all). Returns (status, headers, body bytes)."""
    host, port = split_endpoint(endpoint)
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) \
            + f"Host: {host}:{port}\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode())
        view, off, chunk = memoryview(body), 0, 64 * 1024
        while off < len(body):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # the server has answered already
            try:
                sock.sendall(view[off:off + chunk])
            except (BrokenPipeError, ConnectionResetError):
                break
            off += chunk
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, resp.headers, resp.read()
    finally:
        sock.close()


def test_oversized_json_body_is_refused_and_server_survives(ferry, operator):
    body = b'{"AccountId": "' + b"1" * (10 * MIB + 4096) + b'"}'
    headers = {"Content-Type": JSON_11, "X-Amz-Target": f"{ORG_TARGET}.DescribeAccount"}
    url = ferry.endpoint + "/"
    signed = sign(operator, "organizations", "POST", url, headers, body)
    signed.pop("Content-Length", None)
    status, resp_headers, resp_body = send_large(ferry.endpoint, signed, body)
    assert status in (413, 400), f"HTTP {status}: {resp_body[:300]!r}"
    assert error_code_of(resp_headers.get("x-amzn-ErrorType"), resp_body), \
        f"no error code in the {status} answer: {resp_body[:300]!r}"
    status, _ = ferry.health()
    assert status == 200
    assert ferry.identity(operator)["Account"] == operator.account_id
