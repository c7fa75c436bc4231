"""IAM user tags: CreateUser Tags, TagUser, UntagUser, ListUserTags, and
that another account cannot read or change them."""

import pytest

from util import Creds, client_error, unique


@pytest.fixture(scope="module")
def acct(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("utags"), "pooled"))


@pytest.fixture(scope="module")
def other(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("utags-other"), "siloed"))


@pytest.fixture(scope="module")
def iam(ferry, acct):
    return ferry.client("iam", acct)


def pairs(tags):
    return sorted((t["Key"], t["Value"]) for t in tags)


def test_user_tags_cycle(iam):
    name = unique("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    assert pairs(iam.get_user(UserName=name)["User"]["Tags"]) == [("team", "blue")]
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}, {"Key": "env", "Value": "prod"}])
    assert pairs(iam.list_user_tags(UserName=name)["Tags"]) == [("env", "prod"), ("team", "red")]
    iam.untag_user(UserName=name, TagKeys=["team"])
    assert pairs(iam.list_user_tags(UserName=name)["Tags"]) == [("env", "prod")]
    assert iam.list_user_tags(UserName=name)["IsTruncated"] is False


def test_user_tag_errors(iam):
    name = unique("tagged")
    iam.create_user(UserName=name)
    with client_error("NoSuchEntity", 404):
        iam.tag_user(UserName=unique("nobody"), Tags=[{"Key": "a", "Value": "b"}])
    with client_error("InvalidInput"):
        iam.tag_user(UserName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}])
    with client_error("LimitExceeded"):
        iam.tag_user(UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert iam.list_user_tags(UserName=name)["Tags"] == [], "a refused call changes nothing"


def test_another_account_cannot_see_or_change_user_tags(ferry, iam, other):
    name = unique("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    theirs = ferry.client("iam", other)
    with client_error("NoSuchEntity", 404):
        theirs.list_user_tags(UserName=name)
    with client_error("NoSuchEntity", 404):
        theirs.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "stolen"}])
    with client_error("NoSuchEntity", 404):
        theirs.untag_user(UserName=name, TagKeys=["team"])
    assert pairs(iam.list_user_tags(UserName=name)["Tags"]) == [("team", "blue")]
