"""Contract 8: the audit trail, read through CloudTrail LookupEvents.

Account A (pooled) and account B (siloed) each call GetCallerIdentity; A also
fails a signature, is denied an Organizations call, and uses a second key.
Each account must see its own records and nothing of the other's.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass, field

import pytest

from util import (AUDIT_WAIT, Creds, client_error, ct_detail, audit_dump, lookup_all,
                  request_ids, unique, unique_email, utcnow, wait_for, wait_for_request_ids)

GCI = "GetCallerIdentity"
STS_SOURCE = "sts.amazonaws.com"
ORG_SOURCE = "organizations.amazonaws.com"


def rid(resp):
    return resp["ResponseMetadata"]["RequestId"]


def attr(key, value):
    return [{"AttributeKey": key, "AttributeValue": value}]


@dataclass
class Trail:
    a: Creds
    b: Creds
    a2: Creds                      # A's second admin key (ferry account key)
    a_ids: list                    # A's GetCallerIdentity request ids with its first key, us-east-1
    a_region_id: str               # one more, signed for eu-west-1
    a2_ids: list                   # with the second key
    b_ids: list
    op_ids: list
    denied_id: str                 # A's denied organizations:CreateAccount
    secrets: list = field(default_factory=list)

    def all_a_gci(self):
        return set(self.a_ids) | {self.a_region_id} | set(self.a2_ids)


@pytest.fixture(scope="module")
def trail(ferry, operator):
    a = Creds.from_mapping(ferry.create_account(unique("audit-a"), "pooled"))
    b = Creds.from_mapping(ferry.create_account(unique("audit-b"), "siloed"))

    sts_a = ferry.client("sts", a)
    a_ids = [rid(sts_a.get_caller_identity()) for _ in range(6)]
    a_region_id = rid(ferry.client("sts", a, region="eu-west-1").get_caller_identity())
    a2 = Creds.from_mapping(ferry.account_key(a.account_id))
    sts_a2 = ferry.client("sts", a2)
    a2_ids = [rid(sts_a2.get_caller_identity()) for _ in range(2)]

    sts_b = ferry.client("sts", b)
    b_ids = [rid(sts_b.get_caller_identity()) for _ in range(4)]

    with client_error("SignatureDoesNotMatch", 403):
        ferry.client("sts", a.with_secret(a.secret_access_key[::-1])).get_caller_identity()
    with client_error("AccessDeniedException") as err:
        ferry.client("organizations", a).create_account(Email=unique_email("denied"), AccountName="denied")
    denied_id = err.value.response["ResponseMetadata"]["RequestId"]

    # Operator calls whose *responses* carry fresh secrets.
    c = ferry.create_account(unique("audit-c"), "pooled", via="endpoint")
    c2 = ferry.account_key(c["account_id"], via="endpoint")
    sts_op = ferry.client("sts", operator)
    op_ids = [rid(sts_op.get_caller_identity()) for _ in range(2)]

    t = Trail(a=a, b=b, a2=a2, a_ids=a_ids, a_region_id=a_region_id, a2_ids=a2_ids, b_ids=b_ids,
              op_ids=op_ids, denied_id=denied_id,
              secrets=[operator.secret_access_key, a.secret_access_key, a2.secret_access_key,
                       b.secret_access_key, c["secret_access_key"], c2["secret_access_key"]])

    wait_for_request_ids(ferry.client("cloudtrail", a), t.all_a_gci() | {denied_id})
    wait_for_request_ids(ferry.client("cloudtrail", b), b_ids)
    wait_for_request_ids(ferry.client("cloudtrail", operator), op_ids)
    return t


def everything(ferry, creds, **kw):
    return lookup_all(ferry.client("cloudtrail", creds), **kw)


def assert_only_own(events, account_id):
    for e in events:
        d = ct_detail(e)
        caller = (d.get("userIdentity") or {}).get("accountId")
        assert account_id in (caller, d.get("recipientAccountId")), \
            f"account {account_id} sees a record that is neither by nor for it: {d}"


# ---------------------------------------------------------------- visibility


def test_each_account_sees_its_own_calls(ferry, trail):
    assert trail.all_a_gci() <= request_ids(everything(ferry, trail.a))
    assert set(trail.b_ids) <= request_ids(everything(ferry, trail.b))


def test_accounts_do_not_see_each_other(ferry, trail, operator):
    a_events = everything(ferry, trail.a)
    b_events = everything(ferry, trail.b)
    op_events = everything(ferry, operator)

    assert_only_own(a_events, trail.a.account_id)
    assert_only_own(b_events, trail.b.account_id)
    assert_only_own(op_events, operator.account_id)

    a_keys = {trail.a.access_key_id, trail.a2.access_key_id}
    assert not request_ids(a_events) & set(trail.b_ids), "A sees B's calls"
    assert trail.b.access_key_id not in {e.get("AccessKeyId") for e in a_events}
    assert not request_ids(b_events) & trail.all_a_gci(), "B sees A's calls"
    assert not a_keys & {e.get("AccessKeyId") for e in b_events}
    assert not request_ids(op_events) & (trail.all_a_gci() | set(trail.b_ids)), \
        "the operator sees member accounts' own calls"

    # A filter on another account's key finds nothing either.
    ct_b = ferry.client("cloudtrail", trail.b)
    assert lookup_all(ct_b, LookupAttributes=attr("AccessKeyId", trail.a.access_key_id)) == []


# ---------------------------------------------------------------- record shape


def find(events, request_id):
    for e in events:
        if ct_detail(e).get("requestID") == request_id:
            return e
    pytest.fail(f"no record with requestID {request_id}")


def test_event_fields(ferry, trail):
    events = everything(ferry, trail.a, LookupAttributes=attr("EventName", GCI))
    e = find(events, trail.a_ids[0])
    assert e["EventId"]
    assert e["EventName"] == GCI
    assert isinstance(e["EventTime"], dt.datetime)
    assert abs((utcnow() - e["EventTime"]).total_seconds()) < 600, e["EventTime"]
    assert e["EventSource"] == STS_SOURCE
    assert e["Username"] == "admin"

    d = ct_detail(e)
    for key in ("eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
                "userIdentity", "requestParameters", "requestID", "eventID", "recipientAccountId",
                "ferryDecisionReason"):
        assert key in d, f"CloudTrailEvent lacks {key}: {d}"
    dt.datetime.fromisoformat(d["eventTime"].replace("Z", "+00:00"))  # parseable timestamp
    assert d["eventSource"] == STS_SOURCE
    assert d["eventName"] == GCI
    assert d["awsRegion"] == "us-east-1"
    assert d["sourceIPAddress"] == "127.0.0.1"
    assert "boto" in d["userAgent"].lower(), d["userAgent"]
    ui = d["userIdentity"]
    assert ui["type"] == "IAMUser", ui
    assert ui["arn"] == f"arn:aws:iam::{trail.a.account_id}:user/admin"
    assert ui["accountId"] == trail.a.account_id
    assert ui["accessKeyId"] == trail.a.access_key_id
    assert d["requestID"] == trail.a_ids[0]
    assert d["eventID"] == e["EventId"]
    assert d["recipientAccountId"] == trail.a.account_id
    assert not d.get("errorCode"), d


def test_region_is_recorded(ferry, trail):
    e = find(everything(ferry, trail.a, LookupAttributes=attr("EventName", GCI)), trail.a_region_id)
    assert ct_detail(e)["awsRegion"] == "eu-west-1"


# ---------------------------------------------------------------- lookup attributes


def test_lookup_by_event_name(ferry, trail):
    events = everything(ferry, trail.a, LookupAttributes=attr("EventName", GCI))
    assert events and all(e["EventName"] == GCI for e in events)
    assert trail.all_a_gci() <= request_ids(events)
    assert trail.denied_id not in request_ids(events)


def test_lookup_by_username(ferry, trail):
    events = everything(ferry, trail.a, LookupAttributes=attr("Username", "admin"))
    assert events and all(e.get("Username") == "admin" for e in events)
    assert trail.all_a_gci() <= request_ids(events)
    none = everything(ferry, trail.a, LookupAttributes=attr("Username", "nobody-" + unique()))
    assert none == []


def test_lookup_by_access_key_id(ferry, trail):
    events = everything(ferry, trail.a, LookupAttributes=attr("AccessKeyId", trail.a2.access_key_id))
    assert events and all(e.get("AccessKeyId") == trail.a2.access_key_id for e in events)
    ids = request_ids(events)
    assert set(trail.a2_ids) <= ids
    assert not ids & set(trail.a_ids), "events of the first key returned for the second key"


def test_lookup_by_event_source(ferry, trail):
    sts_events = everything(ferry, trail.a, LookupAttributes=attr("EventSource", STS_SOURCE))
    assert sts_events and all(e["EventSource"] == STS_SOURCE for e in sts_events)
    assert trail.all_a_gci() <= request_ids(sts_events)
    assert trail.denied_id not in request_ids(sts_events)

    org_events = everything(ferry, trail.a, LookupAttributes=attr("EventSource", ORG_SOURCE))
    assert all(e["EventSource"] == ORG_SOURCE for e in org_events)
    assert trail.denied_id in request_ids(org_events)


def test_lookup_by_read_only(ferry, trail):
    ro = request_ids(everything(ferry, trail.a, LookupAttributes=attr("ReadOnly", "true")))
    rw = request_ids(everything(ferry, trail.a, LookupAttributes=attr("ReadOnly", "false")))
    assert trail.all_a_gci() <= ro, "GetCallerIdentity is read-only"
    assert not trail.all_a_gci() & rw
    assert trail.denied_id in rw, "CreateAccount is not read-only"
    assert trail.denied_id not in ro


# ---------------------------------------------------------------- time range and paging


def test_start_and_end_time(ferry, trail):
    sts = ferry.client("sts", trail.a)
    before = [rid(sts.get_caller_identity()) for _ in range(2)]
    time.sleep(1.5)
    mid = utcnow()
    time.sleep(1.5)
    after = [rid(sts.get_caller_identity()) for _ in range(2)]
    ct = ferry.client("cloudtrail", trail.a)
    wait_for_request_ids(ct, before + after, LookupAttributes=attr("EventName", GCI))

    since = request_ids(lookup_all(ct, LookupAttributes=attr("EventName", GCI), StartTime=mid))
    assert set(after) <= since and not set(before) & since, "StartTime not honoured"
    until = request_ids(lookup_all(ct, LookupAttributes=attr("EventName", GCI), EndTime=mid))
    assert set(before) <= until and not set(after) & until, "EndTime not honoured"
    window = request_ids(lookup_all(ct, LookupAttributes=attr("EventName", GCI),
                                    StartTime=mid - dt.timedelta(hours=1), EndTime=mid))
    assert set(before) <= window and not set(after) & window


def test_pagination_with_max_results_and_next_token(ferry, trail):
    ct = ferry.client("cloudtrail", trail.a)
    query = {"LookupAttributes": attr("EventName", GCI)}
    pages, seen, token = 0, [], None
    while True:
        kw = dict(query, MaxResults=2)
        if token:
            kw["NextToken"] = token
        page = ct.lookup_events(**kw)
        assert len(page["Events"]) <= 2
        seen.extend(e["EventId"] for e in page["Events"])
        pages += 1
        token = page.get("NextToken")
        if not token or pages > 500:
            break
    assert not token, "pagination did not end"
    assert len(seen) == len(set(seen)), "an event was returned on two pages"
    assert pages >= 4, f"{len(seen)} events in only {pages} pages of 2"
    single = [e["EventId"] for e in ct.lookup_events(MaxResults=50, **query)["Events"]]
    assert set(seen) == set(single)


# ---------------------------------------------------------------- failures are recorded


def test_failed_authentication_is_recorded(ferry, trail):
    def bad_sig_events():
        return [e for e in everything(ferry, trail.a)
                if ct_detail(e).get("errorCode") == "SignatureDoesNotMatch"]

    events = wait_for(bad_sig_events, desc="A's SignatureDoesNotMatch record")
    d = ct_detail(events[0])
    assert (d.get("userIdentity") or {}).get("accessKeyId") == trail.a.access_key_id, d
    assert d.get("errorMessage"), d
    assert not [e for e in everything(ferry, trail.b)
                if ct_detail(e).get("errorCode") == "SignatureDoesNotMatch"], "B sees A's failed call"


def test_denied_call_is_recorded(ferry, trail):
    e = find(everything(ferry, trail.a), trail.denied_id)
    d = ct_detail(e)
    assert e["EventName"] == "CreateAccount"
    assert e["EventSource"] == ORG_SOURCE
    assert d["errorCode"] == "AccessDeniedException", d
    assert d.get("errorMessage"), d
    assert isinstance(d.get("ferryDecisionReason"), str) and d["ferryDecisionReason"], d
    assert d["userIdentity"]["accountId"] == trail.a.account_id


# ---------------------------------------------------------------- no secrets


def test_secrets_never_appear_in_records(ferry, trail, operator):
    texts = []
    for creds in (operator, trail.a, trail.b):
        texts.append(json.dumps(everything(ferry, creds), default=str))
    stores = [ferry.data_dir / "ferry.db", *sorted(ferry.data_dir.glob("accounts/*/ferry.db"))]
    assert len(stores) >= 2, stores  # main + B's silo
    time.sleep(min(AUDIT_WAIT, 2.0))  # let the last batch land
    for db in stores:
        texts.append(audit_dump(db))
    blob = "\n".join(texts)
    for i, secret in enumerate(trail.secrets):
        assert secret not in blob, f"secret #{i} appears in the audit records"
