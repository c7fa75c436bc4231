"""SQS message attributes and system attributes over AWS JSON 1.0: round
trips, SQS's MD5 of attributes (checked against an independent Python
implementation), selection on receive, the naming and size rules, and the
system attributes a receive returns."""

import time

import pytest

from sqs_util import attributes_md5, md5, qname, receive_all, vendor, vsqs  # noqa: F401
from util import client_error

ATTRS = {
    "color": {"DataType": "String", "StringValue": "blue ✓"},
    "count": {"DataType": "Number", "StringValue": "-12.5e3"},
    "blob": {"DataType": "Binary", "BinaryValue": bytes([0, 1, 2, 255])},
    "order.id": {"DataType": "String.uuid", "StringValue": "3f1c7a0e-0000-4000-8000-000000000001"},
    "order.total": {"DataType": "Number.float", "StringValue": "19.99"},
    "thumb": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG\r\n"},
}
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_known_digest():
    # The digest of one attribute, worked by hand: a guard on the helper itself.
    one = {"a": {"DataType": "String", "StringValue": "b"}}
    assert attributes_md5(one) == md5(b"\x00\x00\x00\x01a\x00\x00\x00\x06String\x01\x00\x00\x00\x01b")


def test_round_trip_and_md5(vsqs):
    url = vsqs.create_queue(QueueName=qname("mattrs"))["QueueUrl"]
    sent = vsqs.send_message(QueueUrl=url, MessageBody="with attributes", MessageAttributes=ATTRS)
    assert sent["MD5OfMessageBody"] == md5("with attributes")
    assert sent["MD5OfMessageAttributes"] == attributes_md5(ATTRS)
    (m,) = receive_all(vsqs, url, MessageAttributeNames=["All"])
    assert m["MessageAttributes"] == ATTRS
    assert m["MD5OfMessageAttributes"] == attributes_md5(ATTRS)
    assert m["MD5OfBody"] == md5("with attributes")


@pytest.mark.parametrize("wanted,names", [
    (["All"], sorted(ATTRS)),
    ([".*"], sorted(ATTRS)),
    (["color"], ["color"]),
    (["color", "blob", "absent"], ["blob", "color"]),
    (["order.*"], ["order.id", "order.total"]),
    (["ord.*"], []),
    (["absent"], []),
    ([], []),
])
def test_selection_on_receive(vsqs, wanted, names):
    url = vsqs.create_queue(QueueName=qname("select"))["QueueUrl"]
    vsqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=ATTRS)
    (m,) = receive_all(vsqs, url, MessageAttributeNames=wanted)
    got = m.get("MessageAttributes", {})
    assert sorted(got) == names
    if names:
        chosen = {n: ATTRS[n] for n in names}
        assert got == chosen
        # the digest covers what was returned
        assert m["MD5OfMessageAttributes"] == attributes_md5(chosen)
    else:
        assert "MD5OfMessageAttributes" not in m


def test_no_attributes_no_digest(vsqs):
    url = vsqs.create_queue(QueueName=qname("plain"))["QueueUrl"]
    sent = vsqs.send_message(QueueUrl=url, MessageBody="plain")
    assert "MD5OfMessageAttributes" not in sent
    assert "MD5OfMessageSystemAttributes" not in sent
    (m,) = receive_all(vsqs, url, MessageAttributeNames=["All"])
    assert "MessageAttributes" not in m and "MD5OfMessageAttributes" not in m


def _string(v="x", t="String"):
    return {"DataType": t, "StringValue": v}


@pytest.mark.parametrize("attrs", [
    {"AWS.reserved": _string()},
    {"aws.lower": _string()},
    {"Amazon.reserved": _string()},
    {"a..b": _string()},
    {".lead": _string()},
    {"trail.": _string()},
    {"has space": _string()},
    {"x" * 257: _string()},
    {f"a{i}": _string() for i in range(11)},
    {"n": _string("not a number", "Number")},
    {"n": _string("1e", "Number.int")},
    {"s": _string("")},
    {"t": _string("x", "Text")},
    {"t": _string("x", "")},
    {"b": {"DataType": "Binary", "StringValue": "no binary value"}},
], ids=["AWS.", "aws.", "Amazon.", "double-dot", "leading-dot", "trailing-dot", "space", "257-chars",
        "eleven", "nan", "nan-custom", "empty-string", "bad-type", "empty-type", "binary-without-bytes"])
def test_invalid_attributes_are_refused(vsqs, attrs):
    url = vsqs.create_queue(QueueName=qname("badattr"))["QueueUrl"]
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attrs)
    assert receive_all(vsqs, url) == []


def test_ten_attributes_are_fine(vsqs):
    url = vsqs.create_queue(QueueName=qname("ten"))["QueueUrl"]
    attrs = {f"a{i}": _string(str(i), "Number") for i in range(10)}
    sent = vsqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attrs)
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attrs)


def test_attributes_count_toward_the_message_size(vsqs):
    url = vsqs.create_queue(QueueName=qname("size"), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    pad = {"pad": _string("p" * 15)}  # 3 + 6 + 15 = 24 bytes
    vsqs.send_message(QueueUrl=url, MessageBody="x" * 1000, MessageAttributes=pad)
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="x" * 1001, MessageAttributes=pad)
    blob = {"b": {"DataType": "Binary", "BinaryValue": b"\x00" * 18}}  # 1 + 6 + 18 = 25 bytes
    vsqs.send_message(QueueUrl=url, MessageBody="x" * 999, MessageAttributes=blob)
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="x" * 1000, MessageAttributes=blob)
    assert len(receive_all(vsqs, url)) == 2


def test_trace_header_system_attribute(vsqs):
    url = vsqs.create_queue(QueueName=qname("trace"))["QueueUrl"]
    system = {"AWSTraceHeader": _string(TRACE)}
    sent = vsqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=system)
    assert sent["MD5OfMessageSystemAttributes"] == attributes_md5(system)
    assert "MD5OfMessageAttributes" not in sent
    (m,) = receive_all(vsqs, url, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert m["Attributes"] == {"AWSTraceHeader": TRACE}
    # not a message attribute
    assert "MessageAttributes" not in m
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="m", MessageSystemAttributes={"Other": _string()})
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="m",
                          MessageSystemAttributes={"AWSTraceHeader": {"DataType": "Binary", "BinaryValue": b"x"}})


def test_trace_header_in_a_batch(vsqs):
    url = vsqs.create_queue(QueueName=qname("tracebatch"))["QueueUrl"]
    system = {"AWSTraceHeader": _string(TRACE)}
    out = vsqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "t", "MessageBody": "traced", "MessageSystemAttributes": system}])
    assert out["Successful"][0]["MD5OfMessageSystemAttributes"] == attributes_md5(system)
    (m,) = receive_all(vsqs, url, AttributeNames=["All"])
    assert m["Attributes"]["AWSTraceHeader"] == TRACE


def test_received_system_attributes(ferry, vendor, vsqs):
    url = vsqs.create_queue(QueueName=qname("sysattrs"))["QueueUrl"]
    before = int(time.time() * 1000)
    sent = vsqs.send_message(QueueUrl=url, MessageBody="m")
    (m,) = receive_all(vsqs, url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0)
    a = m["Attributes"]
    assert m["MessageId"] == sent["MessageId"]
    assert a["SenderId"] == ferry.identity(vendor)["UserId"]
    assert a["ApproximateReceiveCount"] == "1"
    sent_at, first = int(a["SentTimestamp"]), int(a["ApproximateFirstReceiveTimestamp"])
    # epoch milliseconds, around now, first receive not before the send
    assert before - 60_000 <= sent_at <= first <= int(time.time() * 1000) + 60_000
    # a second receive: the count grows, the first receive time stays
    (m2,) = receive_all(vsqs, url, AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"],
                        VisibilityTimeout=0)
    assert m2["Attributes"] == {"ApproximateReceiveCount": "2", "ApproximateFirstReceiveTimestamp": str(first)}
    # only what was asked for, by either parameter
    (m3,) = receive_all(vsqs, url, MessageSystemAttributeNames=["SentTimestamp"], VisibilityTimeout=0)
    assert m3["Attributes"] == {"SentTimestamp": str(sent_at)}
    (m4,) = receive_all(vsqs, url, AttributeNames=["SenderId"], VisibilityTimeout=0)
    assert m4["Attributes"] == {"SenderId": a["SenderId"]}
    (m5,) = receive_all(vsqs, url)
    assert "Attributes" not in m5
