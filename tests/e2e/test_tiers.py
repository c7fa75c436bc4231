"""Contract 3: tiers are physical. A siloed account's store is its own SQLite
file (<data>/accounts/<id>/ferry.db) with its own blob root; a pooled account
lives in <data>/ferry.db. Audit rows (table audit_events, column account_id)
follow the account."""

from util import (Creds, audit_count, unique, unique_email, wait_for, wait_for_request_ids)

CALLS = 3


def make_calls(ferry, creds, n=CALLS):
    sts = ferry.client("sts", creds)
    return [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(n)]


def wait_until_audited(ferry, creds, ids):
    ct = ferry.client("cloudtrail", creds)
    wait_for_request_ids(ct, ids, LookupAttributes=[{"AttributeKey": "EventName",
                                                     "AttributeValue": "GetCallerIdentity"}])


def assert_placement(ferry, siloed_id, pooled_id):
    main = ferry.data_dir / "ferry.db"
    silo_dir = ferry.data_dir / "accounts" / siloed_id
    silo = silo_dir / "ferry.db"
    assert main.is_file(), f"main store {main} missing"
    assert silo.is_file(), f"siloed store {silo} missing"
    # (The blob root <silo_dir>/blobs is not checked: nothing in the foundation
    # writes object bytes, so it may legitimately be created on first use.)

    # The siloed account's audit rows are in its own file ...
    wait_for(lambda: audit_count(silo, siloed_id) >= CALLS, desc=f"{CALLS} audit rows in {silo}")
    # ... and none in the shared one.
    assert audit_count(main, siloed_id) == 0, "siloed account's audit rows leaked into the main ferry.db"

    # The pooled account's rows are in the main file, and it has no store of its own.
    wait_for(lambda: audit_count(main, pooled_id) >= CALLS, desc=f"{CALLS} audit rows in {main}")
    assert audit_count(silo, pooled_id) == 0
    assert not (ferry.data_dir / "accounts" / pooled_id / "ferry.db").exists(), \
        "a pooled account got a store file of its own"


def test_cli_accounts_are_placed_by_tier(ferry):
    siloed = ferry.create_account(unique("silo"), "siloed")
    pooled = ferry.create_account(unique("pool"), "pooled")
    for acct in (siloed, pooled):
        creds = Creds.from_mapping(acct)
        wait_until_audited(ferry, creds, make_calls(ferry, creds))
    assert_placement(ferry, siloed["account_id"], pooled["account_id"])


def test_organizations_tier_tag_places_store(ferry, operator):
    org = ferry.client("organizations", operator)
    siloed_id = org.create_account(Email=unique_email("osilo"), AccountName=unique("osilo"),
                                   Tags=[{"Key": "ferry:tier", "Value": "siloed"}])["CreateAccountStatus"]["AccountId"]
    pooled_id = org.create_account(Email=unique_email("opool"),
                                   AccountName=unique("opool"))["CreateAccountStatus"]["AccountId"]
    tiers = {a["account_id"]: a["tier"] for a in ferry.list_accounts()}
    assert tiers.get(siloed_id) == "siloed"
    assert tiers.get(pooled_id) == "pooled", "an account created without a ferry:tier tag is not pooled"
    for account_id in (siloed_id, pooled_id):
        creds = Creds.from_mapping(ferry.account_key(account_id))
        wait_until_audited(ferry, creds, make_calls(ferry, creds))
    assert_placement(ferry, siloed_id, pooled_id)
