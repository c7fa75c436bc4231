"""Contract 12: the real `aws` CLI (v1) against Ferry."""

from util import Creds, request_ids, unique, unique_email, wait_for_request_ids


def test_sts_get_caller_identity(ferry, operator, member):
    out = ferry.aws_json("sts", "get-caller-identity", creds=operator)
    assert out["Account"] == operator.account_id
    assert out["Arn"] == f"arn:aws:iam::{operator.account_id}:root"
    out = ferry.aws_json("sts", "get-caller-identity", creds=member)
    assert out["Account"] == member.account_id
    assert out["Arn"] == f"arn:aws:iam::{member.account_id}:user/admin"


def test_organizations_create_and_list_accounts(ferry, operator):
    name, email = unique("awscli"), unique_email("awscli")
    out = ferry.aws_json("organizations", "create-account", "--email", email, "--account-name", name,
                         creds=operator)
    st = out["CreateAccountStatus"]
    assert st["State"] == "SUCCEEDED", st
    assert st["AccountName"] == name

    listed = ferry.aws_json("organizations", "list-accounts", creds=operator)["Accounts"]
    ids = [a["Id"] for a in listed]
    assert len(ids) == len(set(ids))
    assert st["AccountId"] in ids and operator.account_id in ids
    assert set(ids) == {a["account_id"] for a in ferry.list_accounts()}
    entry = next(a for a in listed if a["Id"] == st["AccountId"])
    assert entry["Name"] == name and entry["Email"] == email

    key = Creds.from_mapping(ferry.account_key(st["AccountId"]))
    assert ferry.aws_json("sts", "get-caller-identity", creds=key)["Account"] == st["AccountId"]


def test_organizations_denied_for_member(ferry, member):
    p = ferry.aws("organizations", "list-accounts", creds=member)
    assert p.returncode != 0
    assert "AccessDeniedException" in p.stderr, p.stderr


def test_wrong_secret_fails(ferry, operator):
    p = ferry.aws("sts", "get-caller-identity", creds=operator.with_secret(operator.secret_access_key[::-1]))
    assert p.returncode != 0
    assert "SignatureDoesNotMatch" in p.stderr, p.stderr


def test_cloudtrail_lookup_events(ferry, member):
    sts = ferry.client("sts", member)
    ids = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(6)]
    wait_for_request_ids(ferry.client("cloudtrail", member), ids)

    # --max-results is the API's own page size: the CLI makes one call and returns its page.
    first = ferry.aws_json("cloudtrail", "lookup-events", "--max-results", "5", creds=member)
    assert len(first["Events"]) == 5, [e.get("EventName") for e in first["Events"]]
    for e in first["Events"]:
        assert e["EventId"] and e["EventName"] and e["EventSource"] and e["EventTime"] and e["CloudTrailEvent"]
    assert first.get("NextToken"), "more than 5 events exist, so the page must carry a NextToken"
    second = ferry.aws_json("cloudtrail", "lookup-events", "--max-results", "5",
                            "--next-token", first["NextToken"], creds=member)
    assert second["Events"]
    assert not {e["EventId"] for e in first["Events"]} & {e["EventId"] for e in second["Events"]}

    # Without it the CLI follows NextToken itself.
    every = ferry.aws_json("cloudtrail", "lookup-events", "--lookup-attributes",
                           "AttributeKey=EventName,AttributeValue=GetCallerIdentity", "--page-size", "2",
                           creds=member)["Events"]
    assert len({e["EventId"] for e in every}) == len(every), "duplicate events across pages"
    assert all(e["EventName"] == "GetCallerIdentity" for e in every)
    assert set(ids) <= request_ids(every)
