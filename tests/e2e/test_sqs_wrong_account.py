"""Every SQS operation, called by an account that the queue's owner has not
let in: refused with AccessDenied (403), and nothing changes: messages,
attributes, tags, the policy and a running move task are as they were.

CreateQueue and ListQueues name no queue; the stranger's calls act in its
own account and show nothing of the vendor's.
"""

import json

import pytest

from sqs_util import (account_of, counts, customer, poll, qname, queue_attrs, receive_all,  # noqa: F401
                      stranger, vendor, vsqs)
from util import client_error

WAIT = "ApproximateNumberOfMessages"


@pytest.fixture(scope="module")
def world(ferry, vendor, customer, vsqs):
    """A vendor queue with messages (one in flight), tags, a policy label for
    the customer, a dead-letter queue with messages, and a running move task."""
    w = {}
    dlq = vsqs.create_queue(QueueName=qname("dlq"))["QueueUrl"]
    dlq_arn = queue_attrs(vsqs, dlq, "QueueArn")["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    name = qname("guarded")
    url = vsqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "300",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
                            tags={"owner": "vendor"})["QueueUrl"]
    vsqs.add_permission(QueueUrl=url, Label="CustomerSends", AWSAccountIds=[account_of(customer, ferry)],
                        Actions=["SendMessage"])
    vsqs.send_message(QueueUrl=url, MessageBody="one")
    vsqs.send_message(QueueUrl=url, MessageBody="two")
    (flying,) = receive_all(vsqs, url, MaxNumberOfMessages=1)
    # three dead letters, and a slow move task over them
    feeder = vsqs.create_queue(QueueName=qname("feeder"), Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    vsqs.send_message_batch(QueueUrl=feeder, Entries=[{"Id": f"d{i}", "MessageBody": f"dead {i}"} for i in range(3)])
    assert len(receive_all(vsqs, feeder, VisibilityTimeout=0)) == 3
    poll(lambda: receive_all(vsqs, feeder, VisibilityTimeout=0) == [] and counts(vsqs, dlq)[0] == 3,
         desc="three dead letters")
    task = vsqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    w.update(name=name, url=url, arn=queue_attrs(vsqs, url, "QueueArn")["QueueArn"], dlq=dlq, dlq_arn=dlq_arn,
             feeder=feeder, flying=flying, task=task, owner=account_of(vendor, ferry))
    w["before"] = queue_attrs(vsqs, url)
    w["tags"] = vsqs.list_queue_tags(QueueUrl=url)["Tags"]
    return w


def _operations(w):
    url, handle = w["url"], w["flying"]["ReceiptHandle"]
    return {
        "GetQueueUrl": lambda s: s.get_queue_url(QueueName=w["name"], QueueOwnerAWSAccountId=w["owner"]),
        "DeleteQueue": lambda s: s.delete_queue(QueueUrl=url),
        "GetQueueAttributes": lambda s: s.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        "SetQueueAttributes": lambda s: s.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"}),
        "SendMessage": lambda s: s.send_message(QueueUrl=url, MessageBody="intruder"),
        "SendMessageBatch": lambda s: s.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "intruder"}]),
        "ReceiveMessage": lambda s: s.receive_message(QueueUrl=url, MaxNumberOfMessages=10),
        "DeleteMessage": lambda s: s.delete_message(QueueUrl=url, ReceiptHandle=handle),
        "DeleteMessageBatch": lambda s: s.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": handle}]),
        "ChangeMessageVisibility": lambda s: s.change_message_visibility(
            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0),
        "ChangeMessageVisibilityBatch": lambda s: s.change_message_visibility_batch(
            QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": handle, "VisibilityTimeout": 0}]),
        "PurgeQueue": lambda s: s.purge_queue(QueueUrl=url),
        "TagQueue": lambda s: s.tag_queue(QueueUrl=url, Tags={"owner": "stranger"}),
        "UntagQueue": lambda s: s.untag_queue(QueueUrl=url, TagKeys=["owner"]),
        "ListQueueTags": lambda s: s.list_queue_tags(QueueUrl=url),
        "AddPermission": lambda s: s.add_permission(
            QueueUrl=url, Label="StrangerAll", AWSAccountIds=[w["stranger"]], Actions=["*"]),
        "RemovePermission": lambda s: s.remove_permission(QueueUrl=url, Label="CustomerSends"),
        "ListDeadLetterSourceQueues": lambda s: s.list_dead_letter_source_queues(QueueUrl=w["dlq"]),
        "StartMessageMoveTask": lambda s: s.start_message_move_task(SourceArn=w["dlq_arn"]),
        "ListMessageMoveTasks": lambda s: s.list_message_move_tasks(SourceArn=w["dlq_arn"]),
        "CancelMessageMoveTask": lambda s: s.cancel_message_move_task(TaskHandle=w["task"]),
    }


def test_every_operation_covered(vsqs):
    ops = set(vsqs.meta.service_model.operation_names)
    assert len(ops) == 23
    assert ops - set(_operations({"url": "", "flying": {"ReceiptHandle": ""}})) == {"CreateQueue", "ListQueues"}


def test_stranger_is_refused_everything(ferry, stranger, vsqs, world):
    ssqs = ferry.client("sqs", stranger)
    world["stranger"] = account_of(stranger, ferry)
    refused = []
    for op, call in _operations(world).items():
        with client_error("AccessDenied", 403) as err:
            call(ssqs)
        refused.append(op)
        assert err.value.response["Error"]["Message"], op
    assert len(refused) == 21

    # CreateQueue and ListQueues stay in the stranger's own account
    own = ssqs.create_queue(QueueName=world["name"])["QueueUrl"]
    assert own != world["url"] and f"/{world['stranger']}/" in own
    listed = ssqs.list_queues().get("QueueUrls", [])
    assert world["url"] not in listed and own in listed

    # nothing changed
    assert queue_attrs(vsqs, world["url"]) == world["before"]
    assert vsqs.list_queue_tags(QueueUrl=world["url"])["Tags"] == world["tags"]
    policy = json.loads(world["before"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["CustomerSends"]
    assert counts(vsqs, world["url"]) == (1, 1, 0)
    # the in-flight message's handle is still the vendor's to use
    vsqs.change_message_visibility(QueueUrl=world["url"], ReceiptHandle=world["flying"]["ReceiptHandle"],
                                   VisibilityTimeout=0)
    got = {m["Body"]: m for m in receive_all(vsqs, world["url"], AttributeNames=["ApproximateReceiveCount"])}
    assert sorted(got) == ["one", "two"]
    assert got[world["flying"]["Body"]]["Attributes"]["ApproximateReceiveCount"] == "2"
    # the move task was not cancelled: it finishes its three messages
    (t,) = poll(lambda: [t for t in vsqs.list_message_move_tasks(SourceArn=world["dlq_arn"])["Results"]
                         if t["Status"] != "RUNNING"], desc="the move task to end")
    assert (t["Status"], t["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", 3)
    assert counts(vsqs, world["feeder"])[0] == 3


def test_a_missing_queue_is_not_revealed(ferry, stranger, world):
    ssqs = ferry.client("sqs", stranger)
    missing = world["url"].rsplit("/", 1)[0] + "/" + qname("never")
    with client_error("AccessDenied", 403):
        ssqs.send_message(QueueUrl=missing, MessageBody="x")
    with client_error("AccessDenied", 403):
        ssqs.get_queue_url(QueueName=missing.rsplit("/", 1)[1], QueueOwnerAWSAccountId=world["owner"])
    with client_error("AccessDenied", 403):
        ssqs.list_message_move_tasks(SourceArn=world["arn"] + "-never")


def test_the_customer_gets_only_what_it_was_given(ferry, customer, vsqs, world):
    csqs = ferry.client("sqs", customer)
    csqs.send_message(QueueUrl=world["url"], MessageBody="allowed")
    for op, call in _operations({**world, "stranger": account_of(customer, ferry)}).items():
        if op == "SendMessage":
            continue
        if op == "SendMessageBatch":
            # SendMessage covers its batch version
            assert csqs.send_message_batch(QueueUrl=world["url"], Entries=[
                {"Id": "x", "MessageBody": "batched"}])["Successful"]
            continue
        with client_error("AccessDenied", 403):
            call(csqs)
