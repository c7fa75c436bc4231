"""Contract 4: Organizations, operator only."""

import random

import pytest

from util import (ACCOUNT_ID_RE, ORG_TARGET, Creds, client_error, json_call, unique,
                  unique_email)


@pytest.fixture(scope="module")
def org(ferry, operator):
    return ferry.client("organizations", operator)


@pytest.fixture(scope="module")
def siloed(org):
    """An account made by the operator through Organizations, tagged siloed."""
    email, name = unique_email("org"), unique("org")
    resp = org.create_account(Email=email, AccountName=name,
                              Tags=[{"Key": "ferry:tier", "Value": "siloed"}])
    return {"email": email, "name": name, "status": resp["CreateAccountStatus"]}


def test_create_account_succeeds(siloed):
    st = siloed["status"]
    assert st["Id"], st
    assert st["State"] == "SUCCEEDED", st
    assert ACCOUNT_ID_RE.match(st["AccountId"]), st
    assert st["AccountName"] == siloed["name"]


def test_describe_create_account_status(org, siloed):
    st = org.describe_create_account_status(CreateAccountRequestId=siloed["status"]["Id"])["CreateAccountStatus"]
    assert st["Id"] == siloed["status"]["Id"]
    assert st["State"] == "SUCCEEDED"
    assert st["AccountId"] == siloed["status"]["AccountId"]
    assert st["AccountName"] == siloed["name"]


def test_describe_account(org, siloed):
    account_id = siloed["status"]["AccountId"]
    acct = org.describe_account(AccountId=account_id)["Account"]
    assert acct["Id"] == account_id
    assert acct["Arn"].startswith("arn:aws:organizations::") and account_id in acct["Arn"], acct["Arn"]
    assert acct["Email"] == siloed["email"]
    assert acct["Name"] == siloed["name"]
    assert acct["Status"] == "ACTIVE"
    assert acct["JoinedMethod"] == "CREATED"


def test_tier_tag_and_default_tier(ferry, org, siloed):
    pooled_id = org.create_account(Email=unique_email("dflt"), AccountName=unique("dflt"))[
        "CreateAccountStatus"]["AccountId"]
    rows = {a["account_id"]: a for a in ferry.list_accounts()}
    assert rows[siloed["status"]["AccountId"]]["tier"] == "siloed"
    assert rows[siloed["status"]["AccountId"]]["email"] == siloed["email"]
    assert rows[pooled_id]["tier"] == "pooled"


def test_created_account_is_usable_through_account_key(ferry, siloed):
    account_id = siloed["status"]["AccountId"]
    key = ferry.account_key(account_id)
    assert key["account_id"] == account_id
    ident = ferry.identity(Creds.from_mapping(key))
    assert ident["Account"] == account_id
    assert ident["Arn"] == f"arn:aws:iam::{account_id}:user/admin"


def test_list_accounts_paginates_one_at_a_time(ferry, org, siloed):
    seen, token = [], None
    for _ in range(1000):
        kw = {"MaxResults": 1}
        if token:
            kw["NextToken"] = token
        page = org.list_accounts(**kw)
        assert len(page["Accounts"]) <= 1, page["Accounts"]
        seen.extend(a["Id"] for a in page["Accounts"])
        token = page.get("NextToken")
        if not token:
            break
    else:
        pytest.fail("ListAccounts never stopped returning NextToken")
    assert len(seen) == len(set(seen)), f"an account was listed twice: {seen}"
    assert ferry.operator["account_id"] in seen, "management account missing from ListAccounts"
    assert siloed["status"]["AccountId"] in seen
    assert set(seen) == {a["account_id"] for a in ferry.list_accounts()}


def test_list_accounts_entries(org, siloed):
    accounts = {a["Id"]: a for a in org.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]}
    a = accounts[siloed["status"]["AccountId"]]
    assert a["Name"] == siloed["name"] and a["Email"] == siloed["email"] and a["Status"] == "ACTIVE"


def test_describe_organization(ferry, org, operator):
    o = org.describe_organization()["Organization"]
    assert o["MasterAccountId"] == ferry.operator["account_id"]
    # ManagementAccountId is not in boto3's model; read the raw document.
    raw = json_call(ferry.endpoint, operator, "organizations", f"{ORG_TARGET}.DescribeOrganization", {})
    assert raw.status == 200, raw
    doc = raw.json()["Organization"]
    assert doc.get("MasterAccountId") == ferry.operator["account_id"]
    if "ManagementAccountId" in doc:
        assert doc["ManagementAccountId"] == ferry.operator["account_id"]


def test_describe_unknown_account(ferry, org):
    known = {a["account_id"] for a in ferry.list_accounts()}
    rng = random.Random(4)
    unknown = next(i for i in (f"{rng.randrange(10**12):012d}" for _ in range(100)) if i not in known)
    with client_error("AccountNotFoundException"):
        org.describe_account(AccountId=unknown)


MEMBER_CALLS = {
    "ListAccounts": lambda c, s: c.list_accounts(),
    "DescribeOrganization": lambda c, s: c.describe_organization(),
    "DescribeAccount": lambda c, s: c.describe_account(AccountId=s["status"]["AccountId"]),
    "DescribeCreateAccountStatus": lambda c, s: c.describe_create_account_status(
        CreateAccountRequestId=s["status"]["Id"]),
    "CreateAccount": lambda c, s: c.create_account(Email=unique_email("nope"), AccountName="made-by-member"),
}


@pytest.mark.parametrize("op", sorted(MEMBER_CALLS))
def test_member_account_is_denied(ferry, member, siloed, op):
    before = {a["account_id"] for a in ferry.list_accounts()}
    client = ferry.client("organizations", member)
    with client_error("AccessDeniedException"):
        MEMBER_CALLS[op](client, siloed)
    assert {a["account_id"] for a in ferry.list_accounts()} == before


def test_operator_reaches_a_new_account_through_organization_account_access_role(ferry, org, operator):
    """As on AWS: the management account assumes the role every created
    account gets, and acts inside the new account with its rights."""
    account_id = org.create_account(Email=unique_email("oaar"), AccountName=unique("oaar"),
                                    Tags=[{"Key": "ferry:tier", "Value": "siloed"}])[
        "CreateAccountStatus"]["AccountId"]
    sts = ferry.client("sts", operator)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
                            RoleSessionName="operator")["Credentials"]
    session = Creds(account_id=account_id, access_key_id=creds["AccessKeyId"],
                    secret_access_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    me = ferry.client("sts", session).get_caller_identity()
    assert me["Account"] == account_id
    assert me["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/OrganizationAccountAccessRole/operator"
    users = ferry.client("iam", session).list_users()["Users"]
    assert [u["UserName"] for u in users] == ["admin"], "the session acts inside the new account"


def test_member_cannot_use_another_members_organization_role(ferry, org, member):
    account_id = org.create_account(Email=unique_email("oaar2"), AccountName=unique("oaar2"))[
        "CreateAccountStatus"]["AccountId"]
    with client_error("AccessDenied", 403):
        ferry.client("sts", member).assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="intruder")
