"""The IAM policy simulator: SimulatePrincipalPolicy (a user with its groups,
a role, a group) and SimulateCustomPolicy, answered by the engine that decides
every real call, so a simulated answer and a real call agree.
"""

import json

import pytest

from iam_util import ORG_ROLE, allow, deny, doc, key_creds, role_arn, root_arn, trust, user_arn
from util import Creds, client_error, unique

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.fixture(scope="module")
def acct(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("sim"), "pooled"))


@pytest.fixture(scope="module")
def iam(ferry, acct):
    return ferry.client("iam", acct)


def results(resp) -> dict[tuple[str, str], dict]:
    return {(r["EvalActionName"], r["EvalResourceName"]): r for r in resp["EvaluationResults"]}


def decisions(resp) -> dict[tuple[str, str], str]:
    return {k: r["EvalDecision"] for k, r in results(resp).items()}


def test_a_user_with_an_inline_policy(iam, acct):
    user = unique("u")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=doc(allow("iam:ListRoles")))
    resp = iam.simulate_principal_policy(PolicySourceArn=user_arn(acct.account_id, user),
                                         ActionNames=["iam:ListRoles", "iam:CreateRole"])
    assert not resp["IsTruncated"]
    got = results(resp)
    assert got[("iam:ListRoles", "*")]["EvalDecision"] == "allowed"
    assert got[("iam:ListRoles", "*")]["MatchedStatements"][0]["SourcePolicyId"] == "list"
    assert got[("iam:ListRoles", "*")]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert got[("iam:CreateRole", "*")]["EvalDecision"] == "implicitDeny"
    assert got[("iam:CreateRole", "*")]["MatchedStatements"] == []


def test_each_action_on_each_resource(iam, acct):
    user = unique("u")
    iam.create_user(UserName=user)
    mine = role_arn(acct.account_id, "mine-*")
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(
        allow(["iam:GetRole", "iam:DeleteRole"], mine), deny("iam:DeleteRole", role_arn(acct.account_id, "mine-keep"))))
    a, keep, other = (role_arn(acct.account_id, n) for n in ("mine-a", "mine-keep", "other"))
    resp = iam.simulate_principal_policy(PolicySourceArn=user_arn(acct.account_id, user),
                                         ActionNames=["iam:GetRole", "iam:DeleteRole"],
                                         ResourceArns=[a, keep, other])
    assert decisions(resp) == {
        ("iam:GetRole", a): "allowed", ("iam:GetRole", keep): "allowed", ("iam:GetRole", other): "implicitDeny",
        ("iam:DeleteRole", a): "allowed", ("iam:DeleteRole", keep): "explicitDeny",
        ("iam:DeleteRole", other): "implicitDeny",
    }


def test_attached_group_and_boundary_policies_count(iam, acct):
    user = unique("u")
    group = unique("g")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    arn = user_arn(acct.account_id, user)
    got = results(iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:ListUsers"]))
    m = got[("iam:ListUsers", "*")]
    assert m["EvalDecision"] == "allowed"
    assert m["MatchedStatements"][0]["SourcePolicyId"] == READ_ONLY_ARN
    assert m["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"

    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN_ARN)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=READ_ONLY_ARN)
    got = decisions(iam.simulate_principal_policy(PolicySourceArn=arn,
                                                  ActionNames=["iam:ListUsers", "iam:CreateUser"]))
    assert got == {("iam:ListUsers", "*"): "allowed", ("iam:CreateUser", "*"): "implicitDeny"}

    group_arn = f"arn:aws:iam::{acct.account_id}:group/{group}"
    got = decisions(iam.simulate_principal_policy(PolicySourceArn=group_arn,
                                                  ActionNames=["iam:ListUsers", "iam:CreateUser"]))
    assert got == {("iam:ListUsers", "*"): "allowed", ("iam:CreateUser", "*"): "implicitDeny"}


def test_a_role_and_extra_policy_inputs(iam, acct):
    role = unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(root_arn(acct.account_id)))
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN_ARN)
    arn = role_arn(acct.account_id, role)
    assert decisions(iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:DeleteUser"])) == {
        ("iam:DeleteUser", "*"): "allowed"}
    got = results(iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:DeleteUser"],
                                                PolicyInputList=[doc(deny("iam:Delete*"))]))
    r = got[("iam:DeleteUser", "*")]
    assert r["EvalDecision"] == "explicitDeny"
    assert [m["SourcePolicyId"] for m in r["MatchedStatements"]] == ["PolicyInputList.1"]


def test_context_entries_feed_conditions(iam, acct):
    policy = doc(allow("iam:ListRoles", condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                 allow("iam:ListUsers", condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))

    def run(ip, region):
        return decisions(iam.simulate_custom_policy(
            PolicyInputList=[policy], ActionNames=["iam:ListRoles", "iam:ListUsers"],
            ContextEntries=[
                {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [ip], "ContextKeyType": "ip"},
                {"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": [region],
                 "ContextKeyType": "string"},
            ]))

    assert run("10.1.2.3", "eu-west-1") == {("iam:ListRoles", "*"): "allowed", ("iam:ListUsers", "*"): "allowed"}
    assert run("192.168.0.1", "us-east-1") == {("iam:ListRoles", "*"): "implicitDeny",
                                               ("iam:ListUsers", "*"): "implicitDeny"}


def test_simulate_custom_policy(iam):
    resp = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("s3:*")), doc(deny("s3:DeleteBucket"))],
        ActionNames=["s3:GetObject", "s3:DeleteBucket", "sqs:SendMessage"],
        ResourceArns=["arn:aws:s3:::b/k"])
    got = results(resp)
    assert got[("s3:GetObject", "arn:aws:s3:::b/k")]["EvalDecision"] == "allowed"
    assert got[("s3:GetObject", "arn:aws:s3:::b/k")]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert got[("s3:DeleteBucket", "arn:aws:s3:::b/k")]["EvalDecision"] == "explicitDeny"
    assert got[("s3:DeleteBucket", "arn:aws:s3:::b/k")]["MatchedStatements"][0]["SourcePolicyId"] == \
        "PolicyInputList.2"
    assert got[("sqs:SendMessage", "arn:aws:s3:::b/k")]["EvalDecision"] == "implicitDeny"


def test_simulation_agrees_with_a_real_call(ferry, iam, acct):
    user = unique("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(allow("iam:GetRole")))
    theirs = ferry.client("iam", key_creds(key, acct.account_id))
    got = decisions(iam.simulate_principal_policy(
        PolicySourceArn=user_arn(acct.account_id, user), ActionNames=["iam:GetRole", "iam:ListRoles"],
        ResourceArns=[role_arn(acct.account_id, ORG_ROLE)]))
    assert got[("iam:GetRole", role_arn(acct.account_id, ORG_ROLE))] == "allowed"
    assert theirs.get_role(RoleName=ORG_ROLE)
    assert got[("iam:ListRoles", role_arn(acct.account_id, ORG_ROLE))] == "implicitDeny"
    with client_error("AccessDenied", 403):
        theirs.list_roles()


def test_simulate_errors(ferry, iam, acct):
    with client_error("NoSuchEntity", 404):
        iam.simulate_principal_policy(PolicySourceArn=user_arn(acct.account_id, unique("nobody")),
                                      ActionNames=["iam:ListRoles"])
    with client_error("InvalidInput", 400):
        iam.simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:policy/x",
                                      ActionNames=["iam:ListRoles"])
    with client_error("MalformedPolicyDocument", 400):
        iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["iam:ListRoles"])
    with client_error("InvalidInput", 400):
        iam.simulate_custom_policy(PolicyInputList=[doc(allow("*"))], ActionNames=["iam:ListRoles"],
                                   ContextEntries=[{"ContextKeyName": "aws:SourceIp",
                                                    "ContextKeyValues": ["not-an-ip"], "ContextKeyType": "ip"}])
    other = Creds.from_mapping(ferry.create_account(unique("other"), "pooled"))
    with client_error("NoSuchEntity", 404):
        ferry.client("iam", other).simulate_principal_policy(
            PolicySourceArn=user_arn(acct.account_id, "admin"), ActionNames=["iam:ListRoles"])


def test_simulating_needs_permission(ferry, iam, acct):
    user = unique("u")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    theirs = ferry.client("iam", key_creds(key, acct.account_id))
    with client_error("AccessDenied", 403):
        theirs.simulate_custom_policy(PolicyInputList=[doc(allow("*"))], ActionNames=["iam:ListRoles"])
    with client_error("AccessDenied", 403):
        theirs.simulate_principal_policy(PolicySourceArn=user_arn(acct.account_id, "admin"),
                                         ActionNames=["iam:ListRoles"])
