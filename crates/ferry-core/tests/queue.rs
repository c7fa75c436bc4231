//! SQS queues over time, with an injected clock: visibility timeout, receive
//! counts, delay, and queue policies across accounts.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Duration;
use ferry_core::CoreError;
use ferry_core::queue::{QueueAddr, ReceiveOptions, SendRequest};

mod common;
use common::{World, ctx, world};

fn attr(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn queue(w: &World, name: &str, attrs: &[(&str, &str)]) -> QueueAddr {
    let c = ctx(&w.ferry, &w.vendor);
    w.ferry
        .create_queue(&c, name, &attr(attrs), &[])
        .await
        .expect("create queue")
}

#[tokio::test]
async fn received_messages_are_invisible_until_the_timeout() {
    let w = world().await;
    let q = queue(&w, "jobs", &[("VisibilityTimeout", "30")]).await;
    let f = &w.ferry;
    let sent = f
        .send_message(&ctx(f, &w.vendor), &q, SendRequest::body("work"))
        .await
        .unwrap();
    let first = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].message.message_id, sent.message_id);
    assert_eq!(first[0].message.receive_count, 1);
    let first_at = first[0]
        .message
        .first_received_at
        .expect("first receive time");

    w.clock.advance(Duration::seconds(29));
    assert!(
        f.receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
    w.clock.advance(Duration::seconds(1));
    let second = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message.receive_count, 2);
    assert_eq!(second[0].message.first_received_at, Some(first_at));
    assert_ne!(second[0].receipt_handle, first[0].receipt_handle);
    let attrs = second[0].system_attributes("us-east-1");
    assert!(attrs.contains(&("ApproximateReceiveCount".into(), "2".into())));

    // The receive's own override.
    w.clock.advance(Duration::seconds(30));
    let third = f
        .receive_message(
            &ctx(f, &w.vendor),
            &q,
            ReceiveOptions {
                visibility: Some(5),
                ..ReceiveOptions::up_to(1)
            },
        )
        .await
        .unwrap();
    assert_eq!(third[0].message.receive_count, 3);
    w.clock.advance(Duration::seconds(4));
    assert!(
        f.receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(1))
            .await
            .unwrap()
            .is_empty()
    );
    w.clock.advance(Duration::seconds(1));
    let fourth = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(1))
        .await
        .unwrap();
    assert_eq!(fourth[0].message.receive_count, 4);

    // Deleted for good.
    let handle = fourth[0].receipt_handle.clone();
    f.delete_message(&ctx(f, &w.vendor), &q, &handle)
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(3600));
    assert!(
        f.receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn change_message_visibility_moves_the_deadline() {
    let w = world().await;
    let q = queue(&w, "jobs", &[]).await;
    let f = &w.ferry;
    f.send_message(&ctx(f, &w.vendor), &q, SendRequest::body("a"))
        .await
        .unwrap();
    let got = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(1))
        .await
        .unwrap();
    let handle = got[0].receipt_handle.clone();
    f.change_message_visibility(&ctx(f, &w.vendor), &q, &handle, 120)
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(119));
    assert!(
        f.receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(1))
            .await
            .unwrap()
            .is_empty()
    );
    w.clock.advance(Duration::seconds(1));
    assert_eq!(
        f.receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(1))
            .await
            .unwrap()
            .len(),
        1
    );
    // The old handle is stale now: SQS's answer for a message that is not
    // (or no longer) available for a visibility change.
    let err = f
        .change_message_visibility(&ctx(f, &w.vendor), &q, &handle, 0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValue");
    assert!(
        err.to_string()
            .contains("not available for visibility timeout change")
    );
}

#[tokio::test]
async fn delayed_messages_wait() {
    let w = world().await;
    let q = queue(
        &w,
        "later",
        &[("DelaySeconds", "10"), ("VisibilityTimeout", "3600")],
    )
    .await;
    let f = &w.ferry;
    f.send_message(&ctx(f, &w.vendor), &q, SendRequest::body("queue delay"))
        .await
        .unwrap();
    f.send_message(
        &ctx(f, &w.vendor),
        &q,
        SendRequest {
            delay_seconds: Some(60),
            ..SendRequest::body("own delay")
        },
    )
    .await
    .unwrap();
    f.send_message(
        &ctx(f, &w.vendor),
        &q,
        SendRequest {
            delay_seconds: Some(0),
            ..SendRequest::body("no delay")
        },
    )
    .await
    .unwrap();
    let bodies = |v: Vec<ferry_core::queue::Received>| {
        v.into_iter().map(|m| m.message.body).collect::<Vec<_>>()
    };
    let now = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
        .await
        .unwrap();
    assert_eq!(bodies(now), vec!["no delay"]);
    w.clock.advance(Duration::seconds(10));
    let later = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
        .await
        .unwrap();
    assert_eq!(bodies(later), vec!["queue delay"]);
    w.clock.advance(Duration::seconds(50));
    let last = f
        .receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
        .await
        .unwrap();
    assert_eq!(bodies(last), vec!["own delay"]);
    let err = f
        .send_message(
            &ctx(f, &w.vendor),
            &q,
            SendRequest {
                delay_seconds: Some(901),
                ..SendRequest::body("x")
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValue");
}

#[tokio::test]
async fn messages_expire_after_the_retention_period() {
    let w = world().await;
    let q = queue(&w, "short", &[("MessageRetentionPeriod", "60")]).await;
    let f = &w.ferry;
    f.send_message(&ctx(f, &w.vendor), &q, SendRequest::body("old"))
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(60));
    assert!(
        f.receive_message(&ctx(f, &w.vendor), &q, ReceiveOptions::up_to(10))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn another_account_needs_the_queue_policy() {
    let w = world().await;
    let q = queue(&w, "intake", &[]).await;
    let f = &w.ferry;
    let denied = f
        .send_message(&ctx(f, &w.customer), &q, SendRequest::body("hi"))
        .await
        .unwrap_err();
    assert!(matches!(denied, CoreError::AccessDenied(_)), "{denied:?}");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:{}:intake"}}]}}"#,
        w.customer.account, w.vendor.account
    );
    f.set_queue_attributes(&ctx(f, &w.vendor), &q, &attr(&[("Policy", &policy)]))
        .await
        .unwrap();
    f.send_message(&ctx(f, &w.customer), &q, SendRequest::body("hi"))
        .await
        .unwrap();
    let denied = f
        .receive_message(&ctx(f, &w.customer), &q, ReceiveOptions::up_to(1))
        .await
        .unwrap_err();
    assert!(matches!(denied, CoreError::AccessDenied(_)), "{denied:?}");
    // A queue that does not exist is not revealed to another account.
    let missing = QueueAddr {
        account: w.vendor.account,
        name: "nope".into(),
    };
    let err = f
        .send_message(&ctx(f, &w.customer), &missing, SendRequest::body("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    let err = f
        .send_message(&ctx(f, &w.vendor), &missing, SendRequest::body("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "AWS.SimpleQueueService.NonExistentQueue");
}

fn fifo_send(body: &str, group: &str, dedup: Option<&str>) -> SendRequest {
    SendRequest {
        group_id: Some(group.into()),
        dedup_id: dedup.map(str::to_string),
        ..SendRequest::body(body)
    }
}

#[tokio::test]
async fn fifo_deduplication_lasts_five_minutes() {
    let w = world().await;
    let q = queue(&w, "orders.fifo", &[("FifoQueue", "true")]).await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    let first = f
        .send_message(&c, &q, fifo_send("a", "g", Some("d1")))
        .await
        .unwrap();
    w.clock.advance(Duration::seconds(299));
    let again = f
        .send_message(&c, &q, fifo_send("a", "g", Some("d1")))
        .await
        .unwrap();
    assert_eq!(
        again.message_id, first.message_id,
        "a duplicate inside the window"
    );
    assert_eq!(again.sequence_number, first.sequence_number);
    w.clock.advance(Duration::seconds(1));
    let later = f
        .send_message(&c, &q, fifo_send("a", "g", Some("d1")))
        .await
        .unwrap();
    assert_ne!(later.message_id, first.message_id, "the window is over");
    assert!(later.sequence_number > first.sequence_number);
    let got = f
        .receive_message(&c, &q, ReceiveOptions::up_to(10))
        .await
        .unwrap();
    assert_eq!(got.len(), 2, "two messages stored, not three");
    // Without an id and without content-based deduplication: refused.
    let err = f
        .send_message(&c, &q, fifo_send("b", "g", None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValue");
    let err = f
        .send_message(&c, &q, SendRequest::body("no group"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MissingParameter");
}

#[tokio::test]
async fn fifo_receive_attempts_repeat_the_same_messages() {
    let w = world().await;
    let q = queue(
        &w,
        "retry.fifo",
        &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
    )
    .await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    for body in ["1", "2", "3"] {
        f.send_message(&c, &q, fifo_send(body, "g", None))
            .await
            .unwrap();
    }
    let attempt = |id: &str| ReceiveOptions {
        attempt_id: Some(id.into()),
        ..ReceiveOptions::up_to(2)
    };
    let first = f.receive_message(&c, &q, attempt("x")).await.unwrap();
    let retried = f.receive_message(&c, &q, attempt("x")).await.unwrap();
    let handles = |v: &[ferry_core::queue::Received]| {
        v.iter()
            .map(|r| r.receipt_handle.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(first.len(), 2);
    assert_eq!(handles(&first), handles(&retried));
    // A new attempt finds the group blocked while the first two are held.
    assert!(
        f.receive_message(&c, &q, attempt("y"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn messages_move_to_the_dead_letter_queue_after_max_receives() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    let dlq = queue(&w, "dead", &[]).await;
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:{}:dead","maxReceiveCount":2}}"#,
        w.vendor.account
    );
    let q = queue(
        &w,
        "work",
        &[("RedrivePolicy", &redrive), ("VisibilityTimeout", "10")],
    )
    .await;
    f.send_message(&c, &q, SendRequest::body("poison"))
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            f.receive_message(&c, &q, ReceiveOptions::up_to(1))
                .await
                .unwrap()
                .len(),
            1
        );
        w.clock.advance(Duration::seconds(10));
    }
    assert!(
        f.receive_message(&c, &q, ReceiveOptions::up_to(1))
            .await
            .unwrap()
            .is_empty(),
        "received twice: moved on the third receive"
    );
    let dead = f
        .receive_message(&c, &dlq, ReceiveOptions::up_to(1))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message.body, "poison");
    let attrs = dead[0].system_attributes("us-east-1");
    assert!(attrs.contains(&(
        "DeadLetterQueueSourceArn".to_string(),
        format!("arn:aws:sqs:us-east-1:{}:work", w.vendor.account)
    )));
    assert_eq!(
        f.list_dead_letter_source_queues(&c, &dlq).await.unwrap(),
        ["work"]
    );
    // A redrive target that does not exist is refused.
    let missing = redrive.replace(":dead\"", ":nowhere\"");
    let err = f
        .set_queue_attributes(&c, &q, &attr(&[("RedrivePolicy", &missing)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidParameterValue");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_receive_is_woken_by_a_send() {
    let w = world().await;
    let q = queue(&w, "poll", &[]).await;
    let f = w.ferry.clone();
    let c = ctx(&f, &w.vendor);
    let waiting = {
        let (f, c, q) = (f.clone(), c.clone(), q.clone());
        tokio::spawn(async move {
            let opts = ReceiveOptions {
                wait_seconds: Some(20),
                ..ReceiveOptions::up_to(1)
            };
            f.receive_message(&c, &q, opts).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "an empty queue holds the receive");
    // Virtual time: it only moves when every task waits, so this measures
    // what woke the receive, not the machine's speed.
    let started = tokio::time::Instant::now();
    f.send_message(&c, &q, SendRequest::body("wake"))
        .await
        .unwrap();
    let got = waiting.await.unwrap().unwrap();
    assert_eq!(got[0].message.body, "wake");
    // Woken by the send, not by the one-second re-check.
    assert_eq!(started.elapsed(), std::time::Duration::ZERO);
}

#[tokio::test]
async fn a_service_principal_sends_only_as_the_queue_policy_allows() {
    let w = world().await;
    let q = queue(&w, "events-in", &[]).await;
    let f = &w.ferry;
    let rule = format!("arn:aws:events:us-east-1:{}:rule/r", w.vendor.account);
    let send = || {
        f.send_message_as_service(
            "events.amazonaws.com",
            w.vendor.account,
            &rule,
            &q,
            SendRequest::body("event"),
            "us-east-1",
        )
    };
    assert!(matches!(send().await, Err(CoreError::AccessDenied(_))));
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"events.amazonaws.com"}},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:{acct}:events-in","Condition":{{"ArnEquals":{{"aws:SourceArn":"{rule}"}}}}}}]}}"#,
        acct = w.vendor.account
    );
    f.set_queue_attributes(&ctx(f, &w.vendor), &q, &attr(&[("Policy", &policy)]))
        .await
        .unwrap();
    send().await.unwrap();
    let other_rule = f
        .send_message_as_service(
            "events.amazonaws.com",
            w.vendor.account,
            "arn:aws:events:us-east-1:111111111111:rule/other",
            &q,
            SendRequest::body("event"),
            "us-east-1",
        )
        .await;
    assert!(
        matches!(other_rule, Err(CoreError::AccessDenied(_))),
        "confused deputy"
    );
}
