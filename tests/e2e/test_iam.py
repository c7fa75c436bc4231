"""IAM (query protocol) inside one account: roles, users, access keys, inline
policies, their errors, and the caller's own policies deciding every call.

Each call acts in the caller's own account. Accounts come from
`ferry account create`; their `admin` user has AdministratorAccess.
Cross-account behaviour and STS live in test_iam_sts.py.
"""

import json

import pytest

from iam_util import (LONG_TERM_KEY_RE, ORG_ROLE, ROLE_ID_RE, USER_ID_RE, allow, deny, doc, key_creds,
                      list_all_roles, role_arn, role_names, root_arn, status, trust, user_arn)
from util import Creds, client_error, unique, utcnow

LIST_ONLY = doc(allow("iam:ListRoles"))


@pytest.fixture(scope="module")
def acct(ferry) -> Creds:
    """A pooled account of this module's own."""
    return Creds.from_mapping(ferry.create_account(unique("iam"), "pooled"))


@pytest.fixture(scope="module")
def iam(ferry, acct):
    return ferry.client("iam", acct)


@pytest.fixture(scope="module")
def iam_nv(ferry, acct):
    """The admin's IAM client without boto3's own parameter checks (to send out-of-range values)."""
    return ferry.client("iam", acct, parameter_validation=False)


def new_role(iam, account_id, name=None, **kw):
    name = name or unique("role")
    kw.setdefault("AssumeRolePolicyDocument", trust(root_arn(account_id)))
    iam.create_role(RoleName=name, **kw)
    return name


def new_user_with_key(iam, account_id, name=None):
    name = name or unique("user")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key_creds(key, account_id)


# ====================================================================== roles


def test_create_role_and_get_role(iam, acct):
    name = unique("app")
    policy = json.loads(trust(root_arn(acct.account_id)))
    before = utcnow()
    resp = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy),
                           Description="the app's role", MaxSessionDuration=7200)
    assert status(resp) == 200
    r = resp["Role"]
    assert r["RoleName"] == name
    assert r["Path"] == "/"
    assert r["Arn"] == role_arn(acct.account_id, name)
    assert ROLE_ID_RE.match(r["RoleId"]), r["RoleId"]
    assert abs((r["CreateDate"] - before).total_seconds()) < 120, r["CreateDate"]
    assert r["AssumeRolePolicyDocument"] == policy, "boto3 decodes the trust policy into a dict"

    g = iam.get_role(RoleName=name)["Role"]
    assert g["RoleName"] == name
    assert g["RoleId"] == r["RoleId"]
    assert g["Arn"] == r["Arn"]
    assert g["Path"] == "/"
    assert g["AssumeRolePolicyDocument"] == policy
    assert g["Description"] == "the app's role"
    assert g["MaxSessionDuration"] == 7200


def test_create_role_with_tags(iam, acct):
    name = new_role(iam, acct.account_id, Tags=[{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": ""}])
    tags = iam.get_role(RoleName=name)["Role"]["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", ""), ("team", "blue")]


def test_role_defaults(iam, acct):
    name = new_role(iam, acct.account_id)
    g = iam.get_role(RoleName=name)["Role"]
    assert g["MaxSessionDuration"] == 3600
    assert g["Path"] == "/"
    assert not g.get("Description")
    assert not g.get("Tags")


def test_role_path_is_in_the_arn(iam, acct):
    name = new_role(iam, acct.account_id, Path="/integrations/vendor/")
    g = iam.get_role(RoleName=name)["Role"]
    assert g["Path"] == "/integrations/vendor/"
    assert g["Arn"] == f"arn:aws:iam::{acct.account_id}:role/integrations/vendor/{name}"


def test_role_ids_are_unique(iam, acct):
    a = iam.get_role(RoleName=new_role(iam, acct.account_id))["Role"]["RoleId"]
    b = iam.get_role(RoleName=new_role(iam, acct.account_id))["Role"]["RoleId"]
    assert a != b


def test_create_role_twice_is_entity_already_exists(iam, acct):
    name = new_role(iam, acct.account_id)
    first = iam.get_role(RoleName=name)["Role"]
    with client_error("EntityAlreadyExists", 409):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(acct.account_id), "other"),
                        MaxSessionDuration=43200)
    again = iam.get_role(RoleName=name)["Role"]
    assert again["RoleId"] == first["RoleId"]
    assert again["AssumeRolePolicyDocument"] == first["AssumeRolePolicyDocument"], "the loser overwrote the role"
    assert again["MaxSessionDuration"] == 3600


def test_get_missing_role_is_no_such_entity(iam):
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=unique("missing"))


@pytest.mark.parametrize("seconds", [0, 3599, 43201, 86400])
def test_create_role_max_session_duration_out_of_range(iam_nv, iam, acct, seconds):
    name = unique("msd")
    with client_error("ValidationError", 400):
        iam_nv.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(acct.account_id)),
                           MaxSessionDuration=seconds)
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)


@pytest.mark.parametrize("seconds", [3600, 43200])
def test_create_role_max_session_duration_bounds_are_allowed(iam, acct, seconds):
    name = new_role(iam, acct.account_id, MaxSessionDuration=seconds)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == seconds


BAD_TRUST = {
    "invalid JSON": '{"Version": "2012-10-17", "Statement": [',
    "not an object": '["sts:AssumeRole"]',
    "non-sts action": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject"}]}),
    "no principal": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole"}]}),
    "a resource": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole",
         "Resource": "*"}]}),
}


@pytest.mark.parametrize("case", sorted(BAD_TRUST))
def test_create_role_with_malformed_trust_policy(iam, case):
    name = unique("badtrust")
    with client_error("MalformedPolicyDocument", 400):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=BAD_TRUST[case])
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)


def test_update_assume_role_policy(iam, acct):
    name = new_role(iam, acct.account_id)
    new = json.loads(trust(root_arn(acct.account_id), external_id="x-1"))
    resp = iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new))
    assert status(resp) == 200
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == new


@pytest.mark.parametrize("case", ["invalid JSON", "non-sts action", "no principal"])
def test_update_assume_role_policy_malformed_keeps_the_old_one(iam, acct, case):
    name = new_role(iam, acct.account_id)
    old = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    with client_error("MalformedPolicyDocument", 400):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=BAD_TRUST[case])
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == old


def test_update_assume_role_policy_of_missing_role(iam, acct):
    with client_error("NoSuchEntity", 404):
        iam.update_assume_role_policy(RoleName=unique("missing"), PolicyDocument=trust(root_arn(acct.account_id)))


def test_update_role(iam, acct):
    name = new_role(iam, acct.account_id, Description="before")
    assert status(iam.update_role(RoleName=name, MaxSessionDuration=43200, Description="after")) == 200
    g = iam.get_role(RoleName=name)["Role"]
    assert g["MaxSessionDuration"] == 43200
    assert g["Description"] == "after"
    iam.update_role(RoleName=name, MaxSessionDuration=3600)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 3600


@pytest.mark.parametrize("seconds", [0, 3599, 43201])
def test_update_role_max_session_duration_out_of_range(iam_nv, iam, acct, seconds):
    name = new_role(iam, acct.account_id, MaxSessionDuration=7200)
    with client_error("ValidationError", 400):
        iam_nv.update_role(RoleName=name, MaxSessionDuration=seconds)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200


def test_update_missing_role(iam):
    with client_error("NoSuchEntity", 404):
        iam.update_role(RoleName=unique("missing"), MaxSessionDuration=7200)


# ---------------------------------------------------------------- role inline policies


def test_role_inline_policy_lifecycle(iam, acct):
    name = new_role(iam, acct.account_id)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []

    p1 = json.loads(doc(allow("iam:ListRoles")))
    p2 = json.loads(doc(allow(["iam:GetRole", "iam:GetUser"], [f"arn:aws:iam::{acct.account_id}:role/*",
                                                        f"arn:aws:iam::{acct.account_id}:user/*"])))
    assert status(iam.put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=json.dumps(p1))) == 200
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(p2))

    listed = iam.list_role_policies(RoleName=name)
    assert sorted(listed["PolicyNames"]) == ["list", "read"]
    assert listed["IsTruncated"] is False

    got = iam.get_role_policy(RoleName=name, PolicyName="read")
    assert got["RoleName"] == name
    assert got["PolicyName"] == "read"
    assert got["PolicyDocument"] == p2, "boto3 decodes the policy document into a dict"

    # Putting the same name again replaces the document.
    p3 = json.loads(doc(deny("iam:ListRoles")))
    iam.put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=json.dumps(p3))
    assert iam.get_role_policy(RoleName=name, PolicyName="list")["PolicyDocument"] == p3
    assert sorted(iam.list_role_policies(RoleName=name)["PolicyNames"]) == ["list", "read"]

    assert status(iam.delete_role_policy(RoleName=name, PolicyName="list")) == 200
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["read"]
    with client_error("NoSuchEntity", 404):
        iam.get_role_policy(RoleName=name, PolicyName="list")
    with client_error("NoSuchEntity", 404):
        iam.delete_role_policy(RoleName=name, PolicyName="list")


def test_role_policy_on_missing_role(iam):
    missing = unique("missing")
    with client_error("NoSuchEntity", 404):
        iam.put_role_policy(RoleName=missing, PolicyName="p", PolicyDocument=LIST_ONLY)
    with client_error("NoSuchEntity", 404):
        iam.get_role_policy(RoleName=missing, PolicyName="p")
    with client_error("NoSuchEntity", 404):
        iam.list_role_policies(RoleName=missing)
    with client_error("NoSuchEntity", 404):
        iam.delete_role_policy(RoleName=missing, PolicyName="p")
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=missing)


BAD_IDENTITY = {
    "invalid JSON": '{"Version": "2012-10-17", "Statement": {',
    "a principal": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "iam:*", "Resource": "*"}]}),
    "no statement": json.dumps({"Version": "2012-10-17"}),
    "bad effect": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Perhaps", "Action": "iam:*", "Resource": "*"}]}),
}


@pytest.mark.parametrize("case", sorted(BAD_IDENTITY))
def test_put_role_policy_malformed(iam, acct, case):
    name = new_role(iam, acct.account_id)
    with client_error("MalformedPolicyDocument", 400):
        iam.put_role_policy(RoleName=name, PolicyName="bad", PolicyDocument=BAD_IDENTITY[case])
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []


def test_delete_role_conflicts_while_it_has_inline_policies(iam, acct):
    name = new_role(iam, acct.account_id)
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=LIST_ONLY)
    with client_error("DeleteConflict", 409):
        iam.delete_role(RoleName=name)
    # Untouched by the refused delete.
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p"]

    iam.delete_role_policy(RoleName=name, PolicyName="p")
    assert status(iam.delete_role(RoleName=name)) == 200
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)
    with client_error("NoSuchEntity", 404):
        iam.delete_role(RoleName=name)
    assert name not in role_names(list_all_roles(iam))


def test_deleted_role_name_can_be_reused_with_a_new_id(iam, acct):
    name = new_role(iam, acct.account_id)
    old_id = iam.get_role(RoleName=name)["Role"]["RoleId"]
    iam.delete_role(RoleName=name)
    new_role(iam, acct.account_id, name=name)
    g = iam.get_role(RoleName=name)["Role"]
    assert g["RoleId"] != old_id
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [], "policies outlived their role"


# ---------------------------------------------------------------- ListRoles


def test_every_account_has_the_organization_role(ferry):
    fresh = Creds.from_mapping(ferry.create_account(unique("orgrole"), "siloed"))
    iam = ferry.client("iam", fresh)
    roles = list_all_roles(iam)
    assert ORG_ROLE in role_names(roles)
    org = next(r for r in roles if r["RoleName"] == ORG_ROLE)
    assert org["Arn"] == role_arn(fresh.account_id, ORG_ROLE)
    assert ROLE_ID_RE.match(org["RoleId"]), org
    g = iam.get_role(RoleName=ORG_ROLE)["Role"]
    principals = json.dumps(g["AssumeRolePolicyDocument"])
    assert root_arn(ferry.operator_creds.account_id) in principals, g["AssumeRolePolicyDocument"]


def test_list_roles_pagination(ferry):
    fresh = Creds.from_mapping(ferry.create_account(unique("paging"), "pooled"))
    iam = ferry.client("iam", fresh)
    made = {new_role(iam, fresh.account_id, name=f"page-{i}-{unique('r')}") for i in range(5)}

    everything = iam.list_roles()
    assert everything["IsTruncated"] is False
    assert not everything.get("Marker")
    all_names = role_names(everything["Roles"])
    assert len(all_names) == len(set(all_names)), "duplicates in ListRoles"
    assert made | {ORG_ROLE} <= set(all_names)
    for r in everything["Roles"]:
        assert r["Arn"] == role_arn(fresh.account_id, r["RoleName"], r["Path"]), r
        assert ROLE_ID_RE.match(r["RoleId"]), r
        assert isinstance(r["AssumeRolePolicyDocument"], dict), r

    pages = []
    marker = None
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = iam.list_roles(**kw)
        pages.append(page)
        assert 1 <= len(page["Roles"]) <= 2, page["Roles"]
        if not page["IsTruncated"]:
            assert not page.get("Marker"), "the last page carries a Marker"
            break
        assert page["Marker"], "IsTruncated without a Marker"
        marker = page["Marker"]
        assert len(pages) < 20, "ListRoles pagination does not end"
    paged = [n for p in pages for n in role_names(p["Roles"])]
    assert len(paged) == len(set(paged)), f"a role appears on two pages: {paged}"
    assert sorted(paged) == sorted(all_names)
    assert len(pages) == (len(all_names) + 1) // 2
    assert all(len(p["Roles"]) == 2 for p in pages[:-1])


def test_list_roles_shows_own_account_only(ferry, iam, acct):
    other = Creds.from_mapping(ferry.create_account(unique("other"), "siloed"))
    theirs = new_role(ferry.client("iam", other), other.account_id)
    mine = list_all_roles(iam)
    assert theirs not in role_names(mine)
    assert all(r["Arn"].startswith(f"arn:aws:iam::{acct.account_id}:role/") for r in mine), mine


# ====================================================================== users


def test_user_lifecycle(iam, acct):
    name = unique("alice")
    before = utcnow()
    u = iam.create_user(UserName=name)["User"]
    assert u["UserName"] == name
    assert u["Path"] == "/"
    assert u["Arn"] == user_arn(acct.account_id, name)
    assert USER_ID_RE.match(u["UserId"]), u["UserId"]
    assert abs((u["CreateDate"] - before).total_seconds()) < 120

    g = iam.get_user(UserName=name)["User"]
    assert (g["UserName"], g["UserId"], g["Arn"], g["Path"]) == (name, u["UserId"], u["Arn"], "/")

    names = [x["UserName"] for x in iam.list_users()["Users"]]
    assert name in names and "admin" in names

    assert status(iam.delete_user(UserName=name)) == 200
    with client_error("NoSuchEntity", 404):
        iam.get_user(UserName=name)
    with client_error("NoSuchEntity", 404):
        iam.delete_user(UserName=name)
    assert name not in [x["UserName"] for x in iam.list_users()["Users"]]


def test_get_user_without_name_is_the_caller(iam, acct):
    me = iam.get_user()["User"]
    assert me["UserName"] == "admin"
    assert me["Arn"] == user_arn(acct.account_id, "admin")
    assert USER_ID_RE.match(me["UserId"]), me


def test_create_user_twice_is_entity_already_exists(iam):
    name = unique("dup")
    first = iam.create_user(UserName=name)["User"]
    with client_error("EntityAlreadyExists", 409):
        iam.create_user(UserName=name)
    assert iam.get_user(UserName=name)["User"]["UserId"] == first["UserId"]


def test_get_missing_user(iam):
    with client_error("NoSuchEntity", 404):
        iam.get_user(UserName=unique("nobody"))


def test_user_inline_policy_lifecycle(iam):
    name = unique("pol")
    iam.create_user(UserName=name)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    p = json.loads(doc(allow("iam:ListRoles")))
    assert status(iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=json.dumps(p))) == 200
    got = iam.get_user_policy(UserName=name, PolicyName="list")
    assert (got["UserName"], got["PolicyName"], got["PolicyDocument"]) == (name, "list", p)
    listed = iam.list_user_policies(UserName=name)
    assert listed["PolicyNames"] == ["list"] and listed["IsTruncated"] is False

    q = json.loads(doc(allow("iam:GetRole")))
    iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=json.dumps(q))
    assert iam.get_user_policy(UserName=name, PolicyName="list")["PolicyDocument"] == q

    assert status(iam.delete_user_policy(UserName=name, PolicyName="list")) == 200
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    with client_error("NoSuchEntity", 404):
        iam.get_user_policy(UserName=name, PolicyName="list")
    with client_error("NoSuchEntity", 404):
        iam.delete_user_policy(UserName=name, PolicyName="list")


def test_user_policy_on_missing_user(iam):
    missing = unique("nobody")
    with client_error("NoSuchEntity", 404):
        iam.put_user_policy(UserName=missing, PolicyName="p", PolicyDocument=LIST_ONLY)
    with client_error("NoSuchEntity", 404):
        iam.get_user_policy(UserName=missing, PolicyName="p")
    with client_error("NoSuchEntity", 404):
        iam.list_user_policies(UserName=missing)
    with client_error("NoSuchEntity", 404):
        iam.delete_user_policy(UserName=missing, PolicyName="p")


@pytest.mark.parametrize("case", sorted(BAD_IDENTITY))
def test_put_user_policy_malformed(iam, case):
    name = unique("malf")
    iam.create_user(UserName=name)
    with client_error("MalformedPolicyDocument", 400):
        iam.put_user_policy(UserName=name, PolicyName="bad", PolicyDocument=BAD_IDENTITY[case])
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []


def test_delete_user_conflicts_while_it_has_keys_or_policies(ferry, iam, acct):
    name, creds = new_user_with_key(iam, acct.account_id)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=LIST_ONLY)

    with client_error("DeleteConflict", 409):
        iam.delete_user(UserName=name)
    iam.delete_access_key(UserName=name, AccessKeyId=creds.access_key_id)
    with client_error("DeleteConflict", 409):  # the inline policy is still there
        iam.delete_user(UserName=name)
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["p"]

    iam.delete_user_policy(UserName=name, PolicyName="p")
    assert status(iam.delete_user(UserName=name)) == 200
    with client_error("NoSuchEntity", 404):
        iam.get_user(UserName=name)


def test_delete_user_conflicts_with_only_a_key(iam, acct):
    name, creds = new_user_with_key(iam, acct.account_id)
    with client_error("DeleteConflict", 409):
        iam.delete_user(UserName=name)
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == \
        [creds.access_key_id]


# ---------------------------------------------------------------- access keys


def test_access_key_lifecycle(ferry, iam, acct):
    name = unique("keys")
    u = iam.create_user(UserName=name)["User"]
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []

    before = utcnow()
    k = iam.create_access_key(UserName=name)["AccessKey"]
    assert k["UserName"] == name
    assert LONG_TERM_KEY_RE.match(k["AccessKeyId"]), k["AccessKeyId"]
    assert k["Status"] == "Active"
    assert len(k["SecretAccessKey"]) == 40
    assert abs((k["CreateDate"] - before).total_seconds()) < 120

    meta = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert len(meta) == 1
    assert meta[0]["AccessKeyId"] == k["AccessKeyId"]
    assert meta[0]["UserName"] == name
    assert meta[0]["Status"] == "Active"
    assert "SecretAccessKey" not in meta[0], "ListAccessKeys shows a secret"

    creds = key_creds(k, acct.account_id)
    me = ferry.identity(creds)
    assert me["Arn"] == user_arn(acct.account_id, name)
    assert me["UserId"] == u["UserId"]
    assert me["Account"] == acct.account_id

    # Inactive: the key stops working at once.
    assert status(iam.update_access_key(UserName=name, AccessKeyId=k["AccessKeyId"], Status="Inactive")) == 200
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    with client_error("InvalidClientTokenId", 403):
        ferry.identity(creds)

    # Active again: it works again.
    iam.update_access_key(UserName=name, AccessKeyId=k["AccessKeyId"], Status="Active")
    assert ferry.identity(creds)["Arn"] == user_arn(acct.account_id, name)

    # Deleted: gone for good.
    assert status(iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])) == 200
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    with client_error("InvalidClientTokenId", 403):
        ferry.identity(creds)
    with client_error("NoSuchEntity", 404):
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])


def test_two_keys_are_independent(ferry, iam, acct):
    name, a = new_user_with_key(iam, acct.account_id)
    b = key_creds(iam.create_access_key(UserName=name)["AccessKey"], acct.account_id)
    assert a.access_key_id != b.access_key_id
    assert sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) == \
        sorted([a.access_key_id, b.access_key_id])
    iam.update_access_key(UserName=name, AccessKeyId=a.access_key_id, Status="Inactive")
    with client_error("InvalidClientTokenId", 403):
        ferry.identity(a)
    assert ferry.identity(b)["Arn"] == user_arn(acct.account_id, name)


def test_access_keys_of_missing_user(iam):
    missing = unique("nobody")
    with client_error("NoSuchEntity", 404):
        iam.create_access_key(UserName=missing)
    with client_error("NoSuchEntity", 404):
        iam.list_access_keys(UserName=missing)


def test_access_key_of_another_user_is_no_such_entity(ferry, iam, acct):
    """UpdateAccessKey/DeleteAccessKey name the user; a key of another user is not found."""
    a, a_creds = new_user_with_key(iam, acct.account_id)
    b = unique("b")
    iam.create_user(UserName=b)
    with client_error("NoSuchEntity", 404):
        iam.update_access_key(UserName=b, AccessKeyId=a_creds.access_key_id, Status="Inactive")
    with client_error("NoSuchEntity", 404):
        iam.delete_access_key(UserName=b, AccessKeyId=a_creds.access_key_id)
    assert ferry.identity(a_creds)["Arn"] == user_arn(acct.account_id, a)


@pytest.mark.parametrize("bad", ["Disabled", "Deleted"])
def test_update_access_key_bad_status(ferry, acct, iam, bad):
    name, creds = new_user_with_key(iam, acct.account_id)
    iam_nv = ferry.client("iam", acct, parameter_validation=False)
    with client_error("ValidationError", 400):
        iam_nv.update_access_key(UserName=name, AccessKeyId=creds.access_key_id, Status=bad)
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Active"


# ====================================================================== the caller's own policies


@pytest.fixture
def bare_user(ferry, iam, acct):
    """A new user with keys and no policies: (name, creds, its IAM client)."""
    name, creds = new_user_with_key(iam, acct.account_id)
    return name, creds, ferry.client("iam", creds)


def test_user_without_policies_is_denied_every_iam_call(ferry, iam, acct, bare_user):
    name, creds, mine = bare_user
    victim_role = new_role(iam, acct.account_id)
    victim_user = unique("victim")
    iam.create_user(UserName=victim_user)
    new_role_name, new_user_name = unique("nope"), unique("nope")

    calls = {
        "ListRoles": lambda: mine.list_roles(),
        "GetRole": lambda: mine.get_role(RoleName=victim_role),
        "CreateRole": lambda: mine.create_role(RoleName=new_role_name,
                                               AssumeRolePolicyDocument=trust(root_arn(acct.account_id))),
        "UpdateRole": lambda: mine.update_role(RoleName=victim_role, MaxSessionDuration=7200),
        "UpdateAssumeRolePolicy": lambda: mine.update_assume_role_policy(
            RoleName=victim_role, PolicyDocument=trust(root_arn("123456789012"))),
        "PutRolePolicy": lambda: mine.put_role_policy(RoleName=victim_role, PolicyName="x",
                                                      PolicyDocument=LIST_ONLY),
        "ListRolePolicies": lambda: mine.list_role_policies(RoleName=victim_role),
        "DeleteRole": lambda: mine.delete_role(RoleName=victim_role),
        "ListUsers": lambda: mine.list_users(),
        "GetUser": lambda: mine.get_user(UserName=name),
        "CreateUser": lambda: mine.create_user(UserName=new_user_name),
        "DeleteUser": lambda: mine.delete_user(UserName=victim_user),
        "CreateAccessKey": lambda: mine.create_access_key(UserName=name),
        "ListAccessKeys": lambda: mine.list_access_keys(UserName=name),
        "UpdateAccessKey": lambda: mine.update_access_key(UserName=name, AccessKeyId=creds.access_key_id,
                                                          Status="Inactive"),
        "PutUserPolicy": lambda: mine.put_user_policy(UserName=name, PolicyName="escalate",
                                                      PolicyDocument=doc(allow("*"))),
        "ListUserPolicies": lambda: mine.list_user_policies(UserName=name),
    }
    caller = user_arn(acct.account_id, name)
    for action, call in calls.items():
        with client_error("AccessDenied", 403) as err:
            call()
        msg = err.value.response["Error"]["Message"]
        assert f"iam:{action}" in msg and caller in msg, f"{action}: {msg}"

    # ... and none of it happened.
    with client_error("NoSuchEntity", 404):
        iam.get_role(RoleName=new_role_name)
    with client_error("NoSuchEntity", 404):
        iam.get_user(UserName=new_user_name)
    assert iam.get_role(RoleName=victim_role)["Role"]["MaxSessionDuration"] == 3600
    assert iam.list_role_policies(RoleName=victim_role)["PolicyNames"] == []
    assert iam.get_user(UserName=victim_user)["User"]["UserName"] == victim_user
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(creds.access_key_id, "Active")]

    # GetCallerIdentity needs no permission.
    me = ferry.identity(creds)
    assert me["Arn"] == caller and me["Account"] == acct.account_id


def test_policy_changes_take_effect_on_the_next_call(iam, acct, bare_user):
    name, _, mine = bare_user
    with client_error("AccessDenied", 403):
        mine.list_roles()

    iam.put_user_policy(UserName=name, PolicyName="allow-list", PolicyDocument=LIST_ONLY)
    assert ORG_ROLE in role_names(mine.list_roles()["Roles"])
    with client_error("AccessDenied", 403):  # only what was granted
        mine.get_role(RoleName=ORG_ROLE)

    iam.put_user_policy(UserName=name, PolicyName="deny-list", PolicyDocument=doc(deny("iam:ListRoles")))
    with client_error("AccessDenied", 403):
        mine.list_roles()

    iam.delete_user_policy(UserName=name, PolicyName="deny-list")
    assert ORG_ROLE in role_names(mine.list_roles()["Roles"])

    iam.delete_user_policy(UserName=name, PolicyName="allow-list")
    with client_error("AccessDenied", 403):
        mine.list_roles()


def test_explicit_deny_beats_allow_for_a_user(iam, acct, bare_user):
    name, _, mine = bare_user
    iam.put_user_policy(UserName=name, PolicyName="both", PolicyDocument=doc(
        allow("iam:*"), deny("iam:ListRoles")))
    with client_error("AccessDenied", 403):
        mine.list_roles()
    assert mine.get_role(RoleName=ORG_ROLE)["Role"]["RoleName"] == ORG_ROLE


def test_resource_scoped_permissions(iam, acct, bare_user):
    """iam:GetRole on arn:aws:iam::ACCT:role/app-* only: authorization before existence."""
    name, _, mine = bare_user
    inside = new_role(iam, acct.account_id, name=unique("app"))
    outside = new_role(iam, acct.account_id, name=unique("ops"))
    iam.put_user_policy(UserName=name, PolicyName="apps", PolicyDocument=doc(
        allow("iam:GetRole", f"arn:aws:iam::{acct.account_id}:role/app-*")))

    assert mine.get_role(RoleName=inside)["Role"]["RoleName"] == inside
    with client_error("AccessDenied", 403):
        mine.get_role(RoleName=outside)
    # Allowed but missing: NoSuchEntity. Not allowed and missing: AccessDenied (no existence oracle).
    with client_error("NoSuchEntity", 404):
        mine.get_role(RoleName=unique("app"))
    with client_error("AccessDenied", 403):
        mine.get_role(RoleName=unique("ops"))


def test_a_policy_for_another_account_grants_nothing(iam, acct, bare_user):
    name, _, mine = bare_user
    iam.put_user_policy(UserName=name, PolicyName="elsewhere", PolicyDocument=doc(
        allow("iam:*", ["arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:user/*"])))
    with client_error("AccessDenied", 403):
        mine.get_role(RoleName=ORG_ROLE)


def test_user_may_manage_its_own_keys_when_allowed(ferry, iam, acct, bare_user):
    name, creds, mine = bare_user
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=doc(
        allow(["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
              user_arn(acct.account_id, name))))
    second = key_creds(mine.create_access_key(UserName=name)["AccessKey"], acct.account_id)
    assert ferry.identity(second)["Arn"] == user_arn(acct.account_id, name)
    assert len(mine.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 2
    # ... but nobody else's.
    with client_error("AccessDenied", 403):
        mine.list_access_keys(UserName="admin")
    mine.delete_access_key(UserName=name, AccessKeyId=second.access_key_id)
    with client_error("InvalidClientTokenId", 403):
        ferry.identity(second)
