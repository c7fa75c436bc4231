"""S3, first slice: buckets, objects, listings, bucket policies across
accounts, presigned URLs, and the aws CLI's `s3` commands, against the built
binary with boto3 and the aws CLI."""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from util import Creds, client_error, ct_detail, http_request, sign, unique, wait_for_request_ids


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("vendor"), "pooled"))


@pytest.fixture(scope="module")
def customer(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("customer"), "siloed"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("stranger"), "pooled"))


def s3_client(ferry, creds):
    # SigV4 everywhere (boto3 presigns with SigV2 unless told otherwise);
    # path style, as boto3 uses for an IP endpoint anyway.
    return ferry.client("s3", creds, signature_version="s3v4", s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def vs3(ferry, vendor):
    return s3_client(ferry, vendor)


@pytest.fixture(scope="module")
def ss3(ferry, stranger):
    return s3_client(ferry, stranger)


def bname(prefix: str = "b") -> str:
    return unique(prefix).lower()


def account_of(ferry, creds: Creds) -> str:
    return ferry.identity(creds)["Account"]


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.fixture
def bucket(vs3):
    name = bname()
    vs3.create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------------
# buckets


def test_create_list_head_delete_bucket(vs3):
    name = bname("cycle")
    resp = vs3.create_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Location"] == f"/{name}"
    listed = vs3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert listed["Owner"]["ID"]
    head = vs3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    # us-east-1 reads back as an empty constraint, as in S3.
    assert vs3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    vs3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in vs3.list_buckets()["Buckets"]]
    with client_error("404", 404):
        vs3.head_bucket(Bucket=name)
    with client_error("NoSuchBucket", 404):
        vs3.delete_bucket(Bucket=name)
    with client_error("NoSuchBucket", 404):
        vs3.list_objects_v2(Bucket=name)


def test_location_constraint_is_kept(vs3):
    name = bname("eu")
    vs3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert vs3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert vs3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "eu-west-1"
    region = {b["Name"]: b.get("BucketRegion") for b in vs3.list_buckets()["Buckets"]}
    assert region[name] == "eu-west-1"


def test_bucket_not_empty(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with client_error("BucketNotEmpty", 409):
        vs3.delete_bucket(Bucket=bucket)
    vs3.delete_object(Bucket=bucket, Key="k")
    vs3.delete_bucket(Bucket=bucket)


def test_bucket_names_are_global(vs3, ss3, bucket):
    with client_error("BucketAlreadyExists", 409):
        ss3.create_bucket(Bucket=bucket)
    # The other account does not see it in its own list.
    assert bucket not in [b["Name"] for b in ss3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("name", ["ab", "Upper-Case-Bucket", "under_score", "-leading-dash", "a" * 64,
                                  "192.168.1.1"])
def test_invalid_bucket_names(vs3, name):
    with client_error("InvalidBucketName", 400):
        vs3.create_bucket(Bucket=name)


# --------------------------------------------------------------------------
# objects


def test_put_get_head_delete_object(vs3, bucket):
    body = "hello, objects ✓".encode()
    put = vs3.put_object(Bucket=bucket, Key="docs/readme.txt", Body=body, ContentType="text/plain; charset=utf-8",
                         Metadata={"Owner": "vendor", "purpose": "e2e"}, CacheControl="max-age=60",
                         ContentDisposition='attachment; filename="r.txt"', ContentLanguage="en",
                         ContentEncoding="identity")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = vs3.get_object(Bucket=bucket, Key="docs/readme.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain; charset=utf-8"
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == put["ETag"]
    assert got["Metadata"] == {"owner": "vendor", "purpose": "e2e"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == 'attachment; filename="r.txt"'
    assert got["ContentLanguage"] == "en"
    assert got["ContentEncoding"] == "identity"
    assert got["AcceptRanges"] == "bytes"
    head = vs3.head_object(Bucket=bucket, Key="docs/readme.txt")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == put["ETag"]
    assert head["Metadata"] == {"owner": "vendor", "purpose": "e2e"}
    assert head["ContentType"] == "text/plain; charset=utf-8"
    assert abs(head["LastModified"].timestamp() - time.time()) < 120

    # Overwrite replaces bytes and headers.
    vs3.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"v2")
    got = vs3.get_object(Bucket=bucket, Key="docs/readme.txt")
    assert got["Body"].read() == b"v2"
    assert got.get("Metadata") == {}

    del_resp = vs3.delete_object(Bucket=bucket, Key="docs/readme.txt")
    assert del_resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="docs/readme.txt")
    with client_error("404", 404):
        vs3.head_object(Bucket=bucket, Key="docs/readme.txt")
    # Deleting what is not there succeeds, as in S3.
    vs3.delete_object(Bucket=bucket, Key="docs/readme.txt")


def test_empty_object_and_odd_keys(vs3, bucket):
    keys = ["empty", "with space/and+plus", "ünïcödé/✓.txt", "a//double", "trailing/"]
    for k in keys:
        vs3.put_object(Bucket=bucket, Key=k, Body=k.encode() if k != "empty" else b"")
    for k in keys:
        assert vs3.get_object(Bucket=bucket, Key=k)["Body"].read() == (k.encode() if k != "empty" else b"")
    listed = [o["Key"] for o in vs3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(keys)


def test_response_overrides(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="k", Body=b"data", ContentType="text/plain")
    got = vs3.get_object(Bucket=bucket, Key="k", ResponseContentType="application/json",
                         ResponseContentDisposition="inline", ResponseCacheControl="no-store")
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-store"


def test_content_md5(vs3, bucket):
    data = b"checked bytes"
    vs3.put_object(Bucket=bucket, Key="good", Body=data, ContentMD5=md5_b64(data))
    assert vs3.get_object(Bucket=bucket, Key="good")["Body"].read() == data
    with client_error("BadDigest", 400):
        vs3.put_object(Bucket=bucket, Key="bad", Body=data, ContentMD5=md5_b64(b"other bytes"))
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="bad")
    # A failed overwrite leaves the old object.
    with client_error("BadDigest", 400):
        vs3.put_object(Bucket=bucket, Key="good", Body=b"new", ContentMD5=md5_b64(b"nope"))
    assert vs3.get_object(Bucket=bucket, Key="good")["Body"].read() == data
    with client_error("InvalidDigest", 400):
        vs3.put_object(Bucket=bucket, Key="bad", Body=data, ContentMD5="not-base64-md5")


def test_body_not_matching_its_signed_hash_is_not_stored(ferry, vendor, vs3, bucket):
    signed_body, sent_body = b"the signed bytes", b"the other bytes!"
    path = f"/{bucket}/tampered"
    headers = {"x-amz-content-sha256": hashlib.sha256(signed_body).hexdigest()}
    signed = sign(vendor, "s3", "PUT", f"{ferry.endpoint}{path}", headers, signed_body)
    r = http_request(ferry.endpoint, "PUT", path, headers=signed, body=sent_body)
    assert r.status == 400, r.body
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in r.body
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="tampered")


def test_key_and_metadata_limits(vs3, bucket):
    with client_error("KeyTooLongError", 400):
        vs3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    vs3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")
    with client_error("MetadataTooLarge", 400):
        vs3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2100})


def test_unsupported_requests_are_refused_not_ignored(vs3, bucket):
    with client_error("AccessControlListNotSupported", 400):
        vs3.put_object(Bucket=bucket, Key="acl", Body=b"x", ACL="public-read")
    with client_error("NotImplemented", 501):
        vs3.put_object(Bucket=bucket, Key="cond", Body=b"x", IfNoneMatch="*")
    with client_error("NotImplemented", 501):
        vs3.get_bucket_lifecycle_configuration(Bucket=bucket)
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="cond")


def test_ranges(vs3, bucket):
    data = bytes(range(256)) * 4  # 1024 bytes
    vs3.put_object(Bucket=bucket, Key="r", Body=data)
    got = vs3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 10-19/1024"
    assert got["ContentLength"] == 10
    assert got["Body"].read() == data[10:20]
    got = vs3.get_object(Bucket=bucket, Key="r", Range="bytes=-100")
    assert got["ContentRange"] == "bytes 924-1023/1024"
    assert got["Body"].read() == data[-100:]
    got = vs3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")
    assert got["Body"].read() == data[1000:]
    # An end past the object is cut to its end.
    got = vs3.get_object(Bucket=bucket, Key="r", Range="bytes=1020-5000")
    assert got["ContentRange"] == "bytes 1020-1023/1024"
    assert got["Body"].read() == data[1020:]
    with client_error("InvalidRange", 416):
        vs3.get_object(Bucket=bucket, Key="r", Range="bytes=2000-3000")


def test_conditional_get(vs3, bucket):
    put = vs3.put_object(Bucket=bucket, Key="c", Body=b"conditional")
    etag = put["ETag"]
    assert vs3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    with client_error("PreconditionFailed", 412):
        vs3.get_object(Bucket=bucket, Key="c", IfMatch='"0123456789abcdef0123456789abcdef"')
    with client_error("304", 304):
        vs3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    modified = vs3.head_object(Bucket=bucket, Key="c")["LastModified"]
    with client_error("304", 304):
        vs3.get_object(Bucket=bucket, Key="c", IfModifiedSince=modified)
    with client_error("PreconditionFailed", 412):
        vs3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=modified.replace(year=2000))
    assert vs3.get_object(Bucket=bucket, Key="c", IfModifiedSince=modified.replace(year=2000))["Body"].read() \
        == b"conditional"


# --------------------------------------------------------------------------
# listings


@pytest.fixture
def filled(vs3, bucket):
    keys = ["a.txt", "photos/2023/jan.jpg", "photos/2023/feb.jpg", "photos/2024/mar.jpg", "photos/cover.jpg",
            "videos/x.mp4", "z.txt"]
    for k in keys:
        vs3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket, sorted(keys)


def test_list_v2_prefix_delimiter(vs3, filled):
    bucket, keys = filled
    out = vs3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in out["Contents"]] == keys
    assert out["KeyCount"] == len(keys)
    assert not out["IsTruncated"]
    first = out["Contents"][0]
    assert first["Size"] == len(first["Key"])
    assert first["ETag"] == f'"{hashlib.md5(first["Key"].encode()).hexdigest()}"'
    assert first["StorageClass"] == "STANDARD"

    out = vs3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["a.txt", "z.txt"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["photos/", "videos/"]
    assert out["KeyCount"] == 4

    out = vs3.list_objects_v2(Bucket=bucket, Prefix="photos/", Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["photos/cover.jpg"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["photos/2023/", "photos/2024/"]

    out = vs3.list_objects_v2(Bucket=bucket, Prefix="photos/2023/")
    assert [o["Key"] for o in out["Contents"]] == ["photos/2023/feb.jpg", "photos/2023/jan.jpg"]

    out = vs3.list_objects_v2(Bucket=bucket, StartAfter="photos/cover.jpg")
    assert [o["Key"] for o in out["Contents"]] == ["videos/x.mp4", "z.txt"]

    out = vs3.list_objects_v2(Bucket=bucket, Prefix="nothing/")
    assert out["KeyCount"] == 0
    assert "Contents" not in out


def test_list_v2_pages(vs3, filled):
    bucket, keys = filled
    page = vs3.list_objects_v2(Bucket=bucket, MaxKeys=3)
    assert page["IsTruncated"] and page["KeyCount"] == 3
    token = page["NextContinuationToken"]
    assert "photos" not in token, "the token is opaque"
    seen = [o["Key"] for o in page["Contents"]]
    while page["IsTruncated"]:
        page = vs3.list_objects_v2(Bucket=bucket, MaxKeys=3, ContinuationToken=page["NextContinuationToken"])
        seen += [o["Key"] for o in page["Contents"]]
    assert seen == keys

    # The paginator, with a delimiter, across pages.
    pages = list(vs3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}))
    assert len(pages) == 4
    got_keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    got_prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert got_keys == ["a.txt", "z.txt"]
    assert got_prefixes == ["photos/", "videos/"]

    with client_error("InvalidArgument", 400):
        vs3.list_objects_v2(Bucket=bucket, ContinuationToken="not-a-token!")


def test_list_v1_marker(vs3, filled):
    bucket, keys = filled
    out = vs3.list_objects(Bucket=bucket, MaxKeys=2)
    assert [o["Key"] for o in out["Contents"]] == keys[:2]
    assert out["IsTruncated"]
    out = vs3.list_objects(Bucket=bucket, Marker=keys[1])
    assert [o["Key"] for o in out["Contents"]] == keys[2:]
    pages = list(vs3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys
    out = vs3.list_objects(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["photos/", "videos/"]


def virtual_host_request(ferry, creds, method, bucket, path, body=b""):
    """A signed request addressed as `BUCKET.localhost:PORT` (the default
    domain), sent to the server's address (the name need not resolve). The
    path's query must come encoded, as botocore signs it as written."""
    host = f"{bucket}.localhost:{ferry.port}"
    headers = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    signed = sign(creds, "s3", method, f"http://{host}{path}", headers, body)
    signed["Host"] = host
    return http_request(ferry.endpoint, method, path, headers=signed, body=body)


def test_virtual_hosted_style(ferry, vendor, vs3, bucket):
    r = virtual_host_request(ferry, vendor, "PUT", bucket, "/vh/key.txt", b"virtually hosted")
    assert r.status == 200, r.body
    assert vs3.get_object(Bucket=bucket, Key="vh/key.txt")["Body"].read() == b"virtually hosted"
    r = virtual_host_request(ferry, vendor, "GET", bucket, "/vh/key.txt")
    assert (r.status, r.body) == (200, b"virtually hosted")
    r = virtual_host_request(ferry, vendor, "GET", bucket, "/?list-type=2&prefix=vh%2F")
    assert r.status == 200, r.body
    assert b"<Key>vh/key.txt</Key>" in r.body
    r = virtual_host_request(ferry, vendor, "GET", bucket, "/missing")
    assert r.status == 404 and b"<Code>NoSuchKey</Code>" in r.body


# --------------------------------------------------------------------------
# presigned URLs


def test_presigned_get(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared by URL")
    url = vs3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.read() == b"shared by URL"

    short = vs3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(short, timeout=10)
    assert err.value.code == 403
    assert b"AccessDenied" in err.value.read()


def test_a_bucket_policy_on_s3_auth_type_refuses_presigned_urls(vs3):
    name = bname("hdr")
    vs3.create_bucket(Bucket=name)
    vs3.put_object(Bucket=name, Key="k", Body=b"header only")
    vs3.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{name}/*",
                       "Condition": {"StringNotEquals": {"s3:authType": "REST-HEADER"}}}]}))
    assert vs3.get_object(Bucket=name, Key="k")["Body"].read() == b"header only"
    url = vs3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "k"}, ExpiresIn=300)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code == 403
    assert b"<Code>AccessDenied</Code>" in err.value.read()
    # Without the policy the same URL works: it was the condition key.
    vs3.delete_bucket_policy(Bucket=name)
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"header only"


def test_anonymous_get_is_refused(ferry, vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="private.txt", Body=b"secret")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{ferry.endpoint}/{bucket}/private.txt", timeout=10)
    assert err.value.code == 403
    assert b"<Code>AccessDenied</Code>" in err.value.read()


# --------------------------------------------------------------------------
# across accounts


def test_another_account_is_refused_everything(ferry, vs3, ss3, bucket):
    vs3.put_object(Bucket=bucket, Key="k", Body=b"vendor data")
    refused = [
        lambda: ss3.list_objects_v2(Bucket=bucket),
        lambda: ss3.list_objects(Bucket=bucket),
        lambda: ss3.get_object(Bucket=bucket, Key="k"),
        lambda: ss3.put_object(Bucket=bucket, Key="k", Body=b"overwritten"),
        lambda: ss3.put_object(Bucket=bucket, Key="new", Body=b"planted"),
        lambda: ss3.delete_object(Bucket=bucket, Key="k"),
        lambda: ss3.get_bucket_location(Bucket=bucket),
        lambda: ss3.get_bucket_policy(Bucket=bucket),
        lambda: ss3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                           "Resource": f"arn:aws:s3:::{bucket}/*"}]})),
        lambda: ss3.delete_bucket_policy(Bucket=bucket),
        lambda: ss3.delete_bucket(Bucket=bucket),
    ]
    for call in refused:
        with client_error("AccessDenied", 403):
            call()
    with client_error("403", 403):
        ss3.head_object(Bucket=bucket, Key="k")
    with client_error("403", 403):
        ss3.head_bucket(Bucket=bucket)
    # Nothing changed.
    assert vs3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"vendor data"
    assert [o["Key"] for o in vs3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    with client_error("NoSuchBucketPolicy", 404):
        vs3.get_bucket_policy(Bucket=bucket)


def test_bucket_policy_grants_another_account(ferry, vs3, ss3, stranger, bucket):
    vs3.put_object(Bucket=bucket, Key="exports/report.csv", Body=b"a,b\n1,2\n")
    vs3.put_object(Bucket=bucket, Key="internal/notes.txt", Body=b"private")
    with client_error("NoSuchBucketPolicy", 404):
        vs3.get_bucket_policy(Bucket=bucket)
    stranger_account = account_of(ferry, stranger)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CustomerReadsExports",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{stranger_account}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/exports/*",
        }],
    }
    vs3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(vs3.get_bucket_policy(Bucket=bucket)["Policy"]) == policy

    assert ss3.get_object(Bucket=bucket, Key="exports/report.csv")["Body"].read() == b"a,b\n1,2\n"
    with client_error("AccessDenied", 403):
        ss3.get_object(Bucket=bucket, Key="internal/notes.txt")
    with client_error("AccessDenied", 403):
        ss3.put_object(Bucket=bucket, Key="exports/evil.csv", Body=b"x")
    with client_error("AccessDenied", 403):
        ss3.list_objects_v2(Bucket=bucket)

    vs3.delete_bucket_policy(Bucket=bucket)
    with client_error("NoSuchBucketPolicy", 404):
        vs3.get_bucket_policy(Bucket=bucket)
    with client_error("AccessDenied", 403):
        ss3.get_object(Bucket=bucket, Key="exports/report.csv")


def test_list_conditions_prefix_delimiter_max_keys(ferry, vs3, ss3, stranger, bucket):
    # A customer may list one folder, one level at a time, a page at most 100.
    for key in ("exports/a.csv", "exports/2026/b.csv", "internal/x"):
        vs3.put_object(Bucket=bucket, Key=key, Body=b"x")
    vs3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_of(ferry, stranger)}:root"},
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {
                "StringEquals": {"s3:prefix": "exports/", "s3:delimiter": "/"},
                "NumericLessThanEquals": {"s3:max-keys": "100"},
            },
        }],
    }))
    got = ss3.list_objects_v2(Bucket=bucket, Prefix="exports/", Delimiter="/", MaxKeys=50)
    assert [o["Key"] for o in got["Contents"]] == ["exports/a.csv"]
    assert [p["Prefix"] for p in got["CommonPrefixes"]] == ["exports/2026/"]
    refused = [
        dict(Prefix="internal/", Delimiter="/", MaxKeys=50),
        dict(Prefix="exports/", MaxKeys=50),
        dict(Prefix="exports/", Delimiter="/", MaxKeys=500),
        dict(Delimiter="/", MaxKeys=50),
    ]
    for args in refused:
        with client_error("AccessDenied", 403):
            ss3.list_objects_v2(Bucket=bucket, **args)


def test_malformed_policy(vs3, bucket):
    with client_error("MalformedPolicy", 400):
        vs3.put_bucket_policy(Bucket=bucket, Policy="{not json")


def test_siloed_account_buckets(ferry, customer):
    c = s3_client(ferry, customer)
    name = bname("silo")
    c.create_bucket(Bucket=name)
    c.put_object(Bucket=name, Key="k", Body=b"siloed bytes")
    assert c.get_object(Bucket=name, Key="k")["Body"].read() == b"siloed bytes"
    assert [o["Key"] for o in c.list_objects_v2(Bucket=name)["Contents"]] == ["k"]


def test_audit_records_s3_operations(ferry, vendor, vs3, bucket):
    put = vs3.put_object(Bucket=bucket, Key="audited.txt", Body=b"x")
    put_id = put["ResponseMetadata"]["RequestId"]
    with client_error("NoSuchKey", 404) as err:
        vs3.get_object(Bucket=bucket, Key="missing.txt")
    get_id = err.value.response["ResponseMetadata"]["RequestId"]
    ct = ferry.client("cloudtrail", vendor)
    events = wait_for_request_ids(ct, [put_id], LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "PutObject"}])
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == put_id)
    assert d["eventSource"] == "s3.amazonaws.com"
    assert d["requestParameters"]["bucketName"] == bucket
    assert d["requestParameters"]["key"] == "audited.txt"
    assert d.get("errorCode") is None
    events = wait_for_request_ids(ct, [get_id], LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "GetObject"}])
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == get_id)
    assert d["errorCode"] == "NoSuchKey"
    assert d["readOnly"] is True


def test_a_refused_cross_account_call_is_in_the_bucket_owners_trail(ferry, vendor, stranger, vs3, ss3, bucket):
    vs3.put_object(Bucket=bucket, Key="owner-trail.txt", Body=b"x")
    with client_error("AccessDenied", 403) as err:
        ss3.get_object(Bucket=bucket, Key="owner-trail.txt")
    rid = err.value.response["ResponseMetadata"]["RequestId"]
    # The owner sees who tried; the stranger sees its own attempt too.
    for creds in (vendor, stranger):
        ct = ferry.client("cloudtrail", creds)
        events = wait_for_request_ids(ct, [rid], LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "GetObject"}])
        d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == rid)
        assert d["errorCode"] == "AccessDenied"
        assert d["recipientAccountId"] == account_of(ferry, vendor)


# --------------------------------------------------------------------------
# the aws CLI


def aws_s3(ferry, creds: Creds, tmp_path, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess:
    """`aws s3 ...` with a config of its own: one PutObject up to 64 MiB, so
    the single-part path is what is tested here (multipart uploads are
    tested in test_s3_multipart.py)."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    multipart_threshold = 64MB\n    multipart_chunksize = 64MB\n")
    env = ferry._env(creds)
    env["AWS_CONFIG_FILE"] = str(config)
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_PAGER"] = ""
    cmd = [sys.executable, "-m", "awscli", "s3", *args, "--endpoint-url", ferry.endpoint]
    return subprocess.run(cmd, cwd=ferry.workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.timeout(300)
def test_aws_cli_cp_20mib_and_ls(ferry, vendor, vs3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(20 * 1024 * 1024)
    src.write_bytes(data)
    p = aws_s3(ferry, vendor, tmp_path, "cp", str(src), f"s3://{bucket}/data/big.bin")
    assert p.returncode == 0, f"aws s3 cp up: {p.stdout}\n{p.stderr}"
    head = vs3.head_object(Bucket=bucket, Key="data/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"', "one PutObject, not a multipart upload"

    dst = tmp_path / "back.bin"
    p = aws_s3(ferry, vendor, tmp_path, "cp", f"s3://{bucket}/data/big.bin", str(dst))
    assert p.returncode == 0, f"aws s3 cp down: {p.stdout}\n{p.stderr}"
    assert dst.read_bytes() == data

    p = aws_s3(ferry, vendor, tmp_path, "ls")
    assert p.returncode == 0, p.stderr
    assert bucket in p.stdout
    p = aws_s3(ferry, vendor, tmp_path, "ls", f"s3://{bucket}/", "--recursive")
    assert p.returncode == 0, p.stderr
    assert "data/big.bin" in p.stdout
    assert str(len(data)) in p.stdout

    p = aws_s3(ferry, vendor, tmp_path, "rm", f"s3://{bucket}/data/big.bin")
    assert p.returncode == 0, p.stderr
    with client_error("404", 404):
        vs3.head_object(Bucket=bucket, Key="data/big.bin")
