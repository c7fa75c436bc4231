"""SQS dead-letter queues over AWS JSON 1.0: RedrivePolicy moving a message
after maxReceiveCount receives, RedriveAllowPolicy, ListDeadLetterSourceQueues,
and redrive back with StartMessageMoveTask / ListMessageMoveTasks /
CancelMessageMoveTask."""

import json

from sqs_util import counts, customer, poll, qname, queue_attrs, receive_all, vendor, vsqs  # noqa: F401
from util import client_error


def arn_of(sqs, url):
    return queue_attrs(sqs, url, "QueueArn")["QueueArn"]


def redrive(dlq_arn, count=2):
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": count})


def make_pair(sqs, count=2, fifo=False):
    attrs = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=qname("dlq", fifo), Attributes=attrs)["QueueUrl"]
    src = sqs.create_queue(QueueName=qname("src", fifo),
                           Attributes={**attrs, "RedrivePolicy": redrive(arn_of(sqs, dlq), count)})["QueueUrl"]
    return src, dlq


def dead_letter(sqs, src, n=1, count=2):
    """Receive everything in `src` count+1 times with a zero visibility timeout."""
    for _ in range(count):
        assert len(receive_all(sqs, src, VisibilityTimeout=0)) == n
    assert receive_all(sqs, src, VisibilityTimeout=0) == []


def test_a_message_moves_after_max_receive_count(vsqs):
    src, dlq = make_pair(vsqs)
    policy = json.loads(queue_attrs(vsqs, src, "RedrivePolicy")["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": arn_of(vsqs, dlq), "maxReceiveCount": 2}
    sent = vsqs.send_message(QueueUrl=src, MessageBody="poison",
                             MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    counts_seen = [receive_all(vsqs, src, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"])[0]
                   ["Attributes"]["ApproximateReceiveCount"] for _ in range(2)]
    assert counts_seen == ["1", "2"]
    # the third receive finds it gone to the dead-letter queue
    assert receive_all(vsqs, src, VisibilityTimeout=0) == []
    assert counts(vsqs, src) == (0, 0, 0)
    assert counts(vsqs, dlq) == (1, 0, 0)
    (m,) = receive_all(vsqs, dlq, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
    assert (m["MessageId"], m["Body"]) == (sent["MessageId"], "poison")
    assert m["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(vsqs, src)
    assert m["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_a_deleted_message_never_moves(vsqs):
    src, dlq = make_pair(vsqs, count=1)
    vsqs.send_message(QueueUrl=src, MessageBody="handled")
    (m,) = receive_all(vsqs, src)
    vsqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
    assert receive_all(vsqs, src) == []
    assert counts(vsqs, dlq) == (0, 0, 0)


def test_fifo_dead_letter_queue(vsqs):
    src, dlq = make_pair(vsqs, count=1, fifo=True)
    vsqs.send_message(QueueUrl=src, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="d")
    dead_letter(vsqs, src, count=1)
    (m,) = receive_all(vsqs, dlq, AttributeNames=["All"])
    assert m["Body"] == "f" and m["Attributes"]["MessageGroupId"] == "g"
    # a standard queue cannot dead-letter into a FIFO one
    with client_error("InvalidParameterValue", 400):
        vsqs.create_queue(QueueName=qname("mixed"), Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})


def test_redrive_policy_checks(ferry, vendor, vsqs):
    acct = ferry.identity(vendor)["Account"]
    missing = f"arn:aws:sqs:us-east-1:{acct}:{qname('missing')}"
    name = qname("orphan")
    with client_error("InvalidParameterValue", 400):
        vsqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive(missing)})
    assert vsqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []) == []
    url = vsqs.create_queue(QueueName=name)["QueueUrl"]
    with client_error("InvalidParameterValue", 400):
        vsqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive(missing)})
    assert "RedrivePolicy" not in queue_attrs(vsqs, url)
    dlq = vsqs.create_queue(QueueName=qname("dlq"))["QueueUrl"]
    for bad in ['{"deadLetterTargetArn": "%s"}' % arn_of(vsqs, dlq),
                redrive(arn_of(vsqs, dlq), 0), redrive(arn_of(vsqs, dlq), 1001), "not json"]:
        with client_error("InvalidAttributeValue", 400):
            vsqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": bad})
    # removing the policy with an empty value
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})
    vsqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in queue_attrs(vsqs, url)


def test_redrive_allow_policy(vsqs):
    dlq = vsqs.create_queue(QueueName=qname("dlq"), Attributes={
        "RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})["QueueUrl"]
    src = vsqs.create_queue(QueueName=qname("src"))["QueueUrl"]
    with client_error("InvalidParameterValue", 400):
        vsqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})
    with client_error("InvalidParameterValue", 400):
        vsqs.create_queue(QueueName=qname("src"), Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})
    other = vsqs.create_queue(QueueName=qname("other"))["QueueUrl"]
    vsqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [arn_of(vsqs, other)]})})
    with client_error("InvalidParameterValue", 400):
        vsqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})
    vsqs.set_queue_attributes(QueueUrl=other, Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})
    vsqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "allowAll"})})
    vsqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})
    assert "RedrivePolicy" in queue_attrs(vsqs, src)
    for bad in [{"redrivePermission": "byQueue"}, {"redrivePermission": "sometimes"},
                {"redrivePermission": "denyAll", "sourceQueueArns": [arn_of(vsqs, src)]}]:
        with client_error("InvalidAttributeValue", 400):
            vsqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(bad)})


def test_list_dead_letter_source_queues(vsqs):
    src, dlq = make_pair(vsqs)
    src2 = vsqs.create_queue(QueueName=qname("src2"),
                             Attributes={"RedrivePolicy": redrive(arn_of(vsqs, dlq))})["QueueUrl"]
    vsqs.create_queue(QueueName=qname("unrelated"))
    assert sorted(vsqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sorted([src, src2])
    assert vsqs.list_dead_letter_source_queues(QueueUrl=src)["queueUrls"] == []
    page = vsqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=1)
    assert len(page["queueUrls"]) == 1 and page["NextToken"]
    rest = vsqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=1, NextToken=page["NextToken"])
    assert sorted(page["queueUrls"] + rest["queueUrls"]) == sorted([src, src2])
    assert "NextToken" not in rest


def _tasks(sqs, arn, **kw):
    return sqs.list_message_move_tasks(SourceArn=arn, **kw)["Results"]


def test_move_task_redrives_to_the_source(vsqs):
    src, dlq = make_pair(vsqs)
    sent = [vsqs.send_message(QueueUrl=src, MessageBody=f"m{i}")["MessageId"] for i in range(3)]
    dead_letter(vsqs, src, n=3)
    assert counts(vsqs, dlq) == (3, 0, 0)
    dlq_arn = arn_of(vsqs, dlq)
    assert _tasks(vsqs, dlq_arn) == []
    handle = vsqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    done = poll(lambda: [t for t in _tasks(vsqs, dlq_arn) if t["Status"] == "COMPLETED"], desc="COMPLETED")
    t = done[0]
    assert t["SourceArn"] == dlq_arn
    assert t["ApproximateNumberOfMessagesMoved"] == 3
    assert t["ApproximateNumberOfMessagesToMove"] == 3
    assert t["StartedTimestamp"] > 0
    assert "TaskHandle" not in t  # only while running
    assert counts(vsqs, dlq) == (0, 0, 0)
    back = receive_all(vsqs, src, AttributeNames=["All"])
    assert sorted(m["MessageId"] for m in back) == sorted(sent)
    assert all("DeadLetterQueueSourceArn" not in m["Attributes"] for m in back)


def test_move_task_to_another_destination(vsqs):
    src, dlq = make_pair(vsqs)
    dest = vsqs.create_queue(QueueName=qname("dest"))["QueueUrl"]
    vsqs.send_message(QueueUrl=src, MessageBody="elsewhere")
    dead_letter(vsqs, src)
    dlq_arn = arn_of(vsqs, dlq)
    vsqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(vsqs, dest),
                                 MaxNumberOfMessagesPerSecond=10)
    (t,) = poll(lambda: [t for t in _tasks(vsqs, dlq_arn) if t["Status"] == "COMPLETED"], desc="COMPLETED")
    assert t["DestinationArn"] == arn_of(vsqs, dest)
    assert t["MaxNumberOfMessagesPerSecond"] == 10
    assert [m["Body"] for m in receive_all(vsqs, dest)] == ["elsewhere"]
    assert counts(vsqs, src) == (0, 0, 0)


def test_cancel_a_move_task(vsqs):
    src, dlq = make_pair(vsqs)
    vsqs.send_message_batch(QueueUrl=src, Entries=[{"Id": f"m{i}", "MessageBody": f"m{i}"} for i in range(6)])
    for _ in range(2):
        got = []
        while len(got) < 6:
            more = receive_all(vsqs, src, VisibilityTimeout=0)
            assert more
            got += more
    poll(lambda: receive_all(vsqs, src, VisibilityTimeout=0) == [] and counts(vsqs, dlq)[0] == 6,
         desc="all six in the DLQ")
    dlq_arn = arn_of(vsqs, dlq)
    handle = vsqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    (running,) = _tasks(vsqs, dlq_arn)
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    # one running task per source
    with client_error("InvalidParameterValue", 400):
        vsqs.start_message_move_task(SourceArn=dlq_arn)
    moved = vsqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 0 <= moved < 6
    (t,) = poll(lambda: [t for t in _tasks(vsqs, dlq_arn) if t["Status"] == "CANCELLED"], desc="CANCELLED")
    assert t["ApproximateNumberOfMessagesMoved"] < 6
    in_dlq = sum(counts(vsqs, dlq))
    assert in_dlq >= 1 and in_dlq + sum(counts(vsqs, src)) == 6
    with client_error("InvalidParameterValue", 400):
        vsqs.cancel_message_move_task(TaskHandle=handle)
    # a new task can start after the cancelled one, and ListMessageMoveTasks shows both, newest first
    vsqs.start_message_move_task(SourceArn=dlq_arn)
    poll(lambda: _tasks(vsqs, dlq_arn)[0]["Status"] == "COMPLETED", desc="second task COMPLETED")
    both = _tasks(vsqs, dlq_arn, MaxResults=10)
    assert [t["Status"] for t in both] == ["COMPLETED", "CANCELLED"]
    assert sum(counts(vsqs, dlq)) == 0 and counts(vsqs, src)[0] == 6


def test_move_task_errors(vsqs):
    plain = vsqs.create_queue(QueueName=qname("plain"))["QueueUrl"]
    plain_arn = arn_of(vsqs, plain)
    with client_error("InvalidParameterValue", 400):
        vsqs.start_message_move_task(SourceArn=plain_arn)
    assert _tasks(vsqs, plain_arn) == []
    with client_error("ResourceNotFoundException", 404):
        vsqs.cancel_message_move_task(TaskHandle="bm8tc3VjaC10YXNr")
    src, dlq = make_pair(vsqs)
    with client_error("InvalidParameterValue", 400):
        vsqs.start_message_move_task(SourceArn=arn_of(vsqs, dlq), MaxNumberOfMessagesPerSecond=501)
    gone = arn_of(vsqs, plain)
    vsqs.delete_queue(QueueUrl=plain)
    with client_error("ResourceNotFoundException", 404):
        vsqs.start_message_move_task(SourceArn=gone)
    with client_error("ResourceNotFoundException", 404):
        vsqs.list_message_move_tasks(SourceArn=gone)
    with client_error("ResourceNotFoundException", 404):
        vsqs.start_message_move_task(SourceArn=arn_of(vsqs, dlq), DestinationArn=gone)


def test_dead_letters_and_redrive_in_a_siloed_account(ferry, customer):
    sqs = ferry.client("sqs", customer)
    src, dlq = make_pair(sqs, count=1)
    sent = sqs.send_message(QueueUrl=src, MessageBody="silo poison")["MessageId"]
    dead_letter(sqs, src, count=1)
    (m,) = receive_all(sqs, dlq, AttributeNames=["DeadLetterQueueSourceArn"], VisibilityTimeout=0)
    assert (m["MessageId"], m["Attributes"]) == (sent, {"DeadLetterQueueSourceArn": arn_of(sqs, src)})
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
    dlq_arn = arn_of(sqs, dlq)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    poll(lambda: _tasks(sqs, dlq_arn)[0]["Status"] == "COMPLETED", desc="COMPLETED")
    assert [m["MessageId"] for m in receive_all(sqs, src)] == [sent]
