"""Contract 1: `ferry serve`, health, and the operator's root credentials."""

import json
import stat

from util import ACCOUNT_ID_RE


def test_health_answers_200_json_ok(ferry):
    status, body = ferry.health()
    assert status == 200
    doc = json.loads(body)
    assert doc.get("status") == "ok", doc


def test_operator_json_is_private_and_well_formed(ferry):
    mode = stat.S_IMODE(ferry.operator_path.stat().st_mode)
    assert mode == 0o600, f"operator.json has mode {oct(mode)}, want 0o600"
    op = ferry.operator
    assert ACCOUNT_ID_RE.match(op["account_id"]), op["account_id"]
    assert op["access_key_id"].startswith("AKIA"), op["access_key_id"]
    assert isinstance(op["secret_access_key"], str) and len(op["secret_access_key"]) >= 16
    assert op["secret_access_key"] != op["access_key_id"]


def test_operator_credentials_are_management_root(ferry, operator):
    ident = ferry.identity(operator)
    account_id = ferry.operator["account_id"]
    assert ident["Account"] == account_id
    assert ident["Arn"] == f"arn:aws:iam::{account_id}:root"
    assert ident["UserId"] == account_id


def test_any_region_is_accepted(ferry, operator):
    for region in ("eu-west-1", "ap-southeast-2"):
        ident = ferry.identity(operator, region=region)
        assert ident["Account"] == ferry.operator["account_id"]
