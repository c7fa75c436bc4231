"""SQS end to end with the other real clients: the `aws sqs` CLI (v1), and an
old boto3 speaking the query protocol for batches, message attributes, tags,
purge, permissions and dead-letter redrive (run it with
$FERRY_SQS_QUERY_PYTHON, as test_sqs_query.py)."""

import json
import os

import pytest

from sqs_util import account_of, attributes_md5, customer, md5, poll, qname, vendor  # noqa: F401
from test_sqs_query import OldSdk, OldSqs, old_error
from util import Creds

# --------------------------------------------------------------------------
# the aws CLI


def test_aws_cli_end_to_end(ferry, vendor):
    def aws(*args):
        return ferry.aws_json("sqs", *args, "--region", "us-east-1", creds=vendor)

    name = qname("cli")
    url = aws("create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=40,DelaySeconds=0",
              "--tags", "team=cli")["QueueUrl"]
    assert url.endswith(f"/{account_of(vendor, ferry)}/{name}")
    assert aws("get-queue-url", "--queue-name", name)["QueueUrl"] == url
    assert url in aws("list-queues", "--queue-name-prefix", name)["QueueUrls"]

    sent = aws("send-message", "--queue-url", url, "--message-body", "from the cli ✓",
               "--message-attributes", json.dumps({"kind": {"DataType": "String", "StringValue": "cli"}}))
    assert sent["MD5OfMessageBody"] == md5("from the cli ✓")
    assert sent["MD5OfMessageAttributes"] == attributes_md5({"kind": {"DataType": "String", "StringValue": "cli"}})

    batch = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps([
        {"Id": "b1", "MessageBody": "batch one"},
        {"Id": "b2", "MessageBody": "batch two", "DelaySeconds": 0}]))
    assert sorted(e["Id"] for e in batch["Successful"]) == ["b1", "b2"]
    assert {e["Id"]: e["MD5OfMessageBody"] for e in batch["Successful"]} == {
        "b1": md5("batch one"), "b2": md5("batch two")}

    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attrs["VisibilityTimeout"] == "40"
    assert attrs["ApproximateNumberOfMessages"] == "3"
    assert attrs["QueueArn"].endswith(f":{name}")
    only = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "DelaySeconds")["Attributes"]
    assert only == {"DelaySeconds": "0"}

    got = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
              "--message-attribute-names", "All", "--attribute-names", "ApproximateReceiveCount")["Messages"]
    assert sorted(m["Body"] for m in got) == ["batch one", "batch two", "from the cli ✓"]
    first = next(m for m in got if m["MessageId"] == sent["MessageId"])
    assert first["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": "cli"}}
    assert all(m["Attributes"] == {"ApproximateReceiveCount": "1"} for m in got)
    for m in got:
        p = ferry.aws("sqs", "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"],
                      "--region", "us-east-1", creds=vendor)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == ""
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    assert aws("list-queue-tags", "--queue-url", url)["Tags"] == {"team": "cli"}

    # errors come out as the CLI shows them
    p = ferry.aws("sqs", "send-message-batch", "--queue-url", url, "--entries",
                  json.dumps([{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}]),
                  "--region", "us-east-1", creds=vendor)
    assert p.returncode != 0 and "BatchEntryIdsNotDistinct" in p.stderr
    p = ferry.aws("sqs", "delete-message", "--queue-url", url, "--receipt-handle", "garbage",
                  "--region", "us-east-1", creds=vendor)
    assert p.returncode != 0 and "ReceiptHandleIsInvalid" in p.stderr
    p = ferry.aws("sqs", "delete-queue", "--queue-url", url, "--region", "us-east-1", creds=vendor)
    assert p.returncode == 0, p.stderr
    p = ferry.aws("sqs", "get-queue-url", "--queue-name", name, "--region", "us-east-1", creds=vendor)
    assert p.returncode != 0 and "NonExistentQueue" in p.stderr


# --------------------------------------------------------------------------
# the query protocol, with the old SDK


@pytest.fixture(scope="module")
def old_sdk():
    python = os.environ.get("FERRY_SQS_QUERY_PYTHON")
    if not python:
        pytest.skip("FERRY_SQS_QUERY_PYTHON is not set: scripts/test makes the old-boto3 venv "
                    "(tests/requirements-sqs-query.txt) and sets it")
    sdk = OldSdk(python)
    assert sdk.versions["protocol"] == "query", sdk.versions
    yield sdk
    sdk.close()


@pytest.fixture(scope="module")
def old(ferry, old_sdk, vendor) -> OldSqs:
    return OldSqs(old_sdk, ferry.endpoint, vendor)


def test_query_batches(old):
    url = old.create_queue(QueueName=qname("qbatch"), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    attrs = {"color": {"DataType": "String", "StringValue": "blue"},
             "n": {"DataType": "Number.int", "StringValue": "7"}}
    out = old.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "<one> & </one>", "MessageAttributes": attrs},
        {"Id": "big", "MessageBody": "x" * 1025},
        {"Id": "c", "MessageBody": "three"},
    ])
    ok = {e["Id"]: e for e in out["Successful"]}
    assert sorted(ok) == ["a", "c"]
    assert ok["a"]["MD5OfMessageBody"] == md5("<one> & </one>")
    assert ok["a"]["MD5OfMessageAttributes"] == attributes_md5(attrs)
    (failed,) = out["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("big", "InvalidParameterValue", True)

    got = old.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in got) == ["<one> & </one>", "three"]
    a = next(m for m in got if m["Body"] == "<one> & </one>")
    assert a["MessageAttributes"] == attrs
    assert a["MD5OfMessageAttributes"] == attributes_md5(attrs)

    out = old.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "v1", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "v2", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])
    assert [e["Id"] for e in out["Successful"]] == ["v1"]
    assert [(f["Id"], f["Code"]) for f in out["Failed"]] == [("v2", "ReceiptHandleIsInvalid")]
    again = old.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in again] == [got[0]["MessageId"]]

    out = old.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "d1", "ReceiptHandle": again[0]["ReceiptHandle"]},
        {"Id": "d2", "ReceiptHandle": got[1]["ReceiptHandle"]},
        {"Id": "d3", "ReceiptHandle": "garbage"}])
    assert sorted(e["Id"] for e in out["Successful"]) == ["d1", "d2"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in out["Failed"]] == [
        ("d3", "ReceiptHandleIsInvalid", True)]
    attrs = old.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def test_query_batch_errors(old):
    url = old.create_queue(QueueName=qname("qbatcherr"))["QueueUrl"]
    with old_error("AWS.SimpleQueueService.EmptyBatchRequest", 400):
        old.send_message_batch(QueueUrl=url, Entries=[])
    with old_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400):
        old.send_message_batch(QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "m"} for i in range(11)])
    with old_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400):
        old.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": "h"}] * 2)
    with old_error("AWS.SimpleQueueService.InvalidBatchEntryId", 400):
        old.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "no good", "ReceiptHandle": "h", "VisibilityTimeout": 0}])
    with old_error("AWS.SimpleQueueService.BatchRequestTooLong", 400):
        old.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "a" * 600_000}, {"Id": "b", "MessageBody": "b" * 600_000}])
    assert "Messages" not in old.receive_message(QueueUrl=url)


def test_query_binary_and_system_attributes(old):
    url = old.create_queue(QueueName=qname("qbin"))["QueueUrl"]
    # the driver takes JSON, so the bytes go as text (the SDK UTF-8-encodes it)
    text = "".join(chr(i) for i in range(128))
    raw = text.encode()
    attrs = {"blob": {"DataType": "Binary.raw", "BinaryValue": text},
             "s": {"DataType": "String", "StringValue": "x"}}
    trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-00000000-000000000000000000000001"}}
    sent = old.send_message(QueueUrl=url, MessageBody="bin", MessageAttributes=attrs, MessageSystemAttributes=trace)
    attrs["blob"]["BinaryValue"] = raw
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attrs)
    assert sent["MD5OfMessageSystemAttributes"] == attributes_md5(trace)
    m = old.receive_message(QueueUrl=url, MessageAttributeNames=["blob"], AttributeNames=["All"])["Messages"][0]
    # the driver hands bytes back as str(bytes)
    assert m["MessageAttributes"]["blob"]["DataType"] == "Binary.raw"
    assert m["MessageAttributes"]["blob"]["BinaryValue"] == str(raw)
    assert list(m["MessageAttributes"]) == ["blob"]
    assert m["MD5OfMessageAttributes"] == attributes_md5({"blob": attrs["blob"]})
    assert m["Attributes"]["AWSTraceHeader"] == trace["AWSTraceHeader"]["StringValue"]


def test_query_tags_and_purge(old):
    url = old.create_queue(QueueName=qname("qtags"), tags={"team": "query"})["QueueUrl"]
    assert old.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "query"}
    old.tag_queue(QueueUrl=url, Tags={"env": "test", "team": "queries"})
    assert old.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test", "team": "queries"}
    old.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert old.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}
    old.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert "Tags" not in old.list_queue_tags(QueueUrl=url)

    for i in range(3):
        old.send_message(QueueUrl=url, MessageBody=f"m{i}")
    old.purge_queue(QueueUrl=url)
    assert "Messages" not in old.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    with old_error("AWS.SimpleQueueService.PurgeQueueInProgress", 403):
        old.purge_queue(QueueUrl=url)


def test_query_permissions(ferry, old_sdk, customer, old):
    theirs = OldSqs(old_sdk, ferry.endpoint, customer)
    cacct = account_of(customer, ferry)
    url = old.create_queue(QueueName=qname("qperm"))["QueueUrl"]
    with old_error("AccessDenied", 403):
        theirs.send_message(QueueUrl=url, MessageBody="no")
    old.add_permission(QueueUrl=url, Label="Both", AWSAccountIds=[cacct], Actions=["SendMessage", "ReceiveMessage"])
    theirs.send_message(QueueUrl=url, MessageBody="yes")
    assert [m["Body"] for m in theirs.receive_message(QueueUrl=url)["Messages"]] == ["yes"]
    old.remove_permission(QueueUrl=url, Label="Both")
    with old_error("AccessDenied", 403):
        theirs.send_message(QueueUrl=url, MessageBody="no again")
    with old_error("InvalidParameterValue", 400):
        old.remove_permission(QueueUrl=url, Label="Both")


def test_query_dead_letters_and_redrive(old):
    dlq = old.create_queue(QueueName=qname("qdlq"))["QueueUrl"]
    dlq_arn = old.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = old.create_queue(QueueName=qname("qsrc"), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    assert old.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
    old.send_message(QueueUrl=src, MessageBody="poison")
    assert len(old.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"]) == 1
    assert "Messages" not in old.receive_message(QueueUrl=src, VisibilityTimeout=0)
    m = old.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    assert m["Attributes"]["DeadLetterQueueSourceArn"].endswith(src.rsplit("/", 1)[1])
    handle = old.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    t = poll(lambda: [t for t in old.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
                      if t["Status"] == "COMPLETED"], desc="COMPLETED")[0]
    assert t["ApproximateNumberOfMessagesMoved"] == 1
    assert [m["Body"] for m in old.receive_message(QueueUrl=src)["Messages"]] == ["poison"]
    with old_error("ResourceNotFoundException", 404):
        old.cancel_message_move_task(TaskHandle="bm8tc3VjaC10YXNr")


def test_query_wrong_account(ferry, old_sdk, vendor, old):
    stranger_creds = Creds.from_mapping(ferry.create_account(qname("qstranger"), "siloed"))
    theirs = OldSqs(old_sdk, ferry.endpoint, stranger_creds)
    url = old.create_queue(QueueName=qname("qguarded"), tags={"owner": "vendor"})["QueueUrl"]
    old.send_message(QueueUrl=url, MessageBody="keep me")
    handle = "garbage"
    for op, args in [
        ("send_message_batch", {"Entries": [{"Id": "a", "MessageBody": "intruder"}]}),
        ("delete_message_batch", {"Entries": [{"Id": "a", "ReceiptHandle": handle}]}),
        ("change_message_visibility_batch", {"Entries": [{"Id": "a", "ReceiptHandle": handle,
                                                          "VisibilityTimeout": 0}]}),
        ("purge_queue", {}),
        ("tag_queue", {"Tags": {"owner": "stranger"}}),
        ("untag_queue", {"TagKeys": ["owner"]}),
        ("list_queue_tags", {}),
        ("add_permission", {"Label": "Mine", "AWSAccountIds": [account_of(stranger_creds, ferry)],
                            "Actions": ["*"]}),
        ("remove_permission", {"Label": "Any"}),
        ("list_dead_letter_source_queues", {}),
    ]:
        with old_error("AccessDenied", 403):
            getattr(theirs, op)(QueueUrl=url, **args)
    assert old.list_queue_tags(QueueUrl=url)["Tags"] == {"owner": "vendor"}
    assert [m["Body"] for m in old.receive_message(QueueUrl=url)["Messages"]] == ["keep me"]
    assert "Policy" not in old.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
