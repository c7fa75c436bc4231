"""Anonymous (unsigned) S3 requests with plain urllib and raw HTTP, as a
browser or curl sends them: allowed only where a bucket policy (or an access
point policy) grants `Principal: "*"`, under that grant's conditions;
AccessDenied 403 everywhere else; and in the bucket owner's audit trail as
CloudTrail shows anonymous callers (`AWSAccount`, account `anonymous`)."""

import json

import pytest

from localhost_names import local_client, resolving_localhost_subdomains  # noqa: F401 (autouse fixture)
from util import REGION, Creds, ct_detail, http_request, unique, urlopen, wait_for_request_ids


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("anonvendor"), "pooled"))


@pytest.fixture(scope="module")
def vendor_id(ferry, vendor) -> str:
    return ferry.identity(vendor)["Account"]


@pytest.fixture(scope="module")
def vs3(ferry, vendor):
    return ferry.client("s3", vendor, signature_version="s3v4", s3={"addressing_style": "path"})


def policy(bucket: str, action: str, resource: str, condition: dict | None = None) -> str:
    st = {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": f"arn:aws:s3:::{bucket}/{resource}"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


@pytest.fixture
def site(vs3):
    """A bucket whose policy lets everyone read `public/*`, with objects in
    and out of it, and a second bucket with the same keys and no policy."""
    name, other = unique("site").lower(), unique("closed").lower()
    for b in (name, other):
        vs3.create_bucket(Bucket=b)
        vs3.put_object(Bucket=b, Key="public/index.html", Body=b"<h1>hello</h1>", ContentType="text/html")
        vs3.put_object(Bucket=b, Key="private/secret.txt", Body=b"vendor only")
    vs3.put_bucket_policy(Bucket=name, Policy=policy(name, "s3:GetObject", "public/*"))
    return {"bucket": name, "other": other}


def refused(r) -> None:
    assert r.status == 403, r
    if r.body:  # HEAD answers carry no body
        assert b"<Code>AccessDenied</Code>" in r.body, r


def test_public_prefix_is_readable_without_credentials(ferry, vs3, site):
    b = site["bucket"]
    r = urlopen(f"{ferry.endpoint}/{b}/public/index.html")
    assert r.status == 200, r
    assert r.body == b"<h1>hello</h1>"
    assert r.header("Content-Type") == "text/html"
    head = http_request(ferry.endpoint, "HEAD", f"/{b}/public/index.html")
    assert head.status == 200, head
    assert head.header("Content-Length") == str(len(b"<h1>hello</h1>"))
    assert vs3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is True


def test_everything_else_is_refused(ferry, site):
    b, other = site["bucket"], site["other"]
    refused(urlopen(f"{ferry.endpoint}/{b}/private/secret.txt"))
    refused(http_request(ferry.endpoint, "HEAD", f"/{b}/private/secret.txt"))
    # The same key in a bucket with no policy.
    refused(urlopen(f"{ferry.endpoint}/{other}/public/index.html"))
    # A missing key under the grant: no s3:ListBucket, so no NoSuchKey.
    refused(urlopen(f"{ferry.endpoint}/{b}/public/missing.html"))
    # Listing, writing, deleting, reading the policy: not granted.
    refused(urlopen(f"{ferry.endpoint}/{b}"))
    refused(http_request(ferry.endpoint, "PUT", f"/{b}/public/planted.html", body=b"x"))
    refused(http_request(ferry.endpoint, "DELETE", f"/{b}/public/index.html"))
    refused(urlopen(f"{ferry.endpoint}/{b}?policy"))
    # Nor anything account-wide.
    refused(urlopen(f"{ferry.endpoint}/"))
    refused(http_request(ferry.endpoint, "PUT", f"/{unique('anonbucket').lower()}"))
    # The object is still there, unchanged.
    assert urlopen(f"{ferry.endpoint}/{b}/public/index.html").body == b"<h1>hello</h1>"


def test_a_granted_write_goes_through(ferry, vs3, site):
    b = site["bucket"]
    refused(http_request(ferry.endpoint, "PUT", f"/{b}/drop/in.txt", body=b"dropped"))
    vs3.put_bucket_policy(Bucket=b, Policy=policy(b, "s3:PutObject", "drop/*"))
    r = http_request(ferry.endpoint, "PUT", f"/{b}/drop/in.txt", body=b"dropped")
    assert r.status == 200, r
    assert vs3.get_object(Bucket=b, Key="drop/in.txt")["Body"].read() == b"dropped"
    # Only under drop/, and reading it back is another grant.
    refused(http_request(ferry.endpoint, "PUT", f"/{b}/public/index.html", body=b"x"))
    refused(urlopen(f"{ferry.endpoint}/{b}/drop/in.txt"))


@pytest.mark.parametrize("condition", [
    pytest.param({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, id="source-ip-elsewhere"),
    pytest.param("access-point-account", id="only-through-access-points"),
])
def test_a_conditional_grant_to_everyone_is_not_public(ferry, vs3, vendor_id, site, condition):
    b = site["bucket"]
    if condition == "access-point-account":
        condition = {"StringEquals": {"s3:DataAccessPointAccount": vendor_id}}
    vs3.put_bucket_policy(Bucket=b, Policy=policy(b, "s3:GetObject", "public/*", condition))
    assert vs3.get_bucket_policy_status(Bucket=b)["PolicyStatus"]["IsPublic"] is False
    refused(urlopen(f"{ferry.endpoint}/{b}/public/index.html"))
    refused(http_request(ferry.endpoint, "HEAD", f"/{b}/public/index.html"))


def test_a_condition_that_holds_lets_anonymous_in(ferry, vs3, site):
    b = site["bucket"]
    vs3.put_bucket_policy(Bucket=b, Policy=policy(b, "s3:GetObject", "public/*",
                                                  {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert urlopen(f"{ferry.endpoint}/{b}/public/index.html").status == 200


def test_through_a_public_access_point(ferry, vendor, vendor_id, vs3, site):
    """The bucket delegates to its owner's access points; the access point's
    policy grants everyone: the alias is readable, the bucket name is not."""
    b = site["bucket"]
    ctl = local_client(ferry, "s3control", vendor)
    name = unique("anonap").lower().replace("_", "-")[:40]
    alias = ctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=b)["Alias"]
    vs3.put_bucket_policy(Bucket=b, Policy=policy(
        b, "s3:GetObject", "*", {"StringEquals": {"s3:DataAccessPointAccount": vendor_id}}))
    refused(urlopen(f"{ferry.endpoint}/{alias}/public/index.html"))
    arn = f"arn:aws:s3:{REGION}:{vendor_id}:accesspoint/{name}"
    ctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"{arn}/object/public/*"}]}))
    r = urlopen(f"{ferry.endpoint}/{alias}/public/index.html")
    assert r.status == 200, r
    assert r.body == b"<h1>hello</h1>"
    refused(urlopen(f"{ferry.endpoint}/{alias}/private/secret.txt"))
    refused(urlopen(f"{ferry.endpoint}/{b}/public/index.html"))


def test_anonymous_calls_are_audited_for_the_owner(ferry, vendor, site):
    b = site["bucket"]
    ok = urlopen(f"{ferry.endpoint}/{b}/public/index.html")
    no = urlopen(f"{ferry.endpoint}/{b}/private/secret.txt")
    assert (ok.status, no.status) == (200, 403)
    ids = {ok.header("x-amz-request-id"): None, no.header("x-amz-request-id"): "AccessDenied"}
    assert all(ids), ids
    ct = ferry.client("cloudtrail", vendor)
    events = wait_for_request_ids(ct, ids, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "GetObject"}])
    for e in events:
        d = ct_detail(e)
        if d["requestID"] not in ids:
            continue
        assert d["userIdentity"] == {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
        assert d["requestParameters"]["bucketName"] == b
        assert d.get("errorCode") == ids[d["requestID"]]
        assert d["recipientAccountId"] == ferry.identity(vendor)["Account"]
        assert d["ferryDecisionReason"], d
