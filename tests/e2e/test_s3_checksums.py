"""S3 flexible checksums against the built binary: boto3 putting with each
algorithm (in a header, and in an aws-chunked trailer as botocore sends it
over TLS), GetObject/HeadObject with ChecksumMode=ENABLED answering the
value computed here in Python, BadDigest storing nothing, a multipart
upload with a composite SHA-256, CopyObject, `aws s3 cp`, and another
account refused."""

import base64
import hashlib
import os
import struct
import subprocess
import sys
import zlib

import pytest

from util import Creds, client_error, unique

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("vendor"), "pooled"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("stranger"), "siloed"))


def s3_client(ferry, creds):
    return ferry.client("s3", creds, signature_version="s3v4", s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def vs3(ferry, vendor):
    return s3_client(ferry, vendor)


@pytest.fixture(scope="module")
def ss3(ferry, stranger):
    return s3_client(ferry, stranger)


@pytest.fixture
def bucket(vs3):
    name = unique("ck").lower()
    vs3.create_bucket(Bucket=name)
    return name


# ---- checksums computed here, independently of Ferry

def _reflected_table(poly: int) -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _reflected_table(0x82F63B78)
_CRC64NVME = _reflected_table(0x9A6C9329AC4BC9B5)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc64nvme(data: bytes) -> int:
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = _CRC64NVME[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


DIGESTS = {
    "CRC32": lambda d: struct.pack(">I", zlib.crc32(d)),
    "CRC32C": lambda d: struct.pack(">I", crc32c(d)),
    "CRC64NVME": lambda d: struct.pack(">Q", crc64nvme(d)),
    "SHA1": lambda d: hashlib.sha1(d).digest(),
    "SHA256": lambda d: hashlib.sha256(d).digest(),
}


def checksum(algorithm: str, data: bytes) -> str:
    return b64(DIGESTS[algorithm](data))


def test_known_answers_of_the_python_side():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888
    assert checksum("CRC32", b"hello world") == "DUoRhQ=="


# ---- single-request uploads

def test_put_with_each_algorithm_and_read_it_back(vs3, bucket):
    data = os.urandom(200_000)
    for algorithm in DIGESTS:
        key = f"k-{algorithm}"
        want = checksum(algorithm, data)
        if algorithm in ("CRC32", "SHA1", "SHA256"):
            # botocore computes these itself.
            put = vs3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
        else:
            # CRC32C and CRC64NVME need awscrt in botocore: send the value.
            put = vs3.put_object(Bucket=bucket, Key=key, Body=data, **{f"Checksum{algorithm}": want})
        assert put[f"Checksum{algorithm}"] == want, algorithm
        got = vs3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got[f"Checksum{algorithm}"] == want, algorithm
        assert got["ChecksumType"] == "FULL_OBJECT"
        assert got["Body"].read() == data
        head = vs3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head[f"Checksum{algorithm}"] == want, algorithm
        plain = vs3.head_object(Bucket=bucket, Key=key)
        assert f"Checksum{algorithm}" not in plain, "only when asked for"
    # A range is not what the checksum covers: none is sent.
    part = vs3.get_object(Bucket=bucket, Key="k-CRC32", Range="bytes=0-9", ChecksumMode="ENABLED")
    assert part["Body"].read() == data[:10]
    assert not [k for k in part if k.startswith("Checksum")], part.keys()


def test_without_a_checksum_the_object_gets_crc64nvme(vs3, bucket):
    data = b"plain bytes"
    # Asked for nothing: botocore would add CRC32 by default, so say no.
    vs3.put_object(Bucket=bucket, Key="plain", Body=data, ChecksumCRC64NVME=checksum("CRC64NVME", data))
    head = vs3.head_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == checksum("CRC64NVME", data)


def test_a_wrong_checksum_is_bad_digest_and_stores_nothing(vs3, bucket):
    with client_error("BadDigest", 400) as err:
        vs3.put_object(Bucket=bucket, Key="bad", Body=b"hello world",
                       ChecksumCRC32=checksum("CRC32", b"other data"))
    assert err.value.response["Error"]["Message"] == \
        "The CRC32 you specified did not match the calculated checksum."
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="bad")
    assert "Contents" not in vs3.list_objects_v2(Bucket=bucket, Prefix="bad")
    # An existing object is left as it was.
    vs3.put_object(Bucket=bucket, Key="keep", Body=b"v1")
    with client_error("BadDigest", 400):
        vs3.put_object(Bucket=bucket, Key="keep", Body=b"v2",
                       ChecksumSHA256=checksum("SHA256", b"v3"))
    assert vs3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"v1"


def test_a_malformed_checksum_is_invalid_request(vs3, bucket):
    for bad in ["not base64!", b64(b"\x00" * 5)]:
        with client_error("InvalidRequest", 400):
            vs3.put_object(Bucket=bucket, Key="malformed", Body=b"x", ChecksumCRC32=bad)
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="malformed")


def _trailer_client(ferry, creds, corrupt: bool = False):
    """A client that sends its CRC32 in an aws-chunked trailer, as botocore
    does over TLS (it keeps to a header over plain HTTP). With `corrupt`,
    the trailer's value is swapped for another of the same length just
    before the request goes out (the payload is unsigned, so only the
    checksum can catch it)."""
    s3 = s3_client(ferry, creds)

    def to_trailer(params, **_):
        algorithm = params.get("context", {}).get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"

    def swap(request, **_):
        body = request.body.read() if hasattr(request.body, "read") else bytes(request.body)
        marker = b"x-amz-checksum-crc32:"
        i = body.index(marker) + len(marker)
        good = body[i:i + 8]
        bad = base64.b64encode(struct.pack(">I", zlib.crc32(b"not the data"))).rstrip()
        assert len(bad) == len(good)
        request.body = body[:i] + bad + body[i + 8:]

    s3.meta.events.register("before-call.s3.PutObject", to_trailer)
    if corrupt:
        s3.meta.events.register("before-send.s3.PutObject", swap)
    return s3


def test_a_trailer_checksum_is_checked(ferry, vendor, vs3, bucket):
    data = os.urandom(300_000)
    seen = {}
    s3 = _trailer_client(ferry, vendor)
    s3.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: seen.update(
            {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}))
    put = s3.put_object(Bucket=bucket, Key="trailed", Body=data)
    assert seen.get("x-amz-trailer") == "x-amz-checksum-crc32", seen
    assert put["ChecksumCRC32"] == checksum("CRC32", data)
    got = vs3.get_object(Bucket=bucket, Key="trailed", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == checksum("CRC32", data)
    assert got["Body"].read() == data

    bad = _trailer_client(ferry, vendor, corrupt=True)
    with client_error("BadDigest", 400):
        bad.put_object(Bucket=bucket, Key="trailed-bad", Body=data)
    with client_error("NoSuchKey", 404):
        vs3.get_object(Bucket=bucket, Key="trailed-bad")


# ---- multipart

def test_multipart_sha256_is_composite(vs3, bucket):
    parts = [os.urandom(5 * MIB), os.urandom(1234)]
    created = vs3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")
    assert created["ChecksumAlgorithm"] == "SHA256"
    upload_id = created["UploadId"]
    done = []
    for n, p in enumerate(parts, start=1):
        r = vs3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=n, Body=p,
                            ChecksumAlgorithm="SHA256")
        assert r["ChecksumSHA256"] == checksum("SHA256", p)
        done.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    listed = vs3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [checksum("SHA256", p) for p in parts]
    assert listed["ChecksumAlgorithm"] == "SHA256"
    uploads = vs3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["ChecksumAlgorithm"]) for u in uploads] == [("mp", "SHA256")]

    # A listed part checksum that is not the part's: InvalidPart.
    wrong = [dict(done[0]), dict(done[1], ChecksumSHA256=checksum("SHA256", b"other"))]
    with client_error("InvalidPart", 400):
        vs3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                      MultipartUpload={"Parts": wrong})

    finished = vs3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                             MultipartUpload={"Parts": done})
    composite = b64(hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest())
    assert finished["ChecksumSHA256"] == f"{composite}-2"
    assert finished["ChecksumType"] == "COMPOSITE"
    head = vs3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == f"{composite}-2"
    assert head["ChecksumType"] == "COMPOSITE"
    got = vs3.get_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts)


def test_multipart_full_object_crc32(vs3, bucket):
    parts = [os.urandom(5 * MIB), os.urandom(99)]
    whole = b"".join(parts)
    up = vs3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32",
                                     ChecksumType="FULL_OBJECT")
    assert up["ChecksumType"] == "FULL_OBJECT"
    done = []
    for n, p in enumerate(parts, start=1):
        r = vs3.upload_part(Bucket=bucket, Key="full", UploadId=up["UploadId"], PartNumber=n, Body=p,
                            ChecksumAlgorithm="CRC32")
        done.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    finished = vs3.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=up["UploadId"],
                                             MultipartUpload={"Parts": done},
                                             ChecksumCRC32=checksum("CRC32", whole),
                                             ChecksumType="FULL_OBJECT")
    assert finished["ChecksumCRC32"] == checksum("CRC32", whole)
    # botocore checks the body against a whole-object CRC32 itself.
    got = vs3.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == checksum("CRC32", whole)
    assert got["Body"].read() == whole


# ---- copies

def test_copy_keeps_or_recomputes_the_checksum(vs3, bucket):
    data = os.urandom(70_000)
    vs3.put_object(Bucket=bucket, Key="src", Body=data, ChecksumAlgorithm="CRC32")
    kept = vs3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "src"})
    assert kept["CopyObjectResult"]["ChecksumCRC32"] == checksum("CRC32", data)
    sha = vs3.copy_object(Bucket=bucket, Key="sha", CopySource={"Bucket": bucket, "Key": "src"},
                          ChecksumAlgorithm="SHA256")
    assert sha["CopyObjectResult"]["ChecksumSHA256"] == checksum("SHA256", data)
    head = vs3.head_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == checksum("SHA256", data)


# ---- the aws CLI

def aws_s3(ferry, creds: Creds, tmp_path, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "aws-config"
    config.write_text("[default]\n")
    env = ferry._env(creds)
    env["AWS_CONFIG_FILE"] = str(config)
    env["AWS_MAX_ATTEMPTS"] = "1"
    env["AWS_PAGER"] = ""
    cmd = [sys.executable, "-m", "awscli", "s3", *args, "--endpoint-url", ferry.endpoint]
    return subprocess.run(cmd, cwd=ferry.workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.timeout(300)
def test_aws_s3_cp_still_works(ferry, vendor, vs3, bucket, tmp_path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"small file\n")
    big = tmp_path / "big.bin"
    data = os.urandom(20 * MIB)
    big.write_bytes(data)
    for src, key in [(small, "small.txt"), (big, "big.bin")]:
        p = aws_s3(ferry, vendor, tmp_path, "cp", str(src), f"s3://{bucket}/{key}")
        assert p.returncode == 0, f"aws s3 cp up: {p.stdout}\n{p.stderr}"
    head = vs3.head_object(Bucket=bucket, Key="small.txt", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == checksum("CRC32", b"small file\n")
    # Multipart in 8 MiB parts, each with the CLI's default CRC32.
    head = vs3.head_object(Bucket=bucket, Key="big.bin", ChecksumMode="ENABLED")
    chunks = [data[i:i + 8 * MIB] for i in range(0, len(data), 8 * MIB)]
    parts_crc = b"".join(struct.pack(">I", zlib.crc32(c)) for c in chunks)
    assert head["ChecksumCRC32"] == f"{b64(struct.pack('>I', zlib.crc32(parts_crc)))}-3"
    back = tmp_path / "back.bin"
    p = aws_s3(ferry, vendor, tmp_path, "cp", f"s3://{bucket}/big.bin", str(back))
    assert p.returncode == 0, f"aws s3 cp down: {p.stdout}\n{p.stderr}"
    assert back.read_bytes() == data


# ---- across accounts

def test_another_account_cannot_read_the_checksum(vs3, ss3, bucket):
    vs3.put_object(Bucket=bucket, Key="private", Body=b"secret", ChecksumAlgorithm="SHA256")
    with client_error("403", 403) as err:
        ss3.head_object(Bucket=bucket, Key="private", ChecksumMode="ENABLED")
    headers = err.value.response["ResponseMetadata"].get("HTTPHeaders", {})
    assert not [h for h in headers if h.startswith("x-amz-checksum-")], headers
    with client_error("AccessDenied", 403):
        ss3.get_object(Bucket=bucket, Key="private", ChecksumMode="ENABLED")


def test_listings_name_the_algorithm(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="listed", Body=b"x", ChecksumAlgorithm="SHA1")
    listed = vs3.list_objects_v2(Bucket=bucket, Prefix="listed")["Contents"]
    assert listed[0]["ChecksumAlgorithm"] == ["SHA1"]
    assert listed[0]["ChecksumType"] == "FULL_OBJECT"
