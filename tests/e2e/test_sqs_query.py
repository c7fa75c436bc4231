"""SQS over the query protocol, as older SDKs speak it: a real old boto3
(tests/requirements-sqs-query.txt, run through sqs_query_driver.py in its
own venv, found by $FERRY_SQS_QUERY_PYTHON), plus hand-made requests for the
forms no SDK sends (GET, the queue URL as the path, malformed parameters).

The JSON 1.0 side of the same operations is test_sqs.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from util import Creds, query_call, signed_request, unique

DRIVER = Path(__file__).with_name("sqs_query_driver.py")
NS = "http://queue.amazonaws.com/doc/2012-11-05/"
VERSION = "2012-11-05"
NON_EXISTENT = "AWS.SimpleQueueService.NonExistentQueue"


class OldClientError(Exception):
    def __init__(self, error: dict):
        super().__init__(f"{error.get('code')} (HTTP {error.get('status')}): {error.get('message')}")
        self.error = error


class OldSdk:
    """The driver process: one old boto3 for the whole module."""

    def __init__(self, python: str):
        self.proc = subprocess.Popen([python, str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=dict(os.environ))
        assert self.proc.stdout is not None
        hello = self.proc.stdout.readline()
        if not hello:
            raise RuntimeError(f"{DRIVER.name} exited with {self.proc.wait()} before saying hello")
        self.versions = json.loads(hello)

    def call(self, endpoint: str, creds: Creds, op: str, **args: Any) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({
            "endpoint": endpoint, "region": "us-east-1", "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key, "op": op, "args": args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail(f"{DRIVER.name} exited with {self.proc.wait()} during {op}")
        out = json.loads(line)
        if "crash" in out:
            pytest.fail(f"old boto3 failed in {op} (not with a ClientError):\n{out['crash']}")
        if "error" in out:
            raise OldClientError(out["error"])
        return out["ok"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class OldSqs:
    """`old.create_queue(QueueName=...)`, like a boto3 client, through the driver."""

    def __init__(self, sdk: OldSdk, endpoint: str, creds: Creds):
        self._sdk, self._endpoint, self._creds = sdk, endpoint, creds

    def __getattr__(self, op: str):
        return lambda **args: self._sdk.call(self._endpoint, self._creds, op, **args)


@contextlib.contextmanager
def old_error(code: str, status: int):
    """The block must fail with this code and status, as the old SDK parses them."""
    with pytest.raises(OldClientError) as excinfo:
        yield excinfo
    err = excinfo.value.error
    assert (err["code"], err["status"]) == (code, status), f"expected {code} (HTTP {status}), got {err}"
    assert err["type"] == ("Sender" if status < 500 else "Receiver"), err
    assert err["request_id"], err


@pytest.fixture(scope="module")
def old_sdk():
    python = os.environ.get("FERRY_SQS_QUERY_PYTHON")
    if not python:
        pytest.skip("FERRY_SQS_QUERY_PYTHON is not set: scripts/test makes the old-boto3 venv "
                    "(tests/requirements-sqs-query.txt) and sets it")
    sdk = OldSdk(python)
    yield sdk
    sdk.close()


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("vendor"), "pooled"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("stranger"), "siloed"))


@pytest.fixture(scope="module")
def old(ferry, old_sdk, vendor) -> OldSqs:
    return OldSqs(old_sdk, ferry.endpoint, vendor)


def qname(prefix: str = "q") -> str:
    return unique(prefix)[:80]


def account_of(creds: Creds, ferry) -> str:
    return ferry.identity(creds)["Account"]


def test_the_old_sdk_speaks_query(old_sdk, old):
    assert old_sdk.versions["protocol"] == "query", old_sdk.versions
    out = old.list_queues()
    assert out["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "text/xml"


def test_queue_and_message_cycle(ferry, vendor, old):
    name = qname("cycle")
    url = old.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45", "DelaySeconds": "0"})["QueueUrl"]
    assert url == f"{ferry.endpoint}/{account_of(vendor, ferry)}/{name}"
    # idempotent with the same attributes
    assert old.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45", "DelaySeconds": "0"})["QueueUrl"] == url
    assert old.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert old.list_queues(QueueNamePrefix=name)["QueueUrls"] == [url]
    assert "QueueUrls" not in old.list_queues(QueueNamePrefix=qname("none"))

    attrs = old.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["QueueArn"].endswith(f":{name}")
    old.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30", "MaximumMessageSize": "2048"})
    assert old.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "MaximumMessageSize"])[
        "Attributes"] == {"VisibilityTimeout": "30", "MaximumMessageSize": "2048"}

    # XML's own characters, a carriage return and non-ASCII survive the XML
    body = "<order id=\"1\">fish & chips</order>\r\n✓"
    sent = old.send_message(QueueUrl=url, MessageBody=body,
                            MessageAttributes={"color": {"DataType": "String", "StringValue": "blue"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    got = old.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"],
                              MessageAttributeNames=["All"])["Messages"]
    assert len(got) == 1
    m = got[0]
    assert (m["MessageId"], m["Body"], m["MD5OfBody"]) == (sent["MessageId"], body, sent["MD5OfMessageBody"])
    assert m["Attributes"] == {"ApproximateReceiveCount": "1"}
    # in flight, then back in view after a visibility change to 0
    assert "Messages" not in old.receive_message(QueueUrl=url)
    old.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = old.receive_message(QueueUrl=url, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert again[0]["MessageId"] == m["MessageId"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert int(again[0]["Attributes"]["SentTimestamp"]) > 0
    old.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    attrs = old.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")

    old.delete_queue(QueueUrl=url)
    with old_error(NON_EXISTENT, 400):
        old.get_queue_url(QueueName=name)


def test_message_attributes_round_trip(old):
    url = old.create_queue(QueueName=qname("mattr"))["QueueUrl"]
    attrs = {"color": {"DataType": "String", "StringValue": "blue"},
             "blob": {"DataType": "Binary", "BinaryValue": "AAEC"}}
    sent = old.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attrs)
    assert sent.get("MD5OfMessageAttributes")
    m = old.receive_message(QueueUrl=url, MessageAttributeNames=["color"])["Messages"][0]
    assert m["MessageAttributes"] == {"color": {"DataType": "String", "StringValue": "blue"}}


def test_errors_as_the_old_sdk_sees_them(ferry, vendor, old):
    acct = account_of(vendor, ferry)
    missing = f"{ferry.endpoint}/{acct}/{qname('missing')}"
    with old_error(NON_EXISTENT, 400):
        old.send_message(QueueUrl=missing, MessageBody="x")
    with old_error(NON_EXISTENT, 400):
        old.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"])
    with old_error(NON_EXISTENT, 400):
        old.get_queue_url(QueueName=qname("missing"))
    name = qname("taken")
    url = old.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    with old_error("QueueAlreadyExists", 400):
        old.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "11"})
    for bad in ["has space", "a" * 81, "dot.name"]:
        with old_error("InvalidParameterValue", 400):
            old.create_queue(QueueName=bad)
    with old_error("InvalidParameterValue", 400):
        old.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    with old_error("InvalidAttributeName", 400):
        old.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"])
    with old_error("InvalidAttributeValue", 400):
        old.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
    with old_error("ReceiptHandleIsInvalid", 400):
        old.delete_message(QueueUrl=url, ReceiptHandle="garbage")


def test_wrong_account_is_refused(ferry, old_sdk, vendor, stranger, old):
    theirs = OldSqs(old_sdk, ferry.endpoint, stranger)
    name = qname("guarded")
    url = old.create_queue(QueueName=name)["QueueUrl"]
    old.send_message(QueueUrl=url, MessageBody="keep me")
    for op, args in [
        ("get_queue_url", {"QueueName": name, "QueueOwnerAWSAccountId": account_of(vendor, ferry)}),
        ("get_queue_attributes", {"QueueUrl": url, "AttributeNames": ["All"]}),
        ("set_queue_attributes", {"QueueUrl": url, "Attributes": {"VisibilityTimeout": "1"}}),
        ("send_message", {"QueueUrl": url, "MessageBody": "intruder"}),
        ("receive_message", {"QueueUrl": url}),
        ("delete_queue", {"QueueUrl": url}),
    ]:
        with old_error("AccessDenied", 403):
            getattr(theirs, op)(**args)
    assert url not in theirs.list_queues().get("QueueUrls", [])
    msgs = old.receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in msgs] == ["keep me"]


def test_authentication_failures_are_query_errors(ferry, old_sdk, vendor):
    wrong_secret = OldSqs(old_sdk, ferry.endpoint, vendor.with_secret("x" * 40))
    with old_error("SignatureDoesNotMatch", 403):
        wrong_secret.list_queues()
    unknown_key = OldSqs(old_sdk, ferry.endpoint, Creds("AKIAFERRYNOSUCHKEY00", "x" * 40))
    with old_error("InvalidClientTokenId", 403):
        unknown_key.list_queues()


# --------------------------------------------------------------------------
# hand-made query requests (queues set up over JSON with the suite's boto3,
# so these run without the old SDK too)


@pytest.fixture(scope="module")
def vsqs(ferry, vendor):
    return ferry.client("sqs", vendor)


def xml(resp) -> ET.Element:
    assert resp.header("Content-Type") == "text/xml", resp
    return ET.fromstring(resp.body)


def query_error(resp, status: int, code: str) -> ET.Element:
    assert resp.status == status, resp
    doc = xml(resp)
    assert doc.tag == f"{{{NS}}}ErrorResponse", resp
    assert doc.findtext(f"{{{NS}}}Error/{{{NS}}}Type") == "Sender", resp
    assert doc.findtext(f"{{{NS}}}Error/{{{NS}}}Code") == code, resp
    assert doc.findtext(f"{{{NS}}}RequestId") == resp.header("x-amzn-RequestId"), resp
    return doc


def test_the_queue_url_as_the_path(ferry, vendor, vsqs):
    name = qname("path")
    url = vsqs.create_queue(QueueName=name)["QueueUrl"]
    path = urllib.parse.urlsplit(url).path
    r = query_call(ferry.endpoint, vendor, "sqs",
                   {"Action": "SendMessage", "Version": VERSION, "MessageBody": "by path"}, path=path)
    assert r.status == 200, r
    doc = xml(r)
    assert doc.tag == f"{{{NS}}}SendMessageResponse"
    assert doc.findtext(f"{{{NS}}}SendMessageResult/{{{NS}}}MD5OfMessageBody") == hashlib.md5(b"by path").hexdigest()
    assert doc.findtext(f"{{{NS}}}ResponseMetadata/{{{NS}}}RequestId") == r.header("x-amzn-RequestId")
    assert vsqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "by path"
    # a path that names no queue of the caller's
    r = query_call(ferry.endpoint, vendor, "sqs",
                   {"Action": "SendMessage", "Version": VERSION, "MessageBody": "x"},
                   path=f"{path.rsplit('/', 1)[0]}/{qname('absent')}")
    query_error(r, 400, NON_EXISTENT)


def test_get_with_the_query_string(ferry, vendor, vsqs):
    name = qname("get")
    url = vsqs.create_queue(QueueName=name)["QueueUrl"]
    qs = urllib.parse.urlencode({"Action": "GetQueueUrl", "Version": VERSION, "QueueName": name})
    r = signed_request(ferry.endpoint, vendor, "sqs", method="GET", path=f"/?{qs}")
    assert r.status == 200, r
    assert xml(r).findtext(f"{{{NS}}}GetQueueUrlResult/{{{NS}}}QueueUrl") == url


@pytest.mark.parametrize("params,code", [
    ({"Action": "ReceiveMessage", "MaxNumberOfMessages": "ten"}, "InvalidParameterValue"),
    ({"Action": "ReceiveMessage", "WaitTimeSeconds": "1.5"}, "InvalidParameterValue"),
    ({"Action": "ReceiveMessage", "AttributeName.2": "All"}, "InvalidQueryParameter"),
    ({"Action": "ReceiveMessage", "AttributeName.99999999999999999999": "All"}, "InvalidQueryParameter"),
    ({"Action": "ReceiveMessage", "Bogus": "1"}, "InvalidQueryParameter"),
    ({"Action": "SendMessage", "MessageBody": "x", "MessageAttribute.1.Name": "a"}, "MissingParameter"),
    ({"Action": "Frobnicate"}, "InvalidAction"),
])
def test_malformed_requests_are_400s(ferry, vendor, vsqs, params, code):
    url = vsqs.create_queue(QueueName=qname("malformed"))["QueueUrl"]
    query_error(query_call(ferry.endpoint, vendor, "sqs", {"Version": VERSION, "QueueUrl": url, **params}),
                400, code)
