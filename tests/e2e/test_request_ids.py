"""Contract 6: every response carries x-amzn-RequestId and x-amz-request-id."""

import pytest

from util import ORG_TARGET, client_error, http_request, json_call, query_call, STS_VERSION


def _ids(headers):
    return headers.get("x-amzn-RequestId"), headers.get("x-amz-request-id")


def test_success_response_has_request_ids(ferry, operator):
    resp = ferry.client("sts", operator).get_caller_identity()
    meta = resp["ResponseMetadata"]
    hdrs = meta["HTTPHeaders"]  # botocore lower-cases header names
    assert meta["RequestId"], meta
    assert hdrs.get("x-amzn-requestid"), hdrs
    assert hdrs.get("x-amz-request-id"), hdrs
    assert meta["RequestId"] == hdrs["x-amzn-requestid"]


def test_request_ids_are_unique(ferry, operator):
    sts = ferry.client("sts", operator)
    ids = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(5)]
    assert len(set(ids)) == 5, ids


def test_json_protocol_response_has_request_id(ferry, operator):
    resp = ferry.client("organizations", operator).describe_organization()
    meta = resp["ResponseMetadata"]
    assert meta["RequestId"]
    assert meta["HTTPHeaders"].get("x-amz-request-id")


def test_error_responses_have_request_ids(ferry, operator):
    with client_error("SignatureDoesNotMatch") as err:
        ferry.client("sts", operator.with_secret("wrong" + operator.secret_access_key[5:])).get_caller_identity()
    meta = err.value.response["ResponseMetadata"]
    assert meta.get("RequestId"), meta
    assert meta["HTTPHeaders"].get("x-amzn-requestid") and meta["HTTPHeaders"].get("x-amz-request-id")

    with client_error("AccountNotFoundException") as err:
        ferry.client("organizations", operator).describe_account(AccountId="000000000001")
    meta = err.value.response["ResponseMetadata"]
    assert meta.get("RequestId"), meta
    assert meta["HTTPHeaders"].get("x-amzn-requestid") and meta["HTTPHeaders"].get("x-amz-request-id")


@pytest.mark.parametrize("kind", ["health", "metrics", "unsigned", "unknown-json-op", "unknown-query-action"])
def test_raw_responses_have_request_ids(ferry, operator, kind):
    if kind == "health":
        r = http_request(ferry.endpoint, "GET", "/_ferry/health")
    elif kind == "metrics":
        r = http_request(ferry.endpoint, "GET", "/_ferry/metrics")
    elif kind == "unsigned":
        r = http_request(ferry.endpoint, "POST", "/", body="Action=GetCallerIdentity&Version=2011-06-15",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    elif kind == "unknown-json-op":
        r = json_call(ferry.endpoint, operator, "organizations", f"{ORG_TARGET}.NoSuchThing", {})
    else:
        r = query_call(ferry.endpoint, operator, "sts", {"Action": "NoSuchThing", "Version": STS_VERSION})
    amzn, amz = _ids(r.headers)
    assert amzn and amz, f"{kind}: missing request id headers in {dict(r.headers)}"
