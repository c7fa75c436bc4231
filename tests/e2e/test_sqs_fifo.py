"""SQS FIFO queues over AWS JSON 1.0: creation rules, ordering within a
message group, a group blocked while a message of it is in flight,
deduplication, and the parameters FIFO queues require or refuse."""

import hashlib

import pytest

from sqs_util import counts, customer, qname, queue_attrs, receive_all, vendor, vsqs  # noqa: F401
from util import client_error


@pytest.fixture
def fifo(vsqs):
    return vsqs.create_queue(QueueName=qname("fifo", fifo=True), Attributes={"FifoQueue": "true"})["QueueUrl"]


def _send(sqs, url, body, group="g", dedup=None, **kw):
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                            MessageDeduplicationId=dedup or hashlib.sha1(body.encode()).hexdigest(), **kw)


def test_creation_rules(vsqs):
    name = qname("made", fifo=True)
    url = vsqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert url.endswith("/" + name)
    a = queue_attrs(vsqs, url)
    assert a["FifoQueue"] == "true"
    assert a["ContentBasedDeduplication"] == "false"
    assert a["DeduplicationScope"] == "queue"
    assert a["FifoThroughputLimit"] == "perQueue"
    assert a["QueueArn"].endswith(":" + name)
    # idempotent
    assert vsqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"] == url
    # a standard queue has no FIFO attributes
    std = vsqs.create_queue(QueueName=qname("std"))["QueueUrl"]
    assert "FifoQueue" not in queue_attrs(vsqs, std)
    with client_error("InvalidAttributeName", 400):
        vsqs.get_queue_attributes(QueueUrl=std, AttributeNames=["NoSuchThing"])

    for bad_name, attrs in [
        (qname("noattr", fifo=True), {}),                      # .fifo name needs FifoQueue=true
        (qname("false", fifo=True), {"FifoQueue": "false"}),
        (qname("nosuffix"), {"FifoQueue": "true"}),            # FifoQueue=true needs .fifo
        (".fifo", {"FifoQueue": "true"}),
        ("x" * 76 + ".fifo", {"FifoQueue": "true"}),           # 81 characters with the suffix
    ]:
        with client_error("InvalidParameterValue", 400):
            vsqs.create_queue(QueueName=bad_name, Attributes=attrs)
        assert vsqs.list_queues(QueueNamePrefix=bad_name).get("QueueUrls", []) == []
    # FIFO-only attributes on a standard queue
    with client_error("InvalidAttributeName", 400):
        vsqs.create_queue(QueueName=qname("std"), Attributes={"ContentBasedDeduplication": "true"})
    # FifoQueue cannot be changed afterwards
    with client_error("InvalidAttributeName", 400):
        vsqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})


def test_throughput_attributes_are_accepted(vsqs):
    url = vsqs.create_queue(QueueName=qname("high", fifo=True), Attributes={
        "FifoQueue": "true", "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId"})["QueueUrl"]
    a = queue_attrs(vsqs, url, "DeduplicationScope", "FifoThroughputLimit")
    assert a == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoThroughputLimit": "perQueue"})
    assert queue_attrs(vsqs, url, "FifoThroughputLimit") == {"FifoThroughputLimit": "perQueue"}
    with client_error("InvalidAttributeValue", 400):
        vsqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "everywhere"})
    # with messageGroup scope, one dedup id in two groups is two messages
    a1 = _send(vsqs, url, "a", group="g1", dedup="same")
    a2 = _send(vsqs, url, "b", group="g2", dedup="same")
    assert a1["MessageId"] != a2["MessageId"]
    assert counts(vsqs, url)[0] == 2


def test_order_within_a_group_and_increasing_sequence_numbers(vsqs, fifo):
    sent = [_send(vsqs, fifo, f"m{i}") for i in range(6)]
    seqs = [int(s["SequenceNumber"]) for s in sent]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    assert all(len(s["SequenceNumber"]) <= 128 and s["SequenceNumber"].isdigit() for s in sent)
    got = []
    while len(got) < 6:
        batch = receive_all(vsqs, fifo, MaxNumberOfMessages=4, AttributeNames=["All"])
        assert batch, f"FIFO queue stopped after {len(got)} of 6"
        got += batch
        vsqs.delete_message_batch(QueueUrl=fifo, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(6)]
    assert [m["MessageId"] for m in got] == [s["MessageId"] for s in sent]
    assert [m["Attributes"]["SequenceNumber"] for m in got] == [s["SequenceNumber"] for s in sent]
    assert all(m["Attributes"]["MessageGroupId"] == "g" for m in got)
    assert got[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha1(b"m0").hexdigest()


def test_a_group_in_flight_blocks_only_itself(vsqs, fifo):
    for body, group in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("b2", "B")]:
        _send(vsqs, fifo, body, group=group)
    (first,) = receive_all(vsqs, fifo, MaxNumberOfMessages=1)
    assert first["Body"] == "a1"
    # A has a message in flight: only B's come, in order
    assert [m["Body"] for m in receive_all(vsqs, fifo)] == ["b1", "b2"]
    # both groups in flight now
    assert receive_all(vsqs, fifo) == []
    vsqs.delete_message(QueueUrl=fifo, ReceiptHandle=first["ReceiptHandle"])
    assert [m["Body"] for m in receive_all(vsqs, fifo)] == ["a2", "a3"]


def test_a_message_back_in_view_comes_first_again(vsqs, fifo):
    for i in range(3):
        _send(vsqs, fifo, f"m{i}")
    (m0,) = receive_all(vsqs, fifo, MaxNumberOfMessages=1)
    assert m0["Body"] == "m0"
    vsqs.change_message_visibility(QueueUrl=fifo, ReceiptHandle=m0["ReceiptHandle"], VisibilityTimeout=0)
    got = receive_all(vsqs, fifo, AttributeNames=["ApproximateReceiveCount"])
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_deduplication_id_within_the_window(vsqs, fifo):
    first = _send(vsqs, fifo, "original", dedup="order-17")
    again = _send(vsqs, fifo, "retry with another body", dedup="order-17")
    assert again["MessageId"] == first["MessageId"]
    other = _send(vsqs, fifo, "original", dedup="order-18")
    assert other["MessageId"] != first["MessageId"]
    assert counts(vsqs, fifo) == (2, 0, 0)
    got = receive_all(vsqs, fifo)
    assert [(m["MessageId"], m["Body"]) for m in got] == [
        (first["MessageId"], "original"), (other["MessageId"], "original")]
    # deleting the message does not end the window
    vsqs.delete_message(QueueUrl=fifo, ReceiptHandle=got[0]["ReceiptHandle"])
    assert _send(vsqs, fifo, "later", dedup="order-17")["MessageId"] == first["MessageId"]
    assert counts(vsqs, fifo) == (0, 1, 0)


def test_deduplication_in_a_batch(vsqs, fifo):
    out = vsqs.send_message_batch(QueueUrl=fifo, Entries=[
        {"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "b", "MessageBody": "y", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "c", "MessageBody": "z", "MessageGroupId": "g", "MessageDeduplicationId": "d2"},
    ])
    assert out.get("Failed", []) == []
    ok = {e["Id"]: e for e in out["Successful"]}
    assert ok["a"]["MessageId"] == ok["b"]["MessageId"] != ok["c"]["MessageId"]
    assert int(ok["a"]["SequenceNumber"]) < int(ok["c"]["SequenceNumber"])
    assert [m["Body"] for m in receive_all(vsqs, fifo)] == ["x", "z"]


def test_content_based_deduplication(vsqs):
    url = vsqs.create_queue(QueueName=qname("cbd", fifo=True),
                            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    a = vsqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    b = vsqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    c = vsqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"] != c["MessageId"]
    # an explicit id wins over the content
    d = vsqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g", MessageDeduplicationId="x")
    assert d["MessageId"] not in (a["MessageId"], c["MessageId"])
    assert [m["Body"] for m in receive_all(vsqs, url)] == ["same body", "other body", "same body"]


def test_parameters_fifo_requires_or_refuses(vsqs, fifo):
    with client_error("MissingParameter", 400):
        vsqs.send_message(QueueUrl=fifo, MessageBody="m", MessageDeduplicationId="d")
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=fifo, MessageBody="m", MessageGroupId="g")  # no dedup id, no CBD
    with client_error("InvalidParameterValue", 400):
        _send(vsqs, fifo, "m", DelaySeconds=5)
    with client_error("InvalidParameterValue", 400):
        _send(vsqs, fifo, "m", group="")
    with client_error("InvalidParameterValue", 400):
        _send(vsqs, fifo, "m", group="g" * 129)
    with client_error("InvalidParameterValue", 400):
        _send(vsqs, fifo, "m", dedup="d" * 129)
    # in a batch, each of those fails alone
    out = vsqs.send_message_batch(QueueUrl=fifo, Entries=[
        {"Id": "nogroup", "MessageBody": "m", "MessageDeduplicationId": "d1"},
        {"Id": "ok", "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d2"},
        {"Id": "delay", "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d3",
         "DelaySeconds": 1},
    ])
    assert [e["Id"] for e in out["Successful"]] == ["ok"]
    assert {f["Id"]: f["Code"] for f in out["Failed"]} == {
        "nogroup": "MissingParameter", "delay": "InvalidParameterValue"}
    assert counts(vsqs, fifo) == (1, 0, 0)
    # a dedup id on a standard queue
    std = vsqs.create_queue(QueueName=qname("std"))["QueueUrl"]
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=std, MessageBody="m", MessageDeduplicationId="d")


def test_queue_delay_applies_to_fifo(vsqs):
    url = vsqs.create_queue(QueueName=qname("delayed", fifo=True),
                            Attributes={"FifoQueue": "true", "DelaySeconds": "60"})["QueueUrl"]
    _send(vsqs, url, "later")
    assert receive_all(vsqs, url) == []
    assert counts(vsqs, url) == (0, 0, 1)


def test_fifo_in_a_siloed_account(ferry, customer):
    """The same rules where the account has a store of its own."""
    sqs = ferry.client("sqs", customer)
    url = sqs.create_queue(QueueName=qname("silo", fifo=True), Attributes={"FifoQueue": "true"})["QueueUrl"]
    first = _send(sqs, url, "a1", group="A", dedup="x")
    assert _send(sqs, url, "a1 again", group="A", dedup="x")["MessageId"] == first["MessageId"]
    _send(sqs, url, "a2", group="A")
    _send(sqs, url, "b1", group="B")
    (a1,) = receive_all(sqs, url, MaxNumberOfMessages=1)
    assert a1["Body"] == "a1"
    assert [m["Body"] for m in receive_all(sqs, url)] == ["b1"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    assert [m["Body"] for m in receive_all(sqs, url)] == ["a2"]
