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
