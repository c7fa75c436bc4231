"""Contract 5: authentication failures and presigned URLs."""

import datetime as dt
import time
import urllib.parse

import pytest

from util import (FORM, Creds, STS_VERSION, client_error, http_request, query_call,
                  random_access_key_id, urlopen, utcnow)

GCI = {"Action": "GetCallerIdentity", "Version": STS_VERSION}


def test_raw_signed_request_succeeds(ferry, operator):
    """Control for the hand-signed requests below (and in other modules)."""
    r = query_call(ferry.endpoint, operator, "sts", GCI)
    assert r.status == 200, r
    assert f"<Account>{operator.account_id}</Account>" in r.text


def test_wrong_secret_is_signature_mismatch(ferry, operator):
    bad = operator.with_secret(operator.secret_access_key[::-1])
    with client_error("SignatureDoesNotMatch", 403):
        ferry.client("sts", bad).get_caller_identity()


def test_unknown_access_key_is_invalid_client_token(ferry, operator):
    unknown = Creds(random_access_key_id(), operator.secret_access_key)
    with client_error("InvalidClientTokenId", 403):
        ferry.client("sts", unknown).get_caller_identity()


def test_unsigned_request_is_missing_authentication_token(ferry):
    r = http_request(ferry.endpoint, "POST", "/", body=urllib.parse.urlencode(GCI),
                     headers={"Content-Type": FORM})
    assert r.status == 403, r
    assert r.error_code == "MissingAuthenticationToken", r


@pytest.mark.parametrize("minutes", [-20, 20])
def test_skewed_clock_is_refused(ferry, operator, minutes):
    r = query_call(ferry.endpoint, operator, "sts", GCI, when=utcnow() + dt.timedelta(minutes=minutes))
    assert r.status == 403, r
    assert r.error_code == "RequestTimeTooSkewed", r


def presign(ferry, creds, expires):
    return ferry.client("sts", creds).generate_presigned_url(
        "get_caller_identity", ExpiresIn=expires, HttpMethod="GET")


def test_presigned_url_works_with_plain_get(ferry, operator):
    r = urlopen(presign(ferry, operator, 300))
    assert r.status == 200, r
    assert f"<Account>{operator.account_id}</Account>" in r.text
    assert f"arn:aws:iam::{operator.account_id}:root" in r.text


def test_presigned_url_of_member(ferry, member):
    r = urlopen(presign(ferry, member, 300))
    assert r.status == 200, r
    assert f"arn:aws:iam::{member.account_id}:user/admin" in r.text


def test_expired_presigned_url_is_refused(ferry, operator):
    url = presign(ferry, operator, 1)
    time.sleep(2.5)
    r = urlopen(url)
    assert r.status == 403, r


def test_tampered_presigned_url_is_refused(ferry, operator):
    url = presign(ferry, operator, 300)
    sig = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    r = urlopen(url.replace(sig, flipped))
    assert r.status == 403, r
