//! Decision time of the IAM engine for a principal with 10 and 100
//! statements, with and without conditions, and the same decisions made by
//! `cedar-policy` in the same run as a reference.
//!
//! Each scenario grants `s3:GetObject` on one bucket per statement; the
//! request hits the last statement, so every statement is looked at. With
//! conditions, each statement also requires a principal tag
//! (`StringEquals`) and a source network (`IpAddress`); Cedar gets the
//! equivalent `when` clauses (`==` and `isInRange`). Policies and requests
//! are built once, outside the timed loop, for both engines.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry_policy as iam;

const SIZES: [usize; 2] = [10, 100];

fn iam_policy(n: usize, conditions: bool) -> iam::Policy {
    let statements: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut s = serde_json::json!({
                "Sid": format!("S{i}"),
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::bucket-{i}/*"),
            });
            if conditions {
                s["Condition"] = serde_json::json!({
                    "StringEquals": {"aws:PrincipalTag/team": format!("team-{i}")},
                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                });
            }
            s
        })
        .collect();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    iam::Policy::parse_with_limit(
        &doc.to_string(),
        iam::PolicyKind::Identity,
        iam::SizeLimit::unlimited(),
    )
    .expect("bench policy parses")
}

fn cedar_policies(n: usize, conditions: bool) -> cedar_policy::PolicySet {
    let mut src = String::new();
    for i in 0..n {
        src.push_str(&format!(
            "permit(principal == User::\"alice\", action == Action::\"s3:GetObject\", resource)\n  when {{ context.resource like \"arn:aws:s3:::bucket-{i}/*\""
        ));
        if conditions {
            src.push_str(&format!(
                " && context.team == \"team-{i}\" && context.source_ip.isInRange(ip(\"10.0.0.0/8\"))"
            ));
        }
        src.push_str(" };\n");
    }
    src.parse().expect("cedar policies parse")
}

fn bench(c: &mut Criterion) {
    let alice = iam::Principal::user("arn:aws:iam::111122223333:user/alice");
    let authorizer = cedar_policy::Authorizer::new();
    let entities = cedar_policy::Entities::empty();
    let mut group = c.benchmark_group("decision");
    group
        .sample_size(60)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    for conditions in [false, true] {
        for n in SIZES {
            let label = format!(
                "{n}_statements{}",
                if conditions { "_conditions" } else { "" }
            );
            let resource = format!("arn:aws:s3:::bucket-{}/photos/cat.jpg", n - 1);

            // IAM engine.
            let set = iam::PolicySet {
                identity: vec![iam::NamedPolicy::new("bench", iam_policy(n, conditions))],
                ..Default::default()
            };
            let mut context = iam::Context::new();
            if conditions {
                context.insert("aws:PrincipalTag/team", format!("team-{}", n - 1));
                context.insert(
                    "aws:SourceIp",
                    iam::ContextValue::Ip("10.1.2.3".parse().expect("ip")),
                );
            }
            let request = iam::Request {
                principal: &alice,
                action: "s3:GetObject",
                resource: &resource,
                resource_account: Some("111122223333"),
                context: &context,
            };
            assert!(iam::evaluate(&request, &set).is_allowed(), "iam {label}");
            group.bench_function(format!("iam/{label}"), |b| {
                b.iter(|| black_box(iam::evaluate(black_box(&request), black_box(&set))))
            });

            // Cedar reference.
            let policies = cedar_policies(n, conditions);
            let mut ctx = serde_json::json!({"resource": resource});
            if conditions {
                ctx["team"] = serde_json::json!(format!("team-{}", n - 1));
                ctx["source_ip"] = serde_json::json!({"__extn": {"fn": "ip", "arg": "10.1.2.3"}});
            }
            let cedar_request = cedar_policy::Request::new(
                r#"User::"alice""#.parse().expect("principal"),
                r#"Action::"s3:GetObject""#.parse().expect("action"),
                r#"Object::"cat.jpg""#.parse().expect("resource"),
                cedar_policy::Context::from_json_value(ctx, None).expect("context"),
                None,
            )
            .expect("request");
            assert_eq!(
                authorizer
                    .is_authorized(&cedar_request, &policies, &entities)
                    .decision(),
                cedar_policy::Decision::Allow,
                "cedar {label}"
            );
            group.bench_function(format!("cedar/{label}"), |b| {
                b.iter(|| {
                    black_box(authorizer.is_authorized(
                        black_box(&cedar_request),
                        black_box(&policies),
                        black_box(&entities),
                    ))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
