"""Contract 11 (and the restart half of contract 1): acknowledged writes
survive kill -9; SIGTERM shuts down cleanly; operator.json is never regenerated."""

import stat

import pytest

from util import Creds, lookup_all, request_ids, unique, unique_email, wait_for_request_ids

pytestmark = pytest.mark.timeout(180)


def populate(ferry):
    """Accounts made every way there is, keys for each; returns what must survive."""
    org = ferry.client("organizations")
    made = {}
    for label, out in [
        ("cli-data-dir-pooled", ferry.create_account(unique("dur"), "pooled", via="data-dir")),
        ("cli-data-dir-siloed", ferry.create_account(unique("dur"), "siloed", via="data-dir")),
        ("cli-endpoint-siloed", ferry.create_account(unique("dur"), "siloed", via="endpoint")),
        ("cli-endpoint-pooled", ferry.create_account(unique("dur"), "pooled", via="endpoint")),
    ]:
        made[label] = {"account_id": out["account_id"], "tier": out["tier"], "name": out["name"],
                       "keys": [Creds.from_mapping(out)]}
    for label, tags, tier in [("org-siloed", [{"Key": "ferry:tier", "Value": "siloed"}], "siloed"),
                              ("org-pooled", [], "pooled")]:
        name = unique("dur-org")
        kw = {"Tags": tags} if tags else {}
        st = org.create_account(Email=unique_email("dur"), AccountName=name, **kw)["CreateAccountStatus"]
        assert st["State"] == "SUCCEEDED"
        made[label] = {"account_id": st["AccountId"], "tier": tier, "name": name, "keys": []}
    # Keys via `ferry account key`: for the Organizations accounts, and a second one for a CLI account.
    for label in ("org-siloed", "org-pooled", "cli-data-dir-siloed"):
        made[label]["keys"].append(Creds.from_mapping(ferry.account_key(made[label]["account_id"])))
    made["cli-endpoint-pooled"]["keys"].append(
        Creds.from_mapping(ferry.account_key(made["cli-endpoint-pooled"]["account_id"], via="endpoint")))

    # Every key is acknowledged working before the crash.
    seen_ids = {}
    for label, m in made.items():
        for creds in m["keys"]:
            resp = ferry.identity(creds)
            assert resp["Account"] == m["account_id"]
            seen_ids.setdefault(label, []).append(resp["ResponseMetadata"]["RequestId"])
    # ... and its audit records are visible (so committed).
    for label, m in made.items():
        wait_for_request_ids(ferry.client("cloudtrail", m["keys"][0]), seen_ids[label])
    return made, seen_ids


def assert_survived(ferry, made, seen_ids, operator_bytes):
    assert ferry.operator_path.read_bytes() == operator_bytes, "operator.json changed across the restart"
    assert stat.S_IMODE(ferry.operator_path.stat().st_mode) == 0o600
    op = ferry.operator
    ident = ferry.identity()
    assert ident["Arn"] == f"arn:aws:iam::{op['account_id']}:root"

    listed = {a["account_id"]: a for a in ferry.list_accounts()}
    assert op["account_id"] in listed
    for label, m in made.items():
        row = listed.get(m["account_id"])
        assert row is not None, f"{label} account {m['account_id']} lost"
        assert row["tier"] == m["tier"], f"{label}: tier {row['tier']} != {m['tier']}"
        assert row["name"] == m["name"]
        for creds in m["keys"]:
            got = ferry.identity(creds)
            assert got["Account"] == m["account_id"], label
            assert got["Arn"] == f"arn:aws:iam::{m['account_id']}:user/admin", label

    org_ids = {a["Id"] for a in ferry.client("organizations").get_paginator("list_accounts")
               .paginate().build_full_result()["Accounts"]}
    assert {m["account_id"] for m in made.values()} <= org_ids
    for label in ("org-siloed", "org-pooled"):
        acct = ferry.client("organizations").describe_account(AccountId=made[label]["account_id"])["Account"]
        assert acct["Name"] == made[label]["name"] and acct["Status"] == "ACTIVE"

    # Audit records that were visible before the crash are still there.
    for label, m in made.items():
        got = request_ids(lookup_all(ferry.client("cloudtrail", m["keys"][0])))
        assert set(seen_ids[label]) <= got, f"{label}: audit records lost across the restart"


def test_kill9_loses_no_acknowledged_write(fresh_ferry):
    ferry = fresh_ferry
    operator_bytes = ferry.operator_path.read_bytes()
    made, seen_ids = populate(ferry)

    ferry.kill9()
    assert ferry.proc.returncode == -9
    ferry.start()

    assert_survived(ferry, made, seen_ids, operator_bytes)
    # The restarted server takes new writes too.
    new = ferry.create_account(unique("after"), "siloed")
    assert ferry.identity(Creds.from_mapping(new))["Account"] == new["account_id"]


def test_sigterm_exits_zero_and_restarts_cleanly(fresh_ferry):
    ferry = fresh_ferry
    operator_bytes = ferry.operator_path.read_bytes()
    made, seen_ids = populate(ferry)

    rc = ferry.stop(timeout=10)
    assert rc == 0, f"ferry serve exited {rc} on SIGTERM"
    ferry.start()
    assert_survived(ferry, made, seen_ids, operator_bytes)

    assert ferry.stop(timeout=10) == 0
    ferry.start()
    status, _ = ferry.health()
    assert status == 200


def test_restart_does_not_regenerate_operator(fresh_ferry):
    ferry = fresh_ferry
    before = ferry.operator_path.read_bytes()
    ferry.restart()
    ferry.restart()
    assert ferry.operator_path.read_bytes() == before
    assert ferry.identity()["Account"] == ferry.operator["account_id"]
