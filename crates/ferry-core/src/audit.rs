//! The audit trail: every request, allowed, denied or failed to
//! authenticate, becomes a CloudTrail-shaped record. Records go through a
//! bounded channel to one writer that commits them in batches off the hot
//! path; each record is stored in the caller's and the recipient's account,
//! so an account sees exactly the records it took part in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use ferry_store::{AuditEvent, AuditQuery, Placement, Store, Write, WriteBatch};
use ferry_types::{AccountId, Timestamp, iso8601};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{CoreError, Ferry, Principal, RequestContext};

/// Who called, as far as authentication got.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Authenticated.
    Principal(Principal),
    /// The key is known but the request failed authentication.
    KeyOf {
        /// The account the key belongs to.
        account: AccountId,
        /// The key used.
        access_key_id: String,
    },
    /// Nothing is known (no auth, or an unknown key).
    Unknown {
        /// The key presented, if any.
        access_key_id: Option<String>,
    },
}

/// One request's record, before it is stored.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// When the request arrived.
    pub event_time: Timestamp,
    /// `sts.amazonaws.com`, ...
    pub event_source: String,
    /// The operation.
    pub event_name: String,
    /// The signed region.
    pub region: String,
    /// The client's IP.
    pub source_ip: String,
    /// The client's User-Agent.
    pub user_agent: String,
    /// Who called.
    pub caller: Caller,
    /// The request's parameters, secrets already redacted.
    pub request_parameters: Value,
    /// The AWS error code, if it failed.
    pub error_code: Option<String>,
    /// The error message, if it failed.
    pub error_message: Option<String>,
    /// The request id returned.
    pub request_id: String,
    /// The account that owns the resource acted on.
    pub recipient: Option<AccountId>,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// Why Ferry allowed or denied it.
    pub decision_reason: Option<String>,
}

/// Parameter names whose values never reach the trail.
const SECRET_MARKERS: [&str; 4] = ["secret", "password", "token", "privatekey"];

/// Parameters kept out of the trail as CloudTrail does: a message's body
/// (`messageBody`, also inside batch entries and in the query protocol's
/// flattened `...Entry.N.MessageBody`) is the customer's data, not the
/// call's, and can be a mebibyte per message.
const HIDDEN_SUFFIXES: [&str; 1] = ["messagebody"];

/// Replaces the value of every key that looks secret or holds message
/// data, at any depth.
pub fn redact(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let lk = k.to_ascii_lowercase();
                let secret = SECRET_MARKERS.iter().any(|m| lk.contains(m))
                    && !lk.ends_with("tokencode")
                    && lk != "nexttoken";
                if secret || HIDDEN_SUFFIXES.iter().any(|s| lk.ends_with(s)) {
                    *val = Value::String("HIDDEN_DUE_TO_SECURITY_REASONS".into());
                } else {
                    redact(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

impl AuditRecord {
    fn caller_account(&self) -> Option<AccountId> {
        match &self.caller {
            // An anonymous caller has no account of its own: as for any caller
            // not known, the record goes to the management account (and to
            // the resource's owner, the recipient).
            Caller::Principal(p) if p.is_anonymous() => None,
            Caller::Principal(p) => Some(p.account),
            Caller::KeyOf { account, .. } => Some(*account),
            Caller::Unknown { .. } => None,
        }
    }

    fn access_key_id(&self) -> String {
        match &self.caller {
            Caller::Principal(p) => p.access_key_id.clone(),
            Caller::KeyOf { access_key_id, .. } => access_key_id.clone(),
            Caller::Unknown { access_key_id } => access_key_id.clone().unwrap_or_default(),
        }
    }

    fn username(&self) -> String {
        match &self.caller {
            Caller::Principal(p) => p.user_name().to_string(),
            _ => String::new(),
        }
    }

    fn user_identity(&self) -> Value {
        match &self.caller {
            Caller::Principal(p) if p.is_anonymous() => json!({
                "type": p.type_name(),
                "principalId": "",
                "accountId": "anonymous",
            }),
            Caller::Principal(p) => {
                let mut id = json!({
                    "type": p.type_name(),
                    "principalId": p.user_id,
                    "arn": p.arn,
                    "accountId": p.account.to_string(),
                    "accessKeyId": p.access_key_id,
                });
                match &p.kind {
                    crate::IdentityKind::IamUser { name, .. } => id["userName"] = json!(name),
                    crate::IdentityKind::AssumedRole(s) => {
                        id["sessionContext"] = json!({
                            "sessionIssuer": {
                                "type": "Role",
                                "principalId": s.role_id,
                                "arn": p.role_arn(),
                                "accountId": p.account.to_string(),
                                "userName": s.role_name,
                            },
                            "attributes": {
                                "mfaAuthenticated": "false",
                            },
                            "sourceIdentity": s.source_identity,
                        });
                    }
                    crate::IdentityKind::Root | crate::IdentityKind::Anonymous => {}
                }
                id
            }
            Caller::KeyOf {
                account,
                access_key_id,
            } => json!({
                "type": "Unknown",
                "accountId": account.to_string(),
                "accessKeyId": access_key_id,
            }),
            Caller::Unknown { access_key_id } => json!({
                "type": "Unknown",
                "accessKeyId": access_key_id.clone().unwrap_or_default(),
            }),
        }
    }

    /// The CloudTrail event JSON, written straight from the record: no
    /// `Value` tree, no copy of the request's parameters.
    pub fn to_event_json(&self, event_id: &str, recipient: AccountId) -> String {
        let event = EventJson {
            event_version: "1.08",
            user_identity: self.user_identity(),
            event_time: iso8601(self.event_time),
            event_source: &self.event_source,
            event_name: &self.event_name,
            aws_region: &self.region,
            source_ip_address: &self.source_ip,
            user_agent: &self.user_agent,
            request_parameters: &self.request_parameters,
            response_elements: (),
            request_id: &self.request_id,
            event_id,
            read_only: self.read_only,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: recipient,
            ferry_decision_reason: self.decision_reason.as_deref(),
            error_code: self.error_code.as_deref(),
            error_message: self
                .error_code
                .as_ref()
                .map(|_| self.error_message.as_deref().unwrap_or_default()),
        };
        // Serializing borrowed strings, a bool and a `Value` cannot fail.
        serde_json::to_string(&event).unwrap_or_default()
    }
}

/// A CloudTrail event as it is stored, in CloudTrail's field order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    event_version: &'static str,
    user_identity: Value,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    request_parameters: &'a Value,
    response_elements: (),
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    event_type: &'static str,
    management_event: bool,
    #[serde(serialize_with = "account_string")]
    recipient_account_id: AccountId,
    ferry_decision_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
}

fn account_string<S: serde::Serializer>(a: &AccountId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(a)
}

/// The intake of the trail: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditRecord>,
}

impl AuditSink {
    /// Queues a record. Waits only when the writer is far behind, so the
    /// trail is never silently dropped.
    pub async fn record(&self, r: AuditRecord) {
        if self.tx.send(r).await.is_err() {
            tracing::error!("audit writer is gone; record lost");
        }
        metrics::gauge!("ferry_audit_queue_depth").set(self.depth() as f64);
    }

    /// Records waiting for the writer.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// The writer task: batches records and commits them per store.
pub struct AuditWriter {
    rx: mpsc::Receiver<AuditRecord>,
    placement: Arc<Placement>,
}

pub(crate) fn channel(placement: Arc<Placement>, capacity: usize) -> (AuditSink, AuditWriter) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (AuditSink { tx }, AuditWriter { rx, placement })
}

const BATCH: usize = 1024;

/// How long the writer lets records gather after the first of a batch.
/// Every commit that appends to the trail rewrites the right edge of its
/// table and of both its indexes (a dozen pages); committed as they came
/// (one small batch per ~2 ms under load) the trail was three quarters of
/// what the SQS data plane wrote to the WAL. Records are already written
/// off the request path, so this only delays when they can be looked up.
const LINGER: Duration = Duration::from_millis(25);

impl AuditWriter {
    /// Runs until `shutdown`, then drains what is queued and returns.
    pub async fn run(mut self, management: AccountId, shutdown: CancellationToken) {
        let mut buf = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                n = self.rx.recv_many(&mut buf, BATCH) => {
                    if n == 0 {
                        break;
                    }
                    let until = tokio::time::Instant::now() + LINGER;
                    while buf.len() < BATCH {
                        let room = BATCH - buf.len();
                        tokio::select! {
                            n = self.rx.recv_many(&mut buf, room) => if n == 0 { break },
                            _ = tokio::time::sleep_until(until) => break,
                            _ = shutdown.cancelled() => break,
                        }
                    }
                }
                _ = shutdown.cancelled() => {
                    while let Ok(r) = self.rx.try_recv() {
                        buf.push(r);
                    }
                    self.write(management, std::mem::take(&mut buf)).await;
                    break;
                }
            }
            self.write(management, std::mem::take(&mut buf)).await;
            metrics::gauge!("ferry_audit_queue_depth").set(self.rx.len() as f64);
        }
    }

    async fn write(&self, management: AccountId, records: Vec<AuditRecord>) {
        if records.is_empty() {
            return;
        }
        // Group by store so each store gets one transaction per batch.
        let mut groups: HashMap<usize, (Arc<dyn Store>, Vec<AuditEvent>)> = HashMap::new();
        for r in records {
            let caller = r.caller_account();
            let recipient = r.recipient.or(caller).unwrap_or(management);
            let mut owners = vec![caller.unwrap_or(management)];
            if !owners.contains(&recipient) {
                owners.push(recipient);
            }
            let event_id = ferry_types::event_id();
            let body = r.to_event_json(&event_id, recipient);
            for owner in owners {
                let store = match self.placement.existing(owner).await {
                    Ok(Some(s)) => s,
                    // A recipient the client made up (an AssumeRole of a
                    // role in an account that does not exist).
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, account = %owner, "audit: no store");
                        continue;
                    }
                };
                // The store's address identifies it: one group per store.
                let key = Arc::as_ptr(&store) as *const () as usize;
                groups
                    .entry(key)
                    .or_insert_with(|| (store, Vec::new()))
                    .1
                    .push(AuditEvent {
                        account_id: owner,
                        event_id: event_id.clone(),
                        event_time: r.event_time,
                        event_name: r.event_name.clone(),
                        event_source: r.event_source.clone(),
                        username: r.username(),
                        access_key_id: r.access_key_id(),
                        read_only: r.read_only,
                        body: body.clone(),
                    });
            }
        }
        for (_, (store, events)) in groups {
            let n = events.len();
            let mut attempt = 0;
            let batch = WriteBatch::one(Write::AppendAudit(events));
            loop {
                match store.apply(batch.clone()).await {
                    Ok(()) => break,
                    Err(e) if attempt < 5 => {
                        attempt += 1;
                        tracing::warn!(error = %e, attempt, "audit write failed; retrying");
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, records = n, "audit write failed; records lost");
                        break;
                    }
                }
            }
        }
    }
}

/// `LookupEvents`' input.
#[derive(Debug, Clone, Default)]
pub struct LookupInput {
    /// At most one `(AttributeKey, AttributeValue)`, as CloudTrail allows.
    pub attributes: Vec<(String, String)>,
    /// Start of the window.
    pub start: Option<Timestamp>,
    /// End of the window.
    pub end: Option<Timestamp>,
    /// 1..=50, default 50.
    pub max_results: Option<i64>,
    /// From a previous page.
    pub next_token: Option<String>,
}

/// A page of events.
#[derive(Debug, Clone)]
pub struct LookupPage {
    /// The events, newest first.
    pub events: Vec<AuditEvent>,
    /// Where the next page starts.
    pub next_token: Option<String>,
}

fn invalid(code: &'static str, m: impl Into<String>) -> CoreError {
    CoreError::invalid(code, m)
}

fn encode_token(t: Timestamp, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}|{id}", t.timestamp_millis()))
}

fn decode_token(s: &str) -> Option<(Timestamp, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (ms, id) = text.split_once('|')?;
    let t = chrono::DateTime::from_timestamp_millis(ms.parse().ok()?)?;
    Some((t, id.to_string()))
}

impl Ferry {
    /// CloudTrail `LookupEvents`: the caller's account's own records.
    pub async fn lookup_events(
        &self,
        ctx: &RequestContext,
        input: LookupInput,
    ) -> Result<LookupPage, CoreError> {
        let limit = match input.max_results {
            None => 50,
            Some(n @ 1..=50) => n as usize,
            Some(n) => {
                return Err(invalid(
                    "InvalidMaxResultsException",
                    format!("MaxResults {n} must be between 1 and 50"),
                ));
            }
        };
        if input.attributes.len() > 1 {
            return Err(invalid(
                "InvalidLookupAttributesException",
                "LookupAttributes can contain only one item",
            ));
        }
        if let (Some(s), Some(e)) = (input.start, input.end)
            && s > e
        {
            return Err(invalid(
                "InvalidTimeRangeException",
                "StartTime must be before EndTime",
            ));
        }
        let mut q = AuditQuery {
            start: input.start,
            end: input.end,
            limit,
            ..Default::default()
        };
        for (k, v) in input.attributes {
            match k.as_str() {
                "EventId" => q.event_id = Some(v),
                "EventName" => q.event_name = Some(v),
                "Username" => q.username = Some(v),
                "EventSource" => q.event_source = Some(v),
                "AccessKeyId" => q.access_key_id = Some(v),
                "ReadOnly" => {
                    q.read_only = Some(match v.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(invalid(
                                "InvalidLookupAttributesException",
                                "ReadOnly must be true or false",
                            ));
                        }
                    })
                }
                "ResourceType" | "ResourceName" => {
                    // Nothing recorded so far names a resource.
                    return Ok(LookupPage {
                        events: vec![],
                        next_token: None,
                    });
                }
                other => {
                    return Err(invalid(
                        "InvalidLookupAttributesException",
                        format!("Unknown AttributeKey {other:?}"),
                    ));
                }
            }
        }
        if let Some(t) = &input.next_token {
            q.before = Some(decode_token(t).ok_or_else(|| {
                invalid("InvalidNextTokenException", "The NextToken is not valid")
            })?);
        }
        let account = ctx.principal.account;
        self.authorize(
            ctx,
            crate::authz::Check::new("cloudtrail:LookupEvents", "*", account),
        )
        .await?;
        let store = self.placement().for_account(account).await?;
        let events = store.query_audit(account, &q).await?;
        let next_token = if events.len() == limit {
            events
                .last()
                .map(|e| encode_token(e.event_time, &e.event_id))
        } else {
            None
        };
        Ok(LookupPage { events, next_token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let mut v = json!({
            "AccountName": "x",
            "SecretAccessKey": "s",
            "nested": [{"Password": "p", "SessionToken": "t", "NextToken": "n"}],
        });
        redact(&mut v);
        assert_eq!(v["AccountName"], "x");
        assert_eq!(v["SecretAccessKey"], "HIDDEN_DUE_TO_SECURITY_REASONS");
        assert_eq!(v["nested"][0]["Password"], "HIDDEN_DUE_TO_SECURITY_REASONS");
        assert_eq!(
            v["nested"][0]["SessionToken"],
            "HIDDEN_DUE_TO_SECURITY_REASONS"
        );
        assert_eq!(v["nested"][0]["NextToken"], "n");
    }

    #[test]
    fn message_bodies_stay_out_of_the_trail() {
        let mut v = json!({
            "QueueUrl": "http://h/1/q",
            "MessageBody": "card 4111",
            "Entries": [{"Id": "a", "MessageBody": "card 4222"}],
            "SendMessageBatchRequestEntry.1.MessageBody": "card 4333",
        });
        redact(&mut v);
        assert_eq!(v["QueueUrl"], "http://h/1/q");
        assert_eq!(v["Entries"][0]["Id"], "a");
        for hidden in [
            &v["MessageBody"],
            &v["Entries"][0]["MessageBody"],
            &v["SendMessageBatchRequestEntry.1.MessageBody"],
        ] {
            assert_eq!(hidden, "HIDDEN_DUE_TO_SECURITY_REASONS");
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = chrono::DateTime::from_timestamp_millis(1_800_000_000_123).expect("t");
        assert_eq!(
            decode_token(&encode_token(t, "e-1")),
            Some((t, "e-1".into()))
        );
        assert_eq!(decode_token("!!"), None);
        assert_eq!(decode_token("bm9waXBl"), None);
    }
}
