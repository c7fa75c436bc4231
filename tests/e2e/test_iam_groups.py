"""IAM groups: the group itself, its members, its inline and attached
policies, and that a member user gets them (and loses them on leaving) on its
very next call.

Accounts come from `ferry account create`; their `admin` user has
AdministratorAccess attached.
"""

import re

import pytest

from iam_util import allow, deny, doc, key_creds, status
from util import Creds, client_error, unique, utcnow

GROUP_ID_RE = re.compile(r"^AGPA[A-Z0-9]{17}$")
READ_ONLY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
LIST_ROLES = doc(allow("iam:ListRoles"))


@pytest.fixture(scope="module")
def acct(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("groups"), "pooled"))


@pytest.fixture(scope="module")
def iam(ferry, acct):
    return ferry.client("iam", acct)


def new_group(iam, **kw) -> str:
    name = unique("grp")
    iam.create_group(GroupName=name, **kw)
    return name


def new_user(ferry, iam, account_id: str):
    """A user with a key and no policies of its own; its IAM client."""
    name = unique("user")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, ferry.client("iam", key_creds(key, account_id))


def all_groups(iam, **kw) -> list[dict]:
    out: list[dict] = []
    marker = None
    for _ in range(200):
        page = iam.list_groups(**kw, **({"Marker": marker} if marker else {}))
        out.extend(page["Groups"])
        if not page["IsTruncated"]:
            return out
        marker = page["Marker"]
    raise AssertionError("ListGroups did not finish paginating")


def test_create_get_list_and_delete_a_group(iam, acct):
    name = unique("eng")
    before = utcnow()
    resp = iam.create_group(GroupName=name, Path="/teams/")
    assert status(resp) == 200
    g = resp["Group"]
    assert g["GroupName"] == name
    assert g["Path"] == "/teams/"
    assert g["Arn"] == f"arn:aws:iam::{acct.account_id}:group/teams/{name}"
    assert GROUP_ID_RE.match(g["GroupId"]), g["GroupId"]
    assert abs((g["CreateDate"] - before).total_seconds()) < 120

    got = iam.get_group(GroupName=name)
    assert got["Group"]["GroupId"] == g["GroupId"]
    assert got["Users"] == []
    assert name in [x["GroupName"] for x in all_groups(iam)]
    assert [x["GroupName"] for x in all_groups(iam, PathPrefix="/teams/")] == [name]

    iam.delete_group(GroupName=name)
    with client_error("NoSuchEntity", 404):
        iam.get_group(GroupName=name)
    with client_error("NoSuchEntity", 404):
        iam.delete_group(GroupName=name)


def test_create_group_twice_is_entity_already_exists(iam):
    name = new_group(iam)
    with client_error("EntityAlreadyExists", 409):
        iam.create_group(GroupName=name.upper())


def test_list_groups_pages(iam):
    made = {new_group(iam, Path="/paged/") for _ in range(5)}
    seen = [g["GroupName"] for g in all_groups(iam, PathPrefix="/paged/", MaxItems=2)]
    assert sorted(seen) == sorted(made)


def test_members(ferry, iam, acct):
    group = new_group(iam)
    other = new_group(iam)
    alice, _ = new_user(ferry, iam, acct.account_id)
    bob, _ = new_user(ferry, iam, acct.account_id)
    iam.add_user_to_group(GroupName=group, UserName=alice)
    iam.add_user_to_group(GroupName=group, UserName=bob)
    iam.add_user_to_group(GroupName=group, UserName=bob)  # again: no change
    iam.add_user_to_group(GroupName=other, UserName=alice)
    users = iam.get_group(GroupName=group)["Users"]
    assert sorted(u["UserName"] for u in users) == sorted([alice, bob])
    assert all(u["Arn"].endswith(f":user/{u['UserName']}") for u in users)
    assert sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=alice)["Groups"]) == \
        sorted([group, other])

    iam.remove_user_from_group(GroupName=group, UserName=alice)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [bob]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=alice)["Groups"]] == [other]
    with client_error("NoSuchEntity", 404):
        iam.remove_user_from_group(GroupName=group, UserName=alice)


def test_member_errors(ferry, iam, acct):
    group = new_group(iam)
    user, _ = new_user(ferry, iam, acct.account_id)
    with client_error("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=group, UserName=unique("nobody"))
    with client_error("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=unique("nogroup"), UserName=user)
    with client_error("NoSuchEntity", 404):
        iam.list_groups_for_user(UserName=unique("nobody"))
    assert iam.get_group(GroupName=group)["Users"] == []


def test_a_group_with_members_or_policies_cannot_be_deleted(ferry, iam, acct):
    group = new_group(iam)
    user, _ = new_user(ferry, iam, acct.account_id)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with client_error("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.remove_user_from_group(GroupName=group, UserName=user)

    iam.put_group_policy(GroupName=group, PolicyName="inline", PolicyDocument=LIST_ROLES)
    with client_error("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.delete_group_policy(GroupName=group, PolicyName="inline")

    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    with client_error("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    iam.detach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    iam.delete_group(GroupName=group)


def test_a_user_in_a_group_cannot_be_deleted(ferry, iam, acct):
    group = new_group(iam)
    user, _ = new_user(ferry, iam, acct.account_id)
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.add_user_to_group(GroupName=group, UserName=user)
    with client_error("DeleteConflict", 409):
        iam.delete_user(UserName=user)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_user(UserName=user)


def test_group_inline_policies(iam):
    group = new_group(iam)
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == []
    iam.put_group_policy(GroupName=group, PolicyName="b", PolicyDocument=LIST_ROLES)
    iam.put_group_policy(GroupName=group, PolicyName="a", PolicyDocument=doc(allow("iam:GetRole")))
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["a", "b"]
    got = iam.get_group_policy(GroupName=group, PolicyName="b")
    assert got["GroupName"] == group
    assert got["PolicyName"] == "b"
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "iam:ListRoles"
    iam.delete_group_policy(GroupName=group, PolicyName="b")
    with client_error("NoSuchEntity", 404):
        iam.get_group_policy(GroupName=group, PolicyName="b")
    with client_error("NoSuchEntity", 404):
        iam.put_group_policy(GroupName=unique("nogroup"), PolicyName="x", PolicyDocument=LIST_ROLES)
    with client_error("MalformedPolicyDocument", 400):
        iam.put_group_policy(GroupName=group, PolicyName="bad", PolicyDocument="{")


def test_group_attached_policies(iam, acct):
    group = new_group(iam)
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY_ARN}]
    with client_error("NoSuchEntity", 404):
        iam.attach_group_policy(GroupName=group,
                                PolicyArn=f"arn:aws:iam::{acct.account_id}:policy/{unique('missing')}")
    iam.detach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == []


def test_a_member_gets_the_groups_inline_policies_and_loses_them_on_leaving(ferry, iam, acct):
    group = new_group(iam)
    user, theirs = new_user(ferry, iam, acct.account_id)
    iam.put_group_policy(GroupName=group, PolicyName="list", PolicyDocument=LIST_ROLES)
    with client_error("AccessDenied", 403):
        theirs.list_roles()
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert "Roles" in theirs.list_roles()
    iam.remove_user_from_group(GroupName=group, UserName=user)
    with client_error("AccessDenied", 403):
        theirs.list_roles()


def test_a_member_gets_the_groups_attached_policies(ferry, iam, acct):
    group = new_group(iam)
    user, theirs = new_user(ferry, iam, acct.account_id)
    iam.add_user_to_group(GroupName=group, UserName=user)
    with client_error("AccessDenied", 403):
        theirs.list_users()
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    assert "Users" in theirs.list_users()
    with client_error("AccessDenied", 403):
        theirs.create_group(GroupName=unique("nope"))
    iam.detach_group_policy(GroupName=group, PolicyArn=READ_ONLY_ARN)
    with client_error("AccessDenied", 403):
        theirs.list_users()


def test_a_groups_deny_wins_over_the_users_allow(ferry, iam, acct):
    group = new_group(iam)
    user, theirs = new_user(ferry, iam, acct.account_id)
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=LIST_ROLES)
    iam.put_group_policy(GroupName=group, PolicyName="no-list", PolicyDocument=doc(deny("iam:ListRoles")))
    assert "Roles" in theirs.list_roles()
    iam.add_user_to_group(GroupName=group, UserName=user)
    with client_error("AccessDenied", 403):
        theirs.list_roles()


def test_group_calls_need_permission(ferry, iam, acct):
    group = new_group(iam)
    user, theirs = new_user(ferry, iam, acct.account_id)
    with client_error("AccessDenied", 403):
        theirs.create_group(GroupName=unique("nope"))
    with client_error("AccessDenied", 403):
        theirs.add_user_to_group(GroupName=group, UserName=user)
    with client_error("AccessDenied", 403):
        theirs.put_group_policy(GroupName=group, PolicyName="x", PolicyDocument=doc(allow("*")))
    assert iam.get_group(GroupName=group)["Users"] == []


def test_another_account_does_not_see_the_group(ferry, iam):
    group = new_group(iam)
    other = ferry.client("iam", Creds.from_mapping(ferry.create_account(unique("other"), "pooled")))
    with client_error("NoSuchEntity", 404):
        other.get_group(GroupName=group)
    assert group not in [g["GroupName"] for g in all_groups(other)]


def test_another_account_cannot_touch_any_part_of_the_group(ferry, iam, acct):
    """IAM acts in the caller's own account: every group operation by another
    account's admin finds nothing, and the group stays as it was."""
    group = new_group(iam)
    user = unique("member")
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=doc(allow("iam:ListRoles")))
    other = ferry.client("iam", Creds.from_mapping(ferry.create_account(unique("other"), "siloed")))
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    for call in [
        lambda: other.add_user_to_group(GroupName=group, UserName=user),
        lambda: other.remove_user_from_group(GroupName=group, UserName=user),
        lambda: other.put_group_policy(GroupName=group, PolicyName="p", PolicyDocument=doc(allow("*"))),
        lambda: other.get_group_policy(GroupName=group, PolicyName="p"),
        lambda: other.delete_group_policy(GroupName=group, PolicyName="p"),
        lambda: other.list_group_policies(GroupName=group),
        lambda: other.attach_group_policy(GroupName=group, PolicyArn=read_only),
        lambda: other.list_attached_group_policies(GroupName=group),
        lambda: other.list_groups_for_user(UserName=user),
        lambda: other.delete_group(GroupName=group),
    ]:
        with client_error("NoSuchEntity", 404):
            call()
    g = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in g["Users"]] == [user]
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["p"]
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == []
