"""Contract 2: `ferry account create|list|key` against --data-dir and --endpoint."""

import pytest

from util import ACCOUNT_ID_RE, Creds, unique

VIAS = ["data-dir", "endpoint"]


def assert_admin_keys_work(ferry, out):
    ident = ferry.identity(Creds.from_mapping(out))
    assert ident["Account"] == out["account_id"]
    assert ident["Arn"] == f"arn:aws:iam::{out['account_id']}:user/admin"


def by_id(accounts):
    ids = [a["account_id"] for a in accounts]
    assert len(ids) == len(set(ids)), f"duplicate account ids in list: {ids}"
    return {a["account_id"]: a for a in accounts}


@pytest.mark.parametrize("via,tier", [("data-dir", "pooled"), ("data-dir", "siloed"),
                                      ("endpoint", "pooled"), ("endpoint", "siloed")])
def test_create_prints_account_and_admin_keys(ferry, via, tier):
    name = unique("cli")
    out = ferry.create_account(name, tier, via=via)
    assert isinstance(out, dict), out
    assert {"account_id", "name", "tier", "access_key_id", "secret_access_key"} <= set(out), out
    assert ACCOUNT_ID_RE.match(out["account_id"]), out["account_id"]
    assert out["account_id"] != ferry.operator["account_id"]
    assert out["name"] == name
    assert out["tier"] == tier
    assert out["access_key_id"] and out["secret_access_key"]
    # The server is running on this data dir: the new keys work at once.
    assert_admin_keys_work(ferry, out)


def test_created_accounts_are_distinct(ferry):
    a = ferry.create_account(tier="pooled")
    b = ferry.create_account(tier="pooled")
    assert a["account_id"] != b["account_id"]
    assert a["access_key_id"] != b["access_key_id"]
    assert a["secret_access_key"] != b["secret_access_key"]


@pytest.fixture(scope="module")
def made(ferry):
    return {
        "pooled": ferry.create_account(unique("listp"), "pooled", via="data-dir"),
        "siloed": ferry.create_account(unique("lists"), "siloed", via="endpoint"),
    }


@pytest.mark.parametrize("via", VIAS)
def test_list_shows_management_and_created_accounts(ferry, made, via):
    accounts = by_id(ferry.list_accounts(via))
    for a in accounts.values():
        assert {"account_id", "name", "tier", "email", "status"} <= set(a), a
        assert a["status"] == "ACTIVE", a
        assert isinstance(a["email"], str)
        assert a["tier"] in ("pooled", "siloed"), a
    assert ferry.operator["account_id"] in accounts, "management account missing from `ferry account list`"
    for tier, out in made.items():
        row = accounts.get(out["account_id"])
        assert row is not None, f"{out['account_id']} missing from `ferry account list --{via}`"
        assert row["name"] == out["name"]
        assert row["tier"] == tier


def test_list_is_the_same_in_both_modes(ferry, made):
    assert set(by_id(ferry.list_accounts("data-dir"))) == set(by_id(ferry.list_accounts("endpoint")))


@pytest.mark.parametrize("via", VIAS)
def test_bad_tier_is_refused(ferry, via):
    flags, creds = ferry.mode(via)
    name = unique("badtier")
    p = ferry.cli("account", "create", name, "--tier", "platinum", *flags, creds=creds)
    assert p.returncode != 0, f"bad tier accepted: {p.stdout}"
    assert p.stderr.strip(), "no message on stderr for a bad tier"
    assert name not in {a["name"] for a in ferry.list_accounts()}, "half-created account after a bad tier"


@pytest.mark.parametrize("command", ["create", "list", "key"])
def test_endpoint_refuses_member_keys(ferry, member, command):
    name = unique("bymember")
    args = {"create": ["create", name, "--tier", "pooled"],
            "list": ["list"],
            "key": ["key", member.account_id]}[command]
    p = ferry.cli("account", *args, "--endpoint", ferry.endpoint, creds=member)
    assert p.returncode != 0, f"`ferry account {command} --endpoint` accepted a member's keys: {p.stdout}"
    assert "secret_access_key" not in p.stdout
    if command == "create":
        assert name not in {a["name"] for a in ferry.list_accounts()}


def test_endpoint_refuses_wrong_secret(ferry, operator):
    name = unique("wrongsecret")
    bad = operator.with_secret("x" * len(operator.secret_access_key))
    p = ferry.cli("account", "create", name, "--tier", "pooled", "--endpoint", ferry.endpoint, creds=bad)
    assert p.returncode != 0, p.stdout
    assert name not in {a["name"] for a in ferry.list_accounts()}


@pytest.mark.parametrize("via", VIAS)
def test_account_key_issues_a_new_admin_key(ferry, via):
    acct = ferry.create_account(tier="pooled")
    out = ferry.account_key(acct["account_id"], via=via)
    assert {"account_id", "access_key_id", "secret_access_key"} <= set(out), out
    assert out["account_id"] == acct["account_id"]
    assert out["access_key_id"] != acct["access_key_id"]
    assert out["secret_access_key"] != acct["secret_access_key"]
    assert_admin_keys_work(ferry, out)
    assert_admin_keys_work(ferry, acct)  # the first key still works too


@pytest.mark.parametrize("via", VIAS)
def test_account_key_for_unknown_account_fails(ferry, via):
    known = {a["account_id"] for a in ferry.list_accounts()}
    unknown = next(i for i in ("999999999999", "999999999998", "999999999997") if i not in known)
    flags, creds = ferry.mode(via)
    p = ferry.cli("account", "key", unknown, *flags, creds=creds)
    assert p.returncode != 0, p.stdout
    assert p.stderr.strip()
