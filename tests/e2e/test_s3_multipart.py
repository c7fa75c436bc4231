"""S3 multipart uploads, CopyObject and DeleteObjects against the built
binary: boto3's low-level calls, the aws CLI's `s3 cp` (multipart above its
8 MB threshold) and `s3 sync`, copies within and across accounts, and the
wrong account refused for each operation."""

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest

from util import Creds, client_error, ct_detail, unique, wait_for_request_ids

MIB = 1024 * 1024


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
    return ferry.client("s3", creds, signature_version="s3v4", s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def vs3(ferry, vendor):
    return s3_client(ferry, vendor)


@pytest.fixture(scope="module")
def cs3(ferry, customer):
    return s3_client(ferry, customer)


@pytest.fixture(scope="module")
def ss3(ferry, stranger):
    return s3_client(ferry, stranger)


def bname(prefix: str = "mp") -> str:
    return unique(prefix).lower()


@pytest.fixture
def bucket(vs3):
    name = bname()
    vs3.create_bucket(Bucket=name)
    return name


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def multipart_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def account_of(ferry, creds: Creds) -> str:
    return ferry.identity(creds)["Account"]


def upload_parts(s3, bucket: str, key: str, parts: list[bytes]) -> tuple[str, list[dict]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for n, data in enumerate(parts, start=1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    return upload_id, done


# --------------------------------------------------------------------------
# multipart with boto3


def test_multipart_upload_cycle(vs3, bucket):
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"the small last part"]
    created = vs3.create_multipart_upload(Bucket=bucket, Key="big/object.bin", ContentType="text/csv",
                                          Metadata={"owner": "vendor"})
    upload_id = created["UploadId"]
    assert created["Bucket"] == bucket and created["Key"] == "big/object.bin"
    done = []
    for n, data in enumerate(parts, start=1):
        r = vs3.upload_part(Bucket=bucket, Key="big/object.bin", UploadId=upload_id, PartNumber=n,
                            Body=data, ContentMD5=md5_b64(data))
        assert r["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        done.append({"PartNumber": n, "ETag": r["ETag"]})

    listed = vs3.list_parts(Bucket=bucket, Key="big/object.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [
        (n, len(d), e["ETag"]) for n, d, e in zip((1, 2, 3), parts, done)]
    assert listed["IsTruncated"] is False
    page = vs3.list_parts(Bucket=bucket, Key="big/object.bin", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert page["IsTruncated"] is True and page["NextPartNumberMarker"] == 2
    rest = vs3.list_parts(Bucket=bucket, Key="big/object.bin", UploadId=upload_id, PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]

    uploads = vs3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in uploads["Uploads"]] == [("big/object.bin", upload_id)]

    done_resp = vs3.complete_multipart_upload(Bucket=bucket, Key="big/object.bin", UploadId=upload_id,
                                              MultipartUpload={"Parts": done})
    assert done_resp["ETag"] == multipart_etag(parts)
    got = vs3.get_object(Bucket=bucket, Key="big/object.bin")
    assert got["Body"].read() == b"".join(parts)
    assert got["ETag"] == multipart_etag(parts)
    assert got["ContentType"] == "text/csv"
    assert got["Metadata"] == {"owner": "vendor"}
    ranged = vs3.get_object(Bucket=bucket, Key="big/object.bin", Range=f"bytes={5 * MIB - 3}-{5 * MIB + 2}")
    assert ranged["Body"].read() == parts[0][-3:] + parts[1][:3]

    assert vs3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with client_error("NoSuchUpload", 404):
        vs3.complete_multipart_upload(Bucket=bucket, Key="big/object.bin", UploadId=upload_id,
                                      MultipartUpload={"Parts": done})


def test_multipart_errors(vs3, bucket):
    # Every part but the last at least 5 MiB.
    upload_id, done = upload_parts(vs3, bucket, "small", [b"a" * 100, b"b" * 100])
    with client_error("EntityTooSmall", 400):
        vs3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id,
                                      MultipartUpload={"Parts": done})
    # A missing part or a wrong ETag.
    with client_error("InvalidPart", 400):
        vs3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id,
                                      MultipartUpload={"Parts": [{"PartNumber": 7, "ETag": done[0]["ETag"]}]})
    with client_error("InvalidPart", 400):
        vs3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id,
                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": done[1]["ETag"]}]})
    with client_error("InvalidPartOrder", 400):
        vs3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id,
                                      MultipartUpload={"Parts": list(reversed(done))})
    with client_error("BadDigest", 400):
        vs3.upload_part(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=3, Body=b"x",
                        ContentMD5=md5_b64(b"y"))
    with client_error("InvalidArgument", 400):
        vs3.upload_part(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=10001, Body=b"x")
    with client_error("NoSuchUpload", 404):
        vs3.upload_part(Bucket=bucket, Key="small", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    with client_error("NoSuchUpload", 404):
        vs3.upload_part(Bucket=bucket, Key="another-key", UploadId=upload_id, PartNumber=1, Body=b"x")
    with client_error("NoSuchBucket", 404):
        vs3.create_multipart_upload(Bucket=bname("missing"), Key="k")
    with client_error("MalformedXML", 400):
        vs3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id,
                                      MultipartUpload={"Parts": []})
    vs3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    with client_error("InvalidArgument", 400):
        vs3.upload_part_copy(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=3,
                             CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=2-10")
    with client_error("InvalidArgument", 400):
        vs3.upload_part_copy(Bucket=bucket, Key="small", UploadId=upload_id, PartNumber=3,
                             CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="2-3")
    # Abort: the upload is gone, no object is made.
    vs3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id)
    with client_error("NoSuchUpload", 404):
        vs3.list_parts(Bucket=bucket, Key="small", UploadId=upload_id)
    with client_error("NoSuchUpload", 404):
        vs3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id)
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="small")
    assert vs3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_list_multipart_uploads_pages_and_prefixes(vs3, bucket):
    ids = {}
    for key in ["a/1", "a/2", "b/1"]:
        ids[key] = vs3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    listed = vs3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [u["Key"] for u in listed["Uploads"]] == ["a/1", "a/2"]
    first = vs3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert [u["Key"] for u in first["Uploads"]] == ["a/1", "a/2"]
    assert first["IsTruncated"] is True
    second = vs3.list_multipart_uploads(Bucket=bucket, KeyMarker=first["NextKeyMarker"],
                                        UploadIdMarker=first["NextUploadIdMarker"])
    assert [u["Key"] for u in second["Uploads"]] == ["b/1"]
    rolled = vs3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "b/"]
    assert rolled.get("Uploads", []) == []
    for key, upload_id in ids.items():
        vs3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


def test_upload_part_copy_takes_a_range(vs3, bucket):
    source = os.urandom(6 * MIB)
    vs3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = vs3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    p1 = vs3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=1,
                              CopySource={"Bucket": bucket, "Key": "source"},
                              CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    p2 = vs3.upload_part(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=2, Body=b"tail")
    parts = [{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]
    r = vs3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=upload_id,
                                      MultipartUpload={"Parts": parts})
    assert r["ETag"] == multipart_etag([source[:5 * MIB], b"tail"])
    assert vs3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source[:5 * MIB] + b"tail"


# --------------------------------------------------------------------------
# the aws CLI


def aws_s3(ferry, creds: Creds, tmp_path, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """`aws s3 ...` with the CLI's default transfer settings (multipart from
    8 MB, 8 MB parts) and no user config."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\n")
    env = ferry._env(creds)
    env["AWS_CONFIG_FILE"] = str(config)
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_PAGER"] = ""
    cmd = [sys.executable, "-m", "awscli", "s3", *args, "--endpoint-url", ferry.endpoint]
    return subprocess.run(cmd, cwd=ferry.workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.timeout(400)
def test_aws_cli_cp_40mib_is_a_multipart_upload(ferry, vendor, vs3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(40 * MIB)
    src.write_bytes(data)
    p = aws_s3(ferry, vendor, tmp_path, "cp", str(src), f"s3://{bucket}/data/big.bin")
    assert p.returncode == 0, f"aws s3 cp up: {p.stdout}\n{p.stderr}"
    head = vs3.head_object(Bucket=bucket, Key="data/big.bin")
    assert head["ContentLength"] == len(data)
    chunks = [data[i:i + 8 * MIB] for i in range(0, len(data), 8 * MIB)]
    assert head["ETag"] == multipart_etag(chunks), "8 MiB parts, as the CLI sends them"
    dst = tmp_path / "back.bin"
    p = aws_s3(ferry, vendor, tmp_path, "cp", f"s3://{bucket}/data/big.bin", str(dst))
    assert p.returncode == 0, f"aws s3 cp down: {p.stdout}\n{p.stderr}"
    assert dst.read_bytes() == data
    # Bucket to bucket: the CLI copies a large object with UploadPartCopy.
    p = aws_s3(ferry, vendor, tmp_path, "cp", f"s3://{bucket}/data/big.bin", f"s3://{bucket}/copy/big.bin")
    assert p.returncode == 0, f"aws s3 cp s3->s3: {p.stdout}\n{p.stderr}"
    copied = vs3.get_object(Bucket=bucket, Key="copy/big.bin")
    assert copied["ETag"].endswith('-5"'), copied["ETag"]
    assert copied["Body"].read() == data
    assert vs3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.timeout(400)
def test_aws_cli_sync_a_folder(ferry, vendor, vs3, bucket, tmp_path):
    up = tmp_path / "up"
    files = {
        "a.txt": b"alpha\n",
        "nested/b.bin": os.urandom(300 * 1024),
        "nested/deeper/c.json": json.dumps({"c": 3}).encode(),
        "large.bin": os.urandom(9 * MIB),
        "empty": b"",
    }
    for rel, data in files.items():
        path = up / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    p = aws_s3(ferry, vendor, tmp_path, "sync", str(up), f"s3://{bucket}/tree")
    assert p.returncode == 0, f"aws s3 sync up: {p.stdout}\n{p.stderr}"
    listed = vs3.list_objects_v2(Bucket=bucket, Prefix="tree/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(f"tree/{k}" for k in files)
    # Nothing changed: a second sync uploads nothing.
    p = aws_s3(ferry, vendor, tmp_path, "sync", str(up), f"s3://{bucket}/tree")
    assert p.returncode == 0, p.stderr
    assert "upload:" not in p.stdout
    down = tmp_path / "down"
    p = aws_s3(ferry, vendor, tmp_path, "sync", f"s3://{bucket}/tree", str(down))
    assert p.returncode == 0, f"aws s3 sync down: {p.stdout}\n{p.stderr}"
    for rel, data in files.items():
        assert (down / rel).read_bytes() == data, rel


# --------------------------------------------------------------------------
# CopyObject


def test_copy_object_in_one_account(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="orig.txt", Body=b"hello", ContentType="text/plain",
                   Metadata={"a": "1"})
    r = vs3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "orig.txt"})
    assert r["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    got = vs3.get_object(Bucket=bucket, Key="copy.txt")
    assert got["Body"].read() == b"hello"
    assert got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/plain"
    # REPLACE takes the request's metadata.
    vs3.copy_object(Bucket=bucket, Key="replaced.txt", CopySource=f"{bucket}/orig.txt",
                    MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="application/json")
    head = vs3.head_object(Bucket=bucket, Key="replaced.txt")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "application/json"
    # Onto itself: only with REPLACE, as on S3.
    with client_error("InvalidRequest", 400):
        vs3.copy_object(Bucket=bucket, Key="orig.txt", CopySource={"Bucket": bucket, "Key": "orig.txt"})
    vs3.copy_object(Bucket=bucket, Key="orig.txt", CopySource={"Bucket": bucket, "Key": "orig.txt"},
                    MetadataDirective="REPLACE", Metadata={"c": "3"})
    got = vs3.get_object(Bucket=bucket, Key="orig.txt")
    assert got["Body"].read() == b"hello" and got["Metadata"] == {"c": "3"}
    # Source conditions.
    with client_error("PreconditionFailed", 412):
        vs3.copy_object(Bucket=bucket, Key="cond.txt", CopySource={"Bucket": bucket, "Key": "orig.txt"},
                        CopySourceIfMatch='"00000000000000000000000000000000"')
    with client_error("NoSuchKey", 404):
        vs3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
    # Keys that need encoding in x-amz-copy-source.
    odd = "dir/with space+plus&é?.txt"
    vs3.put_object(Bucket=bucket, Key=odd, Body=b"odd")
    vs3.copy_object(Bucket=bucket, Key="odd copy", CopySource={"Bucket": bucket, "Key": odd})
    assert vs3.get_object(Bucket=bucket, Key="odd copy")["Body"].read() == b"odd"


def test_copy_object_across_accounts_needs_both_sides(ferry, vs3, cs3, customer, bucket):
    vs3.put_object(Bucket=bucket, Key="out/report.csv", Body=b"a,b\n1,2\n")
    mine = bname("dst")
    cs3.create_bucket(Bucket=mine)
    src = {"Bucket": bucket, "Key": "out/report.csv"}
    with client_error("AccessDenied", 403):
        cs3.copy_object(Bucket=mine, Key="in/report.csv", CopySource=src)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_of(ferry, customer)}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/out/*",
        }],
    }
    vs3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    cs3.copy_object(Bucket=mine, Key="in/report.csv", CopySource=src)
    assert cs3.get_object(Bucket=mine, Key="in/report.csv")["Body"].read() == b"a,b\n1,2\n"
    # The vendor may read its object but not write into the customer's bucket.
    with client_error("AccessDenied", 403):
        vs3.copy_object(Bucket=mine, Key="pushed.csv", CopySource=src)


# --------------------------------------------------------------------------
# DeleteObjects


def test_delete_objects(vs3, ss3, bucket):
    for k in ["a", "b", "c", "d"]:
        vs3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = vs3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "b", "never"]
    assert r.get("Errors", []) == []
    r = vs3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert r.get("Deleted", []) == [] and r.get("Errors", []) == []
    keys = [o["Key"] for o in vs3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["d"]
    # Another account: per-key AccessDenied, nothing deleted.
    r = ss3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d"}]})
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("d", "AccessDenied")]
    assert vs3.head_object(Bucket=bucket, Key="d")["ContentLength"] == 1
    with client_error("MalformedXML", 400):
        vs3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
    with client_error("NoSuchBucket", 404):
        vs3.delete_objects(Bucket=bname("missing"), Delete={"Objects": [{"Key": "a"}]})


# --------------------------------------------------------------------------
# the wrong account


def test_the_wrong_account_is_refused_for_each_operation(vs3, ss3, bucket):
    vs3.put_object(Bucket=bucket, Key="src", Body=b"data")
    upload_id, done = upload_parts(vs3, bucket, "k", [b"only part"])
    denied = lambda: client_error("AccessDenied", 403)  # noqa: E731
    with denied():
        ss3.create_multipart_upload(Bucket=bucket, Key="k2")
    with denied():
        ss3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"x")
    with denied():
        ss3.upload_part_copy(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "src"})
    with denied():
        ss3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    with denied():
        ss3.list_multipart_uploads(Bucket=bucket)
    with denied():
        ss3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                      MultipartUpload={"Parts": done})
    with denied():
        ss3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    own = bname("own")
    ss3.create_bucket(Bucket=own)
    with denied():
        ss3.copy_object(Bucket=own, Key="stolen", CopySource={"Bucket": bucket, "Key": "src"})
    ss3.put_object(Bucket=own, Key="mine", Body=b"m")
    with denied():
        ss3.copy_object(Bucket=bucket, Key="planted", CopySource={"Bucket": own, "Key": "mine"})
    r = ss3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "src"}]})
    assert [e["Code"] for e in r["Errors"]] == ["AccessDenied"]
    # The owner's upload is untouched.
    r = vs3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                      MultipartUpload={"Parts": done})
    assert r["ETag"] == multipart_etag([b"only part"])


def test_audit_records_multipart_operations(ferry, vendor, vs3, bucket):
    upload_id, done = upload_parts(vs3, bucket, "audited", [b"part"])
    r = vs3.complete_multipart_upload(Bucket=bucket, Key="audited", UploadId=upload_id,
                                      MultipartUpload={"Parts": done})
    complete_id = r["ResponseMetadata"]["RequestId"]
    with client_error("NoSuchUpload", 404) as err:
        vs3.list_parts(Bucket=bucket, Key="audited", UploadId=upload_id)
    parts_id = err.value.response["ResponseMetadata"]["RequestId"]
    ct = ferry.client("cloudtrail", vendor)
    events = wait_for_request_ids(ct, [complete_id], LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CompleteMultipartUpload"}])
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == complete_id)
    assert d["requestParameters"]["bucketName"] == bucket
    assert d["requestParameters"]["key"] == "audited"
    assert d["requestParameters"]["uploadId"] == upload_id
    assert d.get("errorCode") is None
    events = wait_for_request_ids(ct, [parts_id], LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "ListParts"}])
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == parts_id)
    assert d["errorCode"] == "NoSuchUpload"
    assert d["readOnly"] is True
