"""SQS queue administration over AWS JSON 1.0: PurgeQueue, tags,
AddPermission/RemovePermission across accounts, and long polling."""

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from sqs_util import account_of, counts, customer, qname, queue_attrs, receive_all, vendor, vsqs  # noqa: F401
from util import client_error

PURGE_IN_PROGRESS = "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_purge_queue(vsqs):
    url = vsqs.create_queue(QueueName=qname("purge"))["QueueUrl"]
    vsqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"m{i}"} for i in range(3)])
    vsqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    (in_flight,) = receive_all(vsqs, url, MaxNumberOfMessages=1)
    assert counts(vsqs, url) == (2, 1, 1)
    vsqs.purge_queue(QueueUrl=url)
    assert counts(vsqs, url) == (0, 0, 0)
    assert receive_all(vsqs, url) == []
    # the handle of a purged message deletes nothing and fails nothing
    vsqs.delete_message(QueueUrl=url, ReceiptHandle=in_flight["ReceiptHandle"])
    # once a minute per queue
    with client_error(PURGE_IN_PROGRESS, 403):
        vsqs.purge_queue(QueueUrl=url)
    other = vsqs.create_queue(QueueName=qname("purge2"))["QueueUrl"]
    vsqs.purge_queue(QueueUrl=other)
    # the queue itself is untouched
    assert queue_attrs(vsqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "30"}
    with client_error("AWS.SimpleQueueService.NonExistentQueue", 400):
        vsqs.purge_queue(QueueUrl=url + "-missing")


def test_tags(vsqs):
    url = vsqs.create_queue(QueueName=qname("tagged"), tags={"team": "billing", "env": "test"})["QueueUrl"]
    assert vsqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "billing", "env": "test"}
    vsqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost-center": "42"})
    assert vsqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "billing", "env": "prod", "cost-center": "42"}
    vsqs.untag_queue(QueueUrl=url, TagKeys=["team", "not-there"])
    assert vsqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "prod", "cost-center": "42"}
    vsqs.untag_queue(QueueUrl=url, TagKeys=["env", "cost-center"])
    assert "Tags" not in vsqs.list_queue_tags(QueueUrl=url)
    # tags are not attributes and do not make CreateQueue conflict
    assert "team" not in queue_attrs(vsqs, url)
    plain = vsqs.create_queue(QueueName=qname("untagged"))["QueueUrl"]
    assert "Tags" not in vsqs.list_queue_tags(QueueUrl=plain)


def test_tag_limits(vsqs):
    url = vsqs.create_queue(QueueName=qname("limits"))["QueueUrl"]
    vsqs.tag_queue(QueueUrl=url, Tags={f"k{i}": str(i) for i in range(50)})
    assert len(vsqs.list_queue_tags(QueueUrl=url)["Tags"]) == 50
    with pytest.raises(ClientError) as err:
        vsqs.tag_queue(QueueUrl=url, Tags={"one-too-many": "x"})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "one-too-many" not in vsqs.list_queue_tags(QueueUrl=url)["Tags"]
    with pytest.raises(ClientError) as err:
        vsqs.create_queue(QueueName=qname("toomany"), tags={f"k{i}": "v" for i in range(51)})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_add_and_remove_permission(ferry, vendor, customer, vsqs):
    csqs = ferry.client("sqs", customer)
    cacct = account_of(customer, ferry)
    url = vsqs.create_queue(QueueName=qname("shared"))["QueueUrl"]
    with client_error("AccessDenied", 403):
        csqs.send_message(QueueUrl=url, MessageBody="before")
    vsqs.add_permission(QueueUrl=url, Label="CustomerSends", AWSAccountIds=[cacct], Actions=["SendMessage"])
    policy = json.loads(queue_attrs(vsqs, url, "Policy")["Policy"])
    (stmt,) = policy["Statement"]
    assert stmt["Sid"] == "CustomerSends" and stmt["Effect"] == "Allow"
    assert stmt["Resource"] == queue_attrs(vsqs, url, "QueueArn")["QueueArn"]
    sent = csqs.send_message(QueueUrl=url, MessageBody="from the customer")
    # only what was granted
    with client_error("AccessDenied", 403):
        csqs.receive_message(QueueUrl=url)
    with client_error("AccessDenied", 403):
        csqs.purge_queue(QueueUrl=url)
    # the same label twice
    with client_error("InvalidParameterValue", 400):
        vsqs.add_permission(QueueUrl=url, Label="CustomerSends", AWSAccountIds=[cacct], Actions=["ReceiveMessage"])
    # owner-only actions cannot be shared
    with client_error("InvalidParameterValue", 400):
        vsqs.add_permission(QueueUrl=url, Label="Nope", AWSAccountIds=[cacct], Actions=["DeleteQueue"])
    # seven actions at most in one statement
    with client_error("OverLimit", 403):
        vsqs.add_permission(QueueUrl=url, Label="Eight", AWSAccountIds=[cacct], Actions=[
            "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
            "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue"])
    vsqs.add_permission(QueueUrl=url, Label="CustomerReads", AWSAccountIds=[cacct],
                        Actions=["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"])
    assert len(json.loads(queue_attrs(vsqs, url, "Policy")["Policy"])["Statement"]) == 2
    (m,) = receive_all(csqs, url)
    assert (m["MessageId"], m["Body"]) == (sent["MessageId"], "from the customer")
    csqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    vsqs.remove_permission(QueueUrl=url, Label="CustomerSends")
    with client_error("AccessDenied", 403):
        csqs.send_message(QueueUrl=url, MessageBody="after")
    assert receive_all(csqs, url) == []  # still allowed to receive
    with client_error("InvalidParameterValue", 400):
        vsqs.remove_permission(QueueUrl=url, Label="CustomerSends")
    with client_error("InvalidParameterValue", 400):
        vsqs.remove_permission(QueueUrl=url, Label="NeverAdded")
    vsqs.remove_permission(QueueUrl=url, Label="CustomerReads")
    with client_error("AccessDenied", 403):
        csqs.receive_message(QueueUrl=url)
    assert "Policy" not in queue_attrs(vsqs, url)
    # the customer cannot grant itself anything
    with client_error("AccessDenied", 403):
        csqs.add_permission(QueueUrl=url, Label="Mine", AWSAccountIds=[cacct], Actions=["*"])
    # a queue without a policy has no label to remove
    with client_error("InvalidParameterValue", 400):
        vsqs.remove_permission(QueueUrl=url, Label="Anything")


def test_permission_for_all_actions(ferry, customer, vsqs):
    csqs = ferry.client("sqs", customer)
    url = vsqs.create_queue(QueueName=qname("star"))["QueueUrl"]
    vsqs.add_permission(QueueUrl=url, Label="All", AWSAccountIds=[account_of(customer, ferry)], Actions=["*"])
    csqs.send_message(QueueUrl=url, MessageBody="m")
    assert len(receive_all(csqs, url)) == 1
    # still not the owner's own actions
    with client_error("AccessDenied", 403):
        csqs.delete_queue(QueueUrl=url)
    with client_error("AccessDenied", 403):
        csqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})


def test_long_poll_returns_a_message_sent_meanwhile(vsqs):
    url = vsqs.create_queue(QueueName=qname("longpoll"))["QueueUrl"]
    sender = threading.Timer(1.0, lambda: vsqs.send_message(QueueUrl=url, MessageBody="worth the wait"))
    started = time.monotonic()
    sender.start()
    try:
        got = receive_all(vsqs, url, WaitTimeSeconds=5)
    finally:
        sender.join()
    took = time.monotonic() - started
    assert [m["Body"] for m in got] == ["worth the wait"]
    assert took < 4.5, f"the long poll held on for {took:.1f}s after the message came"


def test_long_poll_wakes_for_a_batch_too(vsqs):
    url = vsqs.create_queue(QueueName=qname("longbatch"))["QueueUrl"]
    sender = threading.Timer(0.5, lambda: vsqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "batched"}]))
    started = time.monotonic()
    sender.start()
    try:
        got = receive_all(vsqs, url, WaitTimeSeconds=5)
    finally:
        sender.join()
    assert [m["Body"] for m in got] == ["batched"]
    assert time.monotonic() - started < 4.5


def test_empty_long_poll_waits_its_time(vsqs):
    url = vsqs.create_queue(QueueName=qname("empty"))["QueueUrl"]
    started = time.monotonic()
    assert receive_all(vsqs, url, WaitTimeSeconds=1) == []
    assert 0.9 <= time.monotonic() - started < 5
    # the queue's default wait applies when the request gives none
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"ReceiveMessageWaitTimeSeconds": "2"})
    started = time.monotonic()
    assert receive_all(vsqs, url) == []
    assert 1.9 <= time.monotonic() - started < 6
    # and WaitTimeSeconds=0 overrides it
    started = time.monotonic()
    assert receive_all(vsqs, url, WaitTimeSeconds=0) == []
    assert time.monotonic() - started < 1.9  # did not wait the queue's 2 s
    with client_error("InvalidParameterValue", 400):
        vsqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)


def test_owner_only_actions_cannot_be_shared(ferry, vendor, customer, vsqs):
    """A queue policy granting another account sqs:* still gives it none of
    the actions whose reference says "Cross-account permissions don't apply
    to this action"."""
    csqs = ferry.client("sqs", customer)
    url = vsqs.create_queue(QueueName=qname("everything"), tags={"owner": "vendor"})["QueueUrl"]
    arn = queue_attrs(vsqs, url, "QueueArn")["QueueArn"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "CustomerEverything", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_of(customer, ferry)}:root"},
        "Action": "sqs:*", "Resource": arn}]})
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy, "VisibilityTimeout": "40"})
    # shareable actions work
    csqs.send_message(QueueUrl=url, MessageBody="m")
    assert queue_attrs(csqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "40"}
    assert len(receive_all(csqs, url)) == 1
    csqs.purge_queue(QueueUrl=url)
    # owner-only ones do not
    for op in [
        lambda: csqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""}),
        lambda: csqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"}),
        lambda: csqs.add_permission(QueueUrl=url, Label="More", AWSAccountIds=[account_of(customer, ferry)],
                                    Actions=["*"]),
        lambda: csqs.remove_permission(QueueUrl=url, Label="CustomerEverything"),
        lambda: csqs.tag_queue(QueueUrl=url, Tags={"owner": "customer"}),
        lambda: csqs.untag_queue(QueueUrl=url, TagKeys=["owner"]),
        lambda: csqs.list_queue_tags(QueueUrl=url),
        lambda: csqs.delete_queue(QueueUrl=url),
    ]:
        with client_error("AccessDenied", 403):
            op()
    assert json.loads(queue_attrs(vsqs, url, "Policy")["Policy"]) == json.loads(policy)
    assert queue_attrs(vsqs, url, "VisibilityTimeout") == {"VisibilityTimeout": "40"}
    assert vsqs.list_queue_tags(QueueUrl=url)["Tags"] == {"owner": "vendor"}
    # ListQueueTags is not shareable through AddPermission either
    with client_error("InvalidParameterValue", 400):
        vsqs.add_permission(QueueUrl=url, Label="Tags", AWSAccountIds=[account_of(customer, ferry)],
                            Actions=["ListQueueTags"])
