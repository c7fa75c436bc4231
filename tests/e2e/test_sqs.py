"""SQS, first slice: standard queues over AWS JSON 1.0, queue policies across accounts."""

import hashlib
import json

import pytest

from util import Creds, client_error, ct_detail, unique, wait_for_request_ids

NON_EXISTENT = "AWS.SimpleQueueService.NonExistentQueue"


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("vendor"), "pooled"))


@pytest.fixture(scope="module")
def customer(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("customer"), "siloed"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("stranger"), "pooled"))


@pytest.fixture(scope="module")
def vsqs(ferry, vendor):
    return ferry.client("sqs", vendor)


def qname(prefix: str = "q") -> str:
    return unique(prefix).replace(".", "-")[:80]


def account_of(creds: Creds, ferry) -> str:
    return ferry.identity(creds)["Account"]


def test_create_get_list_send_receive_delete(ferry, vendor, vsqs):
    name = qname("cycle")
    url = vsqs.create_queue(QueueName=name)["QueueUrl"]
    acct = account_of(vendor, ferry)
    assert url == f"{ferry.endpoint}/{acct}/{name}"
    # idempotent with equal attributes
    assert vsqs.create_queue(QueueName=name)["QueueUrl"] == url
    assert vsqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in vsqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])

    body = "hello, queue ✓"
    sent = vsqs.send_message(QueueUrl=url, MessageBody=body)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    got = vsqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                               MessageSystemAttributeNames=["All"])["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == body
    assert m["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(m["Attributes"]["SentTimestamp"]) > 0
    assert int(m["Attributes"]["ApproximateFirstReceiveTimestamp"]) > 0
    # in flight: not received again
    assert vsqs.receive_message(QueueUrl=url).get("Messages", []) == []
    attrs = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    # back in view after a visibility change to 0
    vsqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = vsqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"],
                                 WaitTimeSeconds=1)["Messages"]
    assert again[0]["MessageId"] == m["MessageId"]
    assert again[0]["Attributes"] == {"ApproximateReceiveCount": "2"}
    assert again[0]["ReceiptHandle"] != m["ReceiptHandle"]
    vsqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    attrs = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"

    vsqs.delete_queue(QueueUrl=url)
    with client_error(NON_EXISTENT, 400):
        vsqs.get_queue_url(QueueName=name)
    assert url not in vsqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])


def test_list_queues_paginates(vsqs):
    prefix = qname("page")
    urls = [vsqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)]
    first = vsqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert first["QueueUrls"] == urls[:2] and first["NextToken"]
    seen = list(first["QueueUrls"])
    token = first["NextToken"]
    while token:
        page = vsqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=token)
        seen += page.get("QueueUrls", [])
        token = page.get("NextToken")
    assert seen == urls


def test_attributes(ferry, vendor, vsqs):
    name = qname("attrs")
    url = vsqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60", "DelaySeconds": "5"})["QueueUrl"]
    a = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    acct = account_of(vendor, ferry)
    assert a["VisibilityTimeout"] == "60"
    assert a["DelaySeconds"] == "5"
    assert a["MaximumMessageSize"] == "1048576"
    assert a["MessageRetentionPeriod"] == "345600"
    assert a["ReceiveMessageWaitTimeSeconds"] == "0"
    assert a["QueueArn"] == f"arn:aws:sqs:us-east-1:{acct}:{name}"
    assert int(a["CreatedTimestamp"]) > 0
    only = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    assert only == {"QueueArn": a["QueueArn"]}
    # same name, other attributes
    with client_error("QueueAlreadyExists", 400):
        vsqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "61"})
    with client_error("QueueAlreadyExists", 400):
        vsqs.create_queue(QueueName=name)
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "10"})
    a = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "DelaySeconds"])["Attributes"]
    assert a == {"VisibilityTimeout": "10", "DelaySeconds": "5"}
    # delayed message is not visible yet
    vsqs.send_message(QueueUrl=url, MessageBody="later")
    assert vsqs.receive_message(QueueUrl=url).get("Messages", []) == []
    a = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert a["ApproximateNumberOfMessagesDelayed"] == "1"


@pytest.mark.parametrize("attrs,code", [
    ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
    ({"DelaySeconds": "-1"}, "InvalidAttributeValue"),
    ({"MaximumMessageSize": "1023"}, "InvalidAttributeValue"),
    ({"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"),
    ({"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"),
    ({"VisibilityTimeout": "ten"}, "InvalidAttributeValue"),
    ({"Policy": "{not json"}, "InvalidAttributeValue"),
    ({"FifoQueue": "true"}, "InvalidParameterValue"),
    ({"NoSuchAttribute": "1"}, "InvalidAttributeName"),
])
def test_invalid_attributes(vsqs, attrs, code):
    name = qname("bad")
    with client_error(code, 400):
        vsqs.create_queue(QueueName=name, Attributes=attrs)
    assert vsqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []


def test_errors(ferry, vendor, vsqs):
    acct = account_of(vendor, ferry)
    for bad in ["", "a" * 81, "has space", "dot.name", "x.fifo"]:
        with client_error("InvalidParameterValue", 400):
            vsqs.create_queue(QueueName=bad)
    missing = f"{ferry.endpoint}/{acct}/{qname('missing')}"
    with client_error(NON_EXISTENT, 400):
        vsqs.send_message(QueueUrl=missing, MessageBody="x")
    with client_error(NON_EXISTENT, 400):
        vsqs.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"])
    with client_error(NON_EXISTENT, 400):
        vsqs.delete_queue(QueueUrl=missing)
    url = vsqs.create_queue(QueueName=qname("err"))["QueueUrl"]
    other = vsqs.create_queue(QueueName=qname("err2"))["QueueUrl"]
    with client_error("InvalidAttributeName", 400):
        vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"])
    with client_error("InvalidAttributeName", 400):
        vsqs.set_queue_attributes(QueueUrl=url, Attributes={"QueueArn": "x"})
    with client_error("ReceiptHandleIsInvalid", 400):
        vsqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    vsqs.send_message(QueueUrl=other, MessageBody="m")
    handle = vsqs.receive_message(QueueUrl=other)["Messages"][0]["ReceiptHandle"]
    with client_error("ReceiptHandleIsInvalid", 400):
        vsqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    with client_error("ReceiptHandleIsInvalid", 400):
        vsqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    with client_error("InvalidParameterValue", 400):
        vsqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="x" * 1048577)
    small = vsqs.create_queue(QueueName=qname("small"), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with client_error("InvalidParameterValue", 400):
        vsqs.send_message(QueueUrl=small, MessageBody="x" * 1025)
    vsqs.send_message(QueueUrl=small, MessageBody="x" * 1024)
    with client_error("MissingParameter", 400):
        vsqs.send_message(QueueUrl=url, MessageBody="")


def test_cross_account_queue_policy(ferry, vendor, customer, stranger, vsqs):
    csqs = ferry.client("sqs", customer)
    ssqs = ferry.client("sqs", stranger)
    vacct, cacct = account_of(vendor, ferry), account_of(customer, ferry)
    name = qname("intake")
    url = vsqs.create_queue(QueueName=name)["QueueUrl"]
    with client_error("AccessDenied", 403):
        csqs.send_message(QueueUrl=url, MessageBody="hi")
    arn = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "CustomerSends", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{cacct}:root"},
        "Action": "sqs:SendMessage", "Resource": arn}]}
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    got = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    assert json.loads(got) == policy
    sent = csqs.send_message(QueueUrl=url, MessageBody="from customer")
    with client_error("AccessDenied", 403):
        csqs.receive_message(QueueUrl=url)
    with client_error("AccessDenied", 403):
        ssqs.send_message(QueueUrl=url, MessageBody="from stranger")
    # the customer finds the queue by name and owner only if allowed to
    with client_error("AccessDenied", 403):
        csqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=vacct)
    msgs = vsqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in msgs] == [sent["MessageId"]]
    assert msgs[0]["Body"] == "from customer"


def test_wrong_account_is_refused_everywhere(ferry, vendor, stranger, vsqs):
    ssqs = ferry.client("sqs", stranger)
    vacct = account_of(vendor, ferry)
    name = qname("guarded")
    url = vsqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    sent = vsqs.send_message(QueueUrl=url, MessageBody="keep me")
    ops = [
        lambda: ssqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=vacct),
        lambda: ssqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        lambda: ssqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"}),
        lambda: ssqs.send_message(QueueUrl=url, MessageBody="intruder"),
        lambda: ssqs.receive_message(QueueUrl=url),
        lambda: ssqs.delete_message(QueueUrl=url, ReceiptHandle="garbage"),
        lambda: ssqs.change_message_visibility(QueueUrl=url, ReceiptHandle="garbage", VisibilityTimeout=0),
        lambda: ssqs.delete_queue(QueueUrl=url),
    ]
    for op in ops:
        with client_error("AccessDenied", 403):
            op()
    # the stranger's own list and create stay in its own account
    assert url not in ssqs.list_queues().get("QueueUrls", [])
    own = ssqs.create_queue(QueueName=name)["QueueUrl"]
    assert own != url
    # the queue is untouched
    a = vsqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert a["VisibilityTimeout"] == "45"
    assert a["ApproximateNumberOfMessages"] == "1"
    assert a["ApproximateNumberOfMessagesNotVisible"] == "0"
    msgs = vsqs.receive_message(QueueUrl=url)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in msgs] == [(sent["MessageId"], "keep me")]


def test_aws_cli(ferry, vendor):
    name = qname("cli")
    out = ferry.aws_json("sqs", "create-queue", "--queue-name", name, "--region", "us-east-1", creds=vendor)
    url = out["QueueUrl"]
    assert url.endswith(f"/{name}")
    sent = ferry.aws_json("sqs", "send-message", "--queue-url", url, "--message-body", "cli body",
                          "--region", "us-east-1", creds=vendor)
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"cli body").hexdigest()
    p = ferry.aws("sqs", "get-queue-url", "--queue-name", qname("nope"), "--region", "us-east-1", creds=vendor)
    assert p.returncode != 0
    assert NON_EXISTENT in p.stderr


def test_audit_records_the_queue_owner(ferry, vendor, customer, vsqs):
    csqs = ferry.client("sqs", customer)
    vacct, cacct = account_of(vendor, ferry), account_of(customer, ferry)
    url = vsqs.create_queue(QueueName=qname("audited"))["QueueUrl"]
    with client_error("AccessDenied", 403) as err:
        csqs.send_message(QueueUrl=url, MessageBody="no policy")
    denied_id = err.value.response["ResponseMetadata"]["RequestId"]
    ct_v = ferry.client("cloudtrail", vendor)
    lookup = [{"AttributeKey": "EventName", "AttributeValue": "SendMessage"}]
    events = wait_for_request_ids(ct_v, [denied_id], LookupAttributes=lookup)
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == denied_id)
    assert d["eventSource"] == "sqs.amazonaws.com"
    assert d["recipientAccountId"] == vacct
    assert d["userIdentity"]["accountId"] == cacct
    assert d["errorCode"] == "AccessDenied"


def test_message_bodies_stay_out_of_the_trail(ferry, vendor, vsqs):
    # As CloudTrail: the call is recorded, the customer's data is not.
    url = vsqs.create_queue(QueueName=qname("quiet"))["QueueUrl"]
    secret = f"card-{unique('n')}"
    one = vsqs.send_message(QueueUrl=url, MessageBody=secret)
    batch = vsqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": secret + "-a"}, {"Id": "b", "MessageBody": secret + "-b"}])
    ids = [one["ResponseMetadata"]["RequestId"], batch["ResponseMetadata"]["RequestId"]]
    events = wait_for_request_ids(ferry.client("cloudtrail", vendor), ids)
    details = [ct_detail(e) for e in events if ct_detail(e).get("requestID") in ids]
    assert {d["eventName"] for d in details} == {"SendMessage", "SendMessageBatch"}
    text = json.dumps(details)
    assert secret not in text
    single = next(d for d in details if d["eventName"] == "SendMessage")
    assert single["requestParameters"]["MessageBody"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert single["requestParameters"]["QueueUrl"] == url
