"""The access point matrix over the wire: every combination of access point
policy (allow, deny, absent), bucket policy (allow, deny, delegating to the
owner's access points, absent), caller (the bucket owner's account or
another) and addressing (access point alias, access point ARN, the bucket's
own name), one GetObject each, against the built binary with boto3.

The expected answer of each cell is AWS's rule, written out below, not read
from Ferry: through an access point the caller's side (identity policy, and
across accounts a resource-policy grant), the access point policy AND the
bucket policy must all allow; an explicit deny anywhere wins; by the bucket's
own name the access point policy does not matter. Callers are their
account's admin (full identity rights), so in the owner's account only an
explicit deny refuses, and from another account each resource policy on the
way must grant.

One server for the module; each (access point policy, bucket policy) pair
gets its own bucket and access point, set up the first time a cell needs it.

The ARN column goes to `NAME-ACCOUNT.localhost:PORT` (botocore's endpoint
rules for an access point ARN; see localhost_names.py)."""

import json

import pytest

from localhost_names import local_client, resolving_localhost_subdomains  # noqa: F401 (autouse fixture)
from util import REGION, Creds, client_error, unique

AP_POLICIES = ["allow", "deny", "absent"]
BUCKET_POLICIES = ["allow", "deny", "delegating", "absent"]
CALLERS = ["same", "cross"]
ADDRESSING = ["alias", "arn", "bucket"]

KEY = "shared/x.txt"
BODY = b"matrix cell"


def expected(ap: str, bucket: str, caller: str, via: str) -> bool:
    """AWS's answer for one cell."""
    same = caller == "same"
    through_ap = via != "bucket"
    if bucket == "deny" or (through_ap and ap == "deny"):
        return False
    bucket_ok = {
        "allow": True,
        # The grant holds only when s3:DataAccessPointAccount is the owner,
        # i.e. through one of the owner's access points.
        "delegating": through_ap or same,
        "absent": same,
    }[bucket]
    if not through_ap:
        return bucket_ok
    ap_ok = ap == "allow" or same
    return bucket_ok and ap_ok


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("mxvendor"), "pooled"))


@pytest.fixture(scope="module")
def customer(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("mxcustomer"), "siloed"))


@pytest.fixture(scope="module")
def ids(ferry, vendor, customer) -> dict:
    return {
        "vendor": ferry.identity(vendor)["Account"],
        "customer": ferry.identity(customer)["Account"],
    }


@pytest.fixture(scope="module")
def clients(ferry, vendor, customer) -> dict:
    """Per caller: a path-style client (alias, bucket name) and one for ARNs."""
    out = {}
    for caller, creds in (("same", vendor), ("cross", customer)):
        out[caller] = {
            "path": local_client(ferry, "s3", creds, s3={"addressing_style": "path"}),
            "arn": local_client(ferry, "s3", creds),
        }
    out["control"] = local_client(ferry, "s3control", vendor)
    return out


def _policy(statement: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _grant_or_deny(effect: str, resource: str, ids: dict) -> str:
    """An allow names both accounts' roots; a deny is for everyone."""
    principal = "*" if effect == "Deny" else {"AWS": [
        f"arn:aws:iam::{ids['vendor']}:root", f"arn:aws:iam::{ids['customer']}:root"]}
    return _policy({"Effect": effect, "Principal": principal, "Action": "s3:GetObject",
                    "Resource": resource})


@pytest.fixture(scope="module")
def setups(clients, ids):
    """(ap policy, bucket policy) -> its bucket and access point, made once."""
    made: dict = {}

    def get(ap: str, bp: str) -> dict:
        if (ap, bp) in made:
            return made[(ap, bp)]
        vs3, ctl, vendor_id = clients["same"]["path"], clients["control"], ids["vendor"]
        bucket = unique(f"mx-{ap}-{bp}").lower().replace("_", "-")[:63]
        vs3.create_bucket(Bucket=bucket)
        vs3.put_object(Bucket=bucket, Key=KEY, Body=BODY)
        name = unique(f"mx{ap[:2]}{bp[:3]}").lower().replace("_", "-")[:40]
        alias = ctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)["Alias"]
        arn = f"arn:aws:s3:{REGION}:{vendor_id}:accesspoint/{name}"
        if ap != "absent":
            ctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy=_grant_or_deny(
                ap.capitalize(), f"{arn}/object/shared/*", ids))
        objects = f"arn:aws:s3:::{bucket}/*"
        bucket_policy = {
            "allow": lambda: _grant_or_deny("Allow", objects, ids),
            "deny": lambda: _grant_or_deny("Deny", objects, ids),
            "delegating": lambda: _policy({
                "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                "Resource": objects,
                "Condition": {"StringEquals": {"s3:DataAccessPointAccount": vendor_id}}}),
            "absent": lambda: None,
        }[bp]()
        if bucket_policy is not None:
            vs3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy)
        made[(ap, bp)] = {"bucket": bucket, "alias": alias, "arn": arn}
        return made[(ap, bp)]

    return get


CELLS = [
    pytest.param(ap, bp, caller, via, id=f"ap_{ap}-bucket_{bp}-{caller}-{via}")
    for ap in AP_POLICIES for bp in BUCKET_POLICIES for caller in CALLERS for via in ADDRESSING
]


@pytest.mark.parametrize("ap,bp,caller,via", CELLS)
def test_cell(clients, setups, ap, bp, caller, via):
    s = setups(ap, bp)
    client = clients[caller]["arn" if via == "arn" else "path"]
    target = {"alias": s["alias"], "arn": s["arn"], "bucket": s["bucket"]}[via]
    if expected(ap, bp, caller, via):
        got = client.get_object(Bucket=target, Key=KEY)
        assert got["Body"].read() == BODY
    else:
        with client_error("AccessDenied", 403):
            client.get_object(Bucket=target, Key=KEY)


def test_the_matrix_is_whole_and_mixed():
    """Every combination is a cell, and the rule is not trivially one-sided."""
    assert len(CELLS) == 3 * 4 * 2 * 3
    answers = [expected(*c.values) for c in CELLS]
    assert 0 < sum(answers) < len(answers)
    # Spot checks of the rule itself, cell by cell as the AWS docs put them.
    assert expected("allow", "delegating", "cross", "alias")
    assert not expected("allow", "delegating", "cross", "bucket")
    assert not expected("allow", "absent", "cross", "arn")
    assert not expected("absent", "delegating", "cross", "alias")
    assert expected("deny", "allow", "cross", "bucket")
    assert not expected("deny", "allow", "same", "arn")
    assert expected("absent", "absent", "same", "alias")
