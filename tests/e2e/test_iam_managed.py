"""IAM managed policies: customer managed policies and their versions, the AWS
managed ones Ferry has built in, attaching both to users and roles, and what
an attachment grants (on the very next call), as session policies too.

Accounts come from `ferry account create`; their `admin` user has
arn:aws:iam::aws:policy/AdministratorAccess attached.
"""

import json
import re

import pytest

from iam_util import ORG_ROLE, allow, deny, doc, key_creds, role_arn, root_arn, session_creds, status, trust
from util import Creds, client_error, unique, utcnow

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POLICY_ID_RE = re.compile(r"^ANPA[A-Z0-9]{17}$")
LIST_ROLES = doc(allow("iam:ListRoles"))


@pytest.fixture(scope="module")
def acct(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("managed"), "pooled"))


@pytest.fixture(scope="module")
def other(ferry) -> Creds:
    """Another account's admin."""
    return Creds.from_mapping(ferry.create_account(unique("other"), "pooled"))


@pytest.fixture(scope="module")
def iam(ferry, acct):
    return ferry.client("iam", acct)


def policy_arn(account_id: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


def new_policy(iam, document: str = LIST_ROLES, name: str | None = None, **kw) -> str:
    return iam.create_policy(PolicyName=name or unique("pol"), PolicyDocument=document, **kw)["Policy"]["Arn"]


def new_role(iam, account_id: str, name: str | None = None) -> str:
    name = name or unique("role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(account_id)))
    return name


def new_user(ferry, iam, account_id: str) -> tuple[str, object]:
    """A user with a key and no policies; its IAM client."""
    name = unique("user")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, ferry.client("iam", key_creds(key, account_id))


def all_policies(iam, **kw) -> list[dict]:
    """Every policy ListPolicies shows, following Marker by hand."""
    out: list[dict] = []
    marker = None
    for _ in range(200):
        page = iam.list_policies(**kw, **({"Marker": marker} if marker else {}))
        out.extend(page["Policies"])
        if not page["IsTruncated"]:
            return out
        marker = page["Marker"]
    raise AssertionError("ListPolicies did not finish paginating")


# ====================================================================== the policy itself


def test_create_and_get_policy(iam, acct):
    name = unique("read")
    before = utcnow()
    resp = iam.create_policy(PolicyName=name, Path="/team/", PolicyDocument=LIST_ROLES,
                             Description="lists roles")
    assert status(resp) == 200
    p = resp["Policy"]
    assert p["PolicyName"] == name
    assert p["Arn"] == policy_arn(acct.account_id, name, "/team/")
    assert p["Path"] == "/team/"
    assert POLICY_ID_RE.match(p["PolicyId"]), p["PolicyId"]
    assert p["DefaultVersionId"] == "v1"
    assert p["AttachmentCount"] == 0
    assert p["IsAttachable"] is True
    assert abs((p["CreateDate"] - before).total_seconds()) < 120

    g = iam.get_policy(PolicyArn=p["Arn"])["Policy"]
    assert g["PolicyId"] == p["PolicyId"]
    assert g["Description"] == "lists roles"
    assert g["DefaultVersionId"] == "v1"
    assert g["UpdateDate"] == g["CreateDate"]

    v = iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v1")["PolicyVersion"]
    assert v["Document"] == json.loads(LIST_ROLES), "boto3 decodes the URL-encoded document"
    assert v["IsDefaultVersion"] is True
    assert v["VersionId"] == "v1"


def test_create_policy_twice_is_entity_already_exists(iam):
    name = unique("dup")
    new_policy(iam, name=name)
    with client_error("EntityAlreadyExists", 409):
        new_policy(iam, name=name, document=doc(allow("*")))


def test_malformed_and_oversized_documents(iam, acct):
    name = unique("bad")
    with client_error("MalformedPolicyDocument", 400):
        iam.create_policy(PolicyName=name, PolicyDocument='{"Version": "2012-10-17", "Statement": [')
    big = doc(*[allow("iam:GetRole", f"arn:aws:iam::123456789012:role/{'x' * 60}{i}") for i in range(80)])
    assert len(big) > 6144
    with client_error("LimitExceeded", 409):
        iam.create_policy(PolicyName=name, PolicyDocument=big)
    with client_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=policy_arn(acct.account_id, name))


def test_get_missing_policy_and_bad_arns(iam, acct):
    with client_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=policy_arn(acct.account_id, unique("missing")))
    with client_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchAwsPolicy")
    with client_error("InvalidInput", 400):
        iam.get_policy(PolicyArn="arn:aws:iam::123456789012:role/not-a-policy")


def test_the_wrong_path_is_not_the_policy(iam, acct):
    name = unique("pathed")
    new_policy(iam, name=name, Path="/a/")
    with client_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=policy_arn(acct.account_id, name, "/b/"))


def test_aws_managed_policies_are_built_in(iam):
    p = iam.get_policy(PolicyArn=READ_ONLY_ARN)["Policy"]
    assert p["PolicyName"] == "ReadOnlyAccess"
    assert p["Arn"] == READ_ONLY_ARN
    assert p["DefaultVersionId"] == "v1"
    assert POLICY_ID_RE.match(p["PolicyId"])
    v = iam.get_policy_version(PolicyArn=ADMIN_ARN, VersionId="v1")["PolicyVersion"]
    assert v["Document"]["Statement"][0]["Action"] == "*"
    with client_error("InvalidInput", 400):
        iam.delete_policy(PolicyArn=ADMIN_ARN)


# ====================================================================== versions


def test_policy_versions_cycle(iam):
    arn = new_policy(iam)
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("iam:GetRole")))["PolicyVersion"]
    assert v2["VersionId"] == "v2"
    assert v2["IsDefaultVersion"] is False
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"

    v3 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("iam:List*")),
                                   SetAsDefault=True)["PolicyVersion"]
    assert v3["VersionId"] == "v3" and v3["IsDefaultVersion"] is True
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"

    listed = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert sorted(v["VersionId"] for v in listed) == ["v1", "v2", "v3"]
    assert [v["VersionId"] for v in listed if v["IsDefaultVersion"]] == ["v3"]

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert got["IsDefaultVersion"] is True
    assert got["Document"] == json.loads(doc(allow("iam:GetRole")))

    with client_error("DeleteConflict", 409):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    with client_error("NoSuchEntity", 404):
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v9")
    with client_error("NoSuchEntity", 404):
        iam.get_policy_version(PolicyArn=arn, VersionId="v9")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert sorted(v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]) == ["v1", "v2"]
    v4 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)["PolicyVersion"]
    assert v4["VersionId"] == "v4", "version numbers are never reused"


def test_at_most_five_versions(iam):
    arn = new_policy(iam)
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)
    with client_error("LimitExceeded", 409):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5


def test_delete_policy_needs_its_other_versions_gone(iam):
    arn = new_policy(iam)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)
    with client_error("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.delete_policy(PolicyArn=arn)
    with client_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=arn)
    with client_error("NoSuchEntity", 404):
        iam.delete_policy(PolicyArn=arn)


# ====================================================================== listing


def test_list_policies_scopes_and_only_attached(iam, acct):
    arn = new_policy(iam, Path="/listing/")
    local = all_policies(iam, Scope="Local")
    assert arn in [p["Arn"] for p in local]
    assert all(not p["Arn"].startswith("arn:aws:iam::aws:") for p in local)

    aws = {p["PolicyName"]: p for p in all_policies(iam, Scope="AWS")}
    assert aws["AdministratorAccess"]["Arn"] == ADMIN_ARN
    assert aws["ReadOnlyAccess"]["Arn"] == READ_ONLY_ARN
    assert arn not in [p["Arn"] for p in aws.values()]

    both = [p["Arn"] for p in all_policies(iam)]
    assert arn in both and ADMIN_ARN in both

    attached = {p["Arn"]: p for p in all_policies(iam, OnlyAttached=True)}
    assert ADMIN_ARN in attached, "the admin user and the organization role have it"
    assert attached[ADMIN_ARN]["AttachmentCount"] >= 2
    assert arn not in attached

    prefixed = [p["Arn"] for p in all_policies(iam, PathPrefix="/listing/")]
    assert prefixed == [arn]


def test_list_policies_pages(iam):
    made = {new_policy(iam, Path="/paged/") for _ in range(5)}
    seen = [p["Arn"] for p in all_policies(iam, PathPrefix="/paged/", MaxItems=2)]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen)), "no policy twice across pages"


def test_list_policies_bad_scope(ferry, acct):
    raw = ferry.client("iam", acct, parameter_validation=False)
    with client_error("ValidationError", 400):
        raw.list_policies(Scope="Mine")


# ====================================================================== attachments


def test_new_accounts_have_administrator_access_attached(iam):
    assert iam.list_attached_user_policies(UserName="admin")["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}]
    assert iam.list_user_policies(UserName="admin")["PolicyNames"] == []
    assert iam.list_attached_role_policies(RoleName=ORG_ROLE)["AttachedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_ARN}]


def test_attach_and_detach_role_policies(iam, acct):
    role = new_role(iam, acct.account_id)
    arn = new_policy(iam)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)  # again: no change
    iam.attach_role_policy(RoleName=role, PolicyArn=READ_ONLY_ARN)
    listed = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in listed) == sorted([arn, READ_ONLY_ARN])
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1

    with client_error("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    with client_error("DeleteConflict", 409):
        iam.delete_role(RoleName=role)

    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=READ_ONLY_ARN)
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    with client_error("NoSuchEntity", 404):
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=role)


def test_attach_and_detach_user_policies(ferry, iam, acct):
    user, _ = new_user(ferry, iam, acct.account_id)
    arn = new_policy(iam)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == [
        {"PolicyName": arn.rsplit("/", 1)[1], "PolicyArn": arn}]
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    with client_error("DeleteConflict", 409):
        iam.delete_user(UserName=user)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_user(UserName=user)


def test_attach_errors(iam, acct):
    role = new_role(iam, acct.account_id)
    arn = new_policy(iam)
    with client_error("NoSuchEntity", 404):
        iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn(acct.account_id, unique("missing")))
    with client_error("NoSuchEntity", 404):
        iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/NoSuchAwsPolicy")
    with client_error("NoSuchEntity", 404):
        iam.attach_role_policy(RoleName=unique("nobody"), PolicyArn=arn)
    with client_error("NoSuchEntity", 404):
        iam.attach_user_policy(UserName=unique("nobody"), PolicyArn=arn)
    with client_error("InvalidInput", 400):
        iam.attach_role_policy(RoleName=role, PolicyArn="not-an-arn-at-all-really")
    with client_error("NoSuchEntity", 404):
        iam.list_attached_role_policies(RoleName=unique("nobody"))
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []


def test_attached_policy_grants_and_detaching_revokes(ferry, iam, acct):
    user, theirs = new_user(ferry, iam, acct.account_id)
    with client_error("AccessDenied", 403):
        theirs.list_roles()
    arn = new_policy(iam)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert "Roles" in theirs.list_roles()
    with client_error("AccessDenied", 403):
        theirs.get_role(RoleName=ORG_ROLE)

    # A new default version changes what the user may do on the next call.
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("iam:GetRole")), SetAsDefault=True)
    assert theirs.get_role(RoleName=ORG_ROLE)["Role"]["RoleName"] == ORG_ROLE
    with client_error("AccessDenied", 403):
        theirs.list_roles()
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert "Roles" in theirs.list_roles()

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    with client_error("AccessDenied", 403):
        theirs.list_roles()


def test_an_attached_deny_wins(ferry, iam, acct):
    user, theirs = new_user(ferry, iam, acct.account_id)
    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN_ARN)
    assert "Roles" in theirs.list_roles()
    arn = new_policy(iam, doc(deny("iam:ListRoles")))
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    with client_error("AccessDenied", 403):
        theirs.list_roles()
    assert "Users" in theirs.list_users()


def test_managed_policy_calls_need_permission(ferry, iam, acct):
    user, theirs = new_user(ferry, iam, acct.account_id)
    arn = new_policy(iam)
    with client_error("AccessDenied", 403):
        theirs.create_policy(PolicyName=unique("nope"), PolicyDocument=LIST_ROLES)
    with client_error("AccessDenied", 403):
        theirs.attach_user_policy(UserName=user, PolicyArn=ADMIN_ARN)
    with client_error("AccessDenied", 403):
        theirs.get_policy(PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []

    # Allowed to attach only this one policy (the iam:PolicyARN key).
    iam.put_user_policy(UserName=user, PolicyName="attach-one", PolicyDocument=doc(
        allow("iam:AttachUserPolicy", condition={"ArnEquals": {"iam:PolicyARN": arn}})))
    theirs.attach_user_policy(UserName=user, PolicyArn=arn)
    with client_error("AccessDenied", 403):
        theirs.attach_user_policy(UserName=user, PolicyArn=ADMIN_ARN)


# ====================================================================== sessions


def test_session_policy_arns_of_a_customer_policy_narrow_the_session(ferry, iam, acct):
    role = new_role(iam, acct.account_id)
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN_ARN)
    narrow = new_policy(iam)
    sts = ferry.client("sts", acct)
    resp = sts.assume_role(RoleArn=role_arn(acct.account_id, role), RoleSessionName="narrow",
                           PolicyArns=[{"arn": narrow}])
    session = ferry.client("iam", session_creds(resp, acct.account_id))
    assert "Roles" in session.list_roles()
    with client_error("AccessDenied", 403):
        session.get_role(RoleName=role)

    wide = sts.assume_role(RoleArn=role_arn(acct.account_id, role), RoleSessionName="wide")
    assert ferry.client("iam", session_creds(wide, acct.account_id)).get_role(RoleName=role)


def test_session_policy_arns_must_exist_in_the_role_account(ferry, iam, acct, other):
    role = new_role(iam, acct.account_id)
    foreign = new_policy(ferry.client("iam", other))
    sts = ferry.client("sts", acct)
    for arn in [policy_arn(acct.account_id, unique("missing")), foreign]:
        with client_error("MalformedPolicyDocument", 400):
            sts.assume_role(RoleArn=role_arn(acct.account_id, role), RoleSessionName="sess",
                            PolicyArns=[{"arn": arn}])


# ====================================================================== the wrong account


def test_another_account_cannot_get_attach_or_delete_the_policy(ferry, iam, acct, other):
    arn = new_policy(iam)
    theirs = ferry.client("iam", other)
    their_role = new_role(theirs, other.account_id)
    with client_error("NoSuchEntity", 404):
        theirs.get_policy(PolicyArn=arn)
    with client_error("NoSuchEntity", 404):
        theirs.get_policy_version(PolicyArn=arn, VersionId="v1")
    with client_error("NoSuchEntity", 404):
        theirs.attach_role_policy(RoleName=their_role, PolicyArn=arn)
    with client_error("NoSuchEntity", 404):
        theirs.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("*")), SetAsDefault=True)
    with client_error("NoSuchEntity", 404):
        theirs.delete_policy(PolicyArn=arn)
    assert arn not in [p["Arn"] for p in all_policies(theirs, Scope="Local")]
    assert theirs.list_attached_role_policies(RoleName=their_role)["AttachedPolicies"] == []
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["DefaultVersionId"] == "v1", "the other account changed the policy"


# ====================================================================== permissions boundaries


def boundary_of(entity: dict) -> dict | None:
    return entity.get("PermissionsBoundary")


def assume_own(ferry, acct, role: str, session: str = "bounded"):
    resp = ferry.client("sts", acct).assume_role(RoleArn=role_arn(acct.account_id, role), RoleSessionName=session)
    return ferry.client("iam", session_creds(resp, acct.account_id))


def test_a_boundary_narrows_the_role_sessions_and_removing_it_widens_them_at_once(ferry, iam, acct):
    role = new_role(iam, acct.account_id)
    iam.attach_role_policy(RoleName=role, PolicyArn=ADMIN_ARN)
    only_list = new_policy(iam)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=only_list)
    assert boundary_of(iam.get_role(RoleName=role)["Role"]) == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": only_list}

    session = assume_own(ferry, acct, role)
    assert "Roles" in session.list_roles()
    with client_error("AccessDenied", 403):
        session.get_role(RoleName=role)

    iam.delete_role_permissions_boundary(RoleName=role)
    assert boundary_of(iam.get_role(RoleName=role)["Role"]) is None
    assert session.get_role(RoleName=role)["Role"]["RoleName"] == role, "the same session, widened"

    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=only_list)
    with client_error("AccessDenied", 403):
        session.get_role(RoleName=role)


def test_a_boundary_grants_nothing_by_itself(ferry, iam, acct):
    role = new_role(iam, acct.account_id)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=ADMIN_ARN)
    session = assume_own(ferry, acct, role)
    with client_error("AccessDenied", 403):
        session.list_roles()


def test_a_user_boundary(ferry, iam, acct):
    user, theirs = new_user(ferry, iam, acct.account_id)
    iam.attach_user_policy(UserName=user, PolicyArn=ADMIN_ARN)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=READ_ONLY_ARN)
    assert boundary_of(iam.get_user(UserName=user)["User"])["PermissionsBoundaryArn"] == READ_ONLY_ARN
    assert "Roles" in theirs.list_roles()
    name = unique("blocked")
    with client_error("AccessDenied", 403):
        theirs.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(acct.account_id)))
    iam.delete_user_permissions_boundary(UserName=user)
    assert boundary_of(iam.get_user(UserName=user)["User"]) is None
    theirs.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(acct.account_id)))
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name


def test_create_role_and_user_with_a_boundary(ferry, iam, acct):
    role = unique("bounded")
    made = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(root_arn(acct.account_id)),
                           PermissionsBoundary=READ_ONLY_ARN)["Role"]
    assert boundary_of(made)["PermissionsBoundaryArn"] == READ_ONLY_ARN
    assert boundary_of(iam.get_role(RoleName=role)["Role"]) == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": READ_ONLY_ARN}
    user = unique("bounded")
    iam.create_user(UserName=user, PermissionsBoundary=READ_ONLY_ARN)
    assert boundary_of(iam.get_user(UserName=user)["User"])["PermissionsBoundaryArn"] == READ_ONLY_ARN


def test_boundary_errors(ferry, iam, acct, other):
    role = new_role(iam, acct.account_id)
    missing = policy_arn(acct.account_id, unique("missing"))
    with client_error("NoSuchEntity", 404):
        iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=missing)
    with client_error("NoSuchEntity", 404):
        iam.put_role_permissions_boundary(RoleName=role,
                                          PermissionsBoundary=new_policy(ferry.client("iam", other)))
    with client_error("NoSuchEntity", 404):
        iam.put_role_permissions_boundary(RoleName=unique("nobody"), PermissionsBoundary=READ_ONLY_ARN)
    with client_error("NoSuchEntity", 404):
        iam.put_user_permissions_boundary(UserName=unique("nobody"), PermissionsBoundary=READ_ONLY_ARN)
    assert boundary_of(iam.get_role(RoleName=role)["Role"]) is None

    name = unique("never")
    with client_error("NoSuchEntity", 404):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(acct.account_id)),
                        PermissionsBoundary=missing)
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)


def test_a_policy_in_use_as_a_boundary_cannot_be_deleted(iam, acct):
    role = new_role(iam, acct.account_id)
    arn = new_policy(iam)
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["PermissionsBoundaryUsageCount"] == 1
    assert p["AttachmentCount"] == 0
    with client_error("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    iam.delete_role_permissions_boundary(RoleName=role)
    iam.delete_policy(PolicyArn=arn)


def test_boundary_calls_need_permission(ferry, iam, acct):
    user, theirs = new_user(ferry, iam, acct.account_id)
    iam.put_user_policy(UserName=user, PolicyName="self", PolicyDocument=doc(allow("iam:GetUser")))
    with client_error("AccessDenied", 403):
        theirs.delete_user_permissions_boundary(UserName=user)
    with client_error("AccessDenied", 403):
        theirs.put_user_permissions_boundary(UserName=user, PermissionsBoundary=ADMIN_ARN)
