"""SQS batches (SendMessageBatch, DeleteMessageBatch,
ChangeMessageVisibilityBatch) over AWS JSON 1.0: per-entry results and the
request-level errors the API reference lists."""

import pytest

from sqs_util import attributes_md5, counts, md5, qname, receive_all, vendor, vsqs  # noqa: F401
from util import client_error

EMPTY = "AWS.SimpleQueueService.EmptyBatchRequest"
TOO_MANY = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
NOT_DISTINCT = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
BAD_ID = "AWS.SimpleQueueService.InvalidBatchEntryId"
TOO_LONG = "AWS.SimpleQueueService.BatchRequestTooLong"


def test_send_batch_success_entries_carry_md5s(vsqs):
    url = vsqs.create_queue(QueueName=qname("sendb"))["QueueUrl"]
    attrs = {"kind": {"DataType": "String", "StringValue": "order"},
             "n": {"DataType": "Number", "StringValue": "42"}}
    entries = [
        {"Id": "first", "MessageBody": "one"},
        {"Id": "second-2", "MessageBody": "two ✓", "MessageAttributes": attrs},
        {"Id": "third_3", "MessageBody": "three", "DelaySeconds": 0},
    ]
    out = vsqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert out.get("Failed", []) == []
    ok = {e["Id"]: e for e in out["Successful"]}
    assert set(ok) == {"first", "second-2", "third_3"}
    for e in entries:
        assert ok[e["Id"]]["MD5OfMessageBody"] == md5(e["MessageBody"])
        assert ok[e["Id"]]["MessageId"]
    assert ok["second-2"]["MD5OfMessageAttributes"] == attributes_md5(attrs)
    assert "MD5OfMessageAttributes" not in ok["first"]
    assert len({e["MessageId"] for e in ok.values()}) == 3

    got = receive_all(vsqs, url, MessageAttributeNames=["All"])
    assert {m["MessageId"]: m["Body"] for m in got} == {ok[e["Id"]]["MessageId"]: e["MessageBody"] for e in entries}
    for m in got:
        assert m["MD5OfBody"] == md5(m["Body"])
        if m["Body"] == "two ✓":
            assert m["MessageAttributes"] == attrs
            assert m["MD5OfMessageAttributes"] == attributes_md5(attrs)


def test_send_batch_per_entry_failures(vsqs):
    url = vsqs.create_queue(QueueName=qname("sendf"), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    out = vsqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "fits", "MessageBody": "x" * 1024},
        {"Id": "toolarge", "MessageBody": "x" * 1025},
        {"Id": "nan", "MessageBody": "n",
         "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "not a number"}}},
        {"Id": "fine", "MessageBody": "fine"},
    ])
    assert sorted(e["Id"] for e in out["Successful"]) == ["fine", "fits"]
    failed = {e["Id"]: e for e in out["Failed"]}
    assert set(failed) == {"toolarge", "nan"}
    for f in failed.values():
        assert f["SenderFault"] is True
        assert f["Code"] == "InvalidParameterValue"
        assert f.get("Message")
    assert sorted(m["Body"] for m in receive_all(vsqs, url)) == sorted(["x" * 1024, "fine"])


def test_delete_batch(vsqs):
    url = vsqs.create_queue(QueueName=qname("delb"))["QueueUrl"]
    vsqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(3)])
    got = receive_all(vsqs, url)
    assert len(got) == 3
    out = vsqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"]},
        {"Id": "bad", "ReceiptHandle": "not-a-handle"},
        {"Id": "b", "ReceiptHandle": got[1]["ReceiptHandle"]},
    ])
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "b"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]] == [
        ("bad", "ReceiptHandleIsInvalid", True)]
    # the two are gone, the third is still in flight
    assert counts(vsqs, url) == (0, 1, 0)
    vsqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[2]["ReceiptHandle"], VisibilityTimeout=0)
    assert [m["MessageId"] for m in receive_all(vsqs, url)] == [got[2]["MessageId"]]


def test_change_visibility_batch(vsqs):
    url = vsqs.create_queue(QueueName=qname("visb"))["QueueUrl"]
    vsqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(3)])
    got = receive_all(vsqs, url)
    assert len(got) == 3 and counts(vsqs, url) == (0, 3, 0)
    out = vsqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "zero", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "garbage", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        {"Id": "longer", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 600},
        {"Id": "alsozero", "ReceiptHandle": got[2]["ReceiptHandle"], "VisibilityTimeout": 0},
    ])
    assert sorted(e["Id"] for e in out["Successful"]) == ["alsozero", "longer", "zero"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]] == [
        ("garbage", "ReceiptHandleIsInvalid", True)]
    again = receive_all(vsqs, url)
    assert sorted(m["MessageId"] for m in again) == sorted([got[0]["MessageId"], got[2]["MessageId"]])


def _send(sqs, url, entries):
    return sqs.send_message_batch(QueueUrl=url, Entries=entries)


def _delete(sqs, url, entries):
    return sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": e["Id"], "ReceiptHandle": "h"} for e in entries])


def _visibility(sqs, url, entries):
    return sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": e["Id"], "ReceiptHandle": "h", "VisibilityTimeout": 0} for e in entries])


def _ids(*ids):
    return [{"Id": i, "MessageBody": f"body of {i}"} for i in ids]


@pytest.mark.parametrize("call", [_send, _delete, _visibility], ids=["send", "delete", "visibility"])
@pytest.mark.parametrize("entries,code", [
    ([], EMPTY),
    (_ids(*[f"e{i}" for i in range(11)]), TOO_MANY),
    (_ids("same", "other", "same"), NOT_DISTINCT),
    (_ids("ok", "has space"), BAD_ID),
    (_ids("ok", "dot.id"), BAD_ID),
    (_ids("x" * 81), BAD_ID),
], ids=["empty", "eleven", "duplicate", "space", "dot", "81-chars"])
def test_batch_request_errors(vsqs, call, entries, code):
    url = vsqs.create_queue(QueueName=qname("batcherr"))["QueueUrl"]
    with client_error(code, 400):
        call(vsqs, url, entries)
    assert counts(vsqs, url) == (0, 0, 0)


def test_ten_entries_and_80_character_ids_are_fine(vsqs):
    url = vsqs.create_queue(QueueName=qname("ten"))["QueueUrl"]
    ids = [f"{i}" * 80 for i in range(10)]
    out = vsqs.send_message_batch(QueueUrl=url, Entries=_ids(*ids))
    assert sorted(e["Id"] for e in out["Successful"]) == sorted(ids)
    assert counts(vsqs, url) == (10, 0, 0)


def test_batch_over_one_mib_is_refused_whole(vsqs):
    url = vsqs.create_queue(QueueName=qname("toolong"))["QueueUrl"]
    half = 600 * 1024
    with client_error(TOO_LONG, 400):
        vsqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "a" * half}, {"Id": "b", "MessageBody": "b" * half}])
    assert counts(vsqs, url) == (0, 0, 0)
    # message attributes count toward the batch's size too
    with client_error(TOO_LONG, 400):
        vsqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "a" * (512 * 1024)},
            {"Id": "b", "MessageBody": "b" * (512 * 1024 - 10),
             "MessageAttributes": {"pad": {"DataType": "String", "StringValue": "p" * 100}}}])
    assert counts(vsqs, url) == (0, 0, 0)
    # exactly at the limit is fine
    out = vsqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "a" * (512 * 1024)}, {"Id": "b", "MessageBody": "b" * (512 * 1024)}])
    assert len(out["Successful"]) == 2 and out.get("Failed", []) == []


def test_batches_on_a_missing_queue(ferry, vsqs):
    url = vsqs.create_queue(QueueName=qname("gone"))["QueueUrl"]
    vsqs.delete_queue(QueueUrl=url)
    with client_error("AWS.SimpleQueueService.NonExistentQueue", 400):
        vsqs.send_message_batch(QueueUrl=url, Entries=_ids("a"))
    with client_error("AWS.SimpleQueueService.NonExistentQueue", 400):
        vsqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": "h"}])


def test_change_visibility_batch_entry_errors(vsqs):
    url = vsqs.create_queue(QueueName=qname("visbad"))["QueueUrl"]
    vsqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(2)])
    visible = receive_all(vsqs, url, MaxNumberOfMessages=1, VisibilityTimeout=0)[0]  # back in view at once
    flying = next(m for m in receive_all(vsqs, url) if m["MessageId"] != visible["MessageId"])
    out = vsqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "toolong", "ReceiptHandle": flying["ReceiptHandle"], "VisibilityTimeout": 43201},
        {"Id": "stale", "ReceiptHandle": visible["ReceiptHandle"], "VisibilityTimeout": 10},
        {"Id": "fine", "ReceiptHandle": flying["ReceiptHandle"], "VisibilityTimeout": 0},
    ])
    assert [e["Id"] for e in out["Successful"]] == ["fine"]
    failed = {f["Id"]: f for f in out["Failed"]}
    assert failed["toolong"]["Code"] == "InvalidParameterValue"
    assert failed["stale"]["Code"] in ("AWS.SimpleQueueService.MessageNotInflight", "InvalidParameterValue")
    assert all(f["SenderFault"] for f in failed.values())
