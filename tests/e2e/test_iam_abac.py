"""Principal tags and GetSessionToken's limits.

A user's tags are its `aws:PrincipalTag/*` (attribute-based access control);
credentials from GetSessionToken (no MFA here) may not call IAM, as on AWS,
but GetCallerIdentity and AssumeRole still work.
"""

import pytest

from iam_util import allow, doc, key_creds, session_creds
from util import Creds, client_error, unique


@pytest.fixture(scope="module")
def acct(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("abac"), "pooled"))


@pytest.fixture(scope="module")
def iam(ferry, acct):
    return ferry.client("iam", acct)


def user_with_key(iam, acct, policy: str, tags=()):
    name = unique("abac-user")
    iam.create_user(UserName=name, Tags=list(tags))
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    return name, key_creds(iam.create_access_key(UserName=name)["AccessKey"], acct.account_id)


def test_user_tags_are_principal_tags(ferry, iam, acct):
    policy = doc(allow("iam:ListRoles", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    name, creds = user_with_key(iam, acct, policy, [{"Key": "team", "Value": "blue"}])
    theirs = ferry.client("iam", creds)
    assert theirs.list_roles()["Roles"], "tagged team=blue: allowed"
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}])
    with client_error("AccessDenied", 403):
        theirs.list_roles()
    iam.untag_user(UserName=name, TagKeys=["team"])
    with client_error("AccessDenied", 403):
        theirs.list_roles()


def test_get_session_token_credentials_cannot_call_iam(ferry, iam, acct):
    name, creds = user_with_key(iam, acct, doc(allow(["iam:*", "sts:*"])))
    assert ferry.client("iam", creds).list_roles()["Roles"], "the key itself may"
    session = session_creds(ferry.client("sts", creds).get_session_token(DurationSeconds=900), acct.account_id)
    me = ferry.client("sts", session).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{acct.account_id}:user/{name}"
    with client_error("AccessDenied", 403):
        ferry.client("iam", session).list_roles()
    with client_error("AccessDenied", 403):
        ferry.client("sts", session).get_session_token()


def test_resource_tags_and_request_tags_decide_iam_calls(ferry, iam, acct):
    blue, red = unique("blue"), unique("red")
    for name, team in [(blue, "blue"), (red, "red")]:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": acct.account_id}, "Action": "sts:AssumeRole"}),
            Tags=[{"Key": "team", "Value": team}])
    policy = doc(
        allow("iam:GetRole", Condition={"StringEquals": {"aws:ResourceTag/team": "blue"}}),
        allow("iam:TagRole", Condition={"StringEquals": {"aws:RequestTag/team": "blue"},
                                         "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
    )
    _, creds = user_with_key(iam, acct, policy)
    theirs = ferry.client("iam", creds)
    assert theirs.get_role(RoleName=blue)["Role"]["RoleName"] == blue
    with client_error("AccessDenied", 403):
        theirs.get_role(RoleName=red)
    theirs.tag_role(RoleName=red, Tags=[{"Key": "team", "Value": "blue"}])
    assert theirs.get_role(RoleName=red)["Role"]["RoleName"] == red, "retagged blue: now readable"
    with client_error("AccessDenied", 403):
        theirs.tag_role(RoleName=red, Tags=[{"Key": "team", "Value": "green"}])
    with client_error("AccessDenied", 403):
        theirs.tag_role(RoleName=red, Tags=[{"Key": "team", "Value": "blue"}, {"Key": "owner", "Value": "x"}])


def test_path_scoped_policies_match_the_full_arn(ferry, iam, acct):
    scoped, plain = unique("scoped"), unique("plain")
    trust_doc = doc({"Effect": "Allow", "Principal": {"AWS": acct.account_id}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName=scoped, Path="/integrations/", AssumeRolePolicyDocument=trust_doc)
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=trust_doc)
    _, creds = user_with_key(iam, acct, doc(allow(
        "iam:GetRole", f"arn:aws:iam::{acct.account_id}:role/integrations/*")))
    theirs = ferry.client("iam", creds)
    assert theirs.get_role(RoleName=scoped)["Role"]["Path"] == "/integrations/"
    with client_error("AccessDenied", 403):
        theirs.get_role(RoleName=plain)
