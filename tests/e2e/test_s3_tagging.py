"""S3 tagging (CopyObject's tagging directive too), ACL answers with ACLs
off (BucketOwnerEnforced), ownership controls and bucket policy status,
against the built binary with boto3."""

import hashlib
import json

import pytest

from util import Creds, client_error, unique


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("vendor"), "pooled"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("stranger"), "pooled"))


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
    name = unique("tag").lower()
    vs3.create_bucket(Bucket=name)
    return name


def tagset(d):
    return [{"Key": k, "Value": v} for k, v in d.items()]


def test_bucket_tagging_round_trip_and_errors(vs3, bucket):
    with client_error("NoSuchTagSet", 404):
        vs3.get_bucket_tagging(Bucket=bucket)
    vs3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"team": "a", "env": ""})})
    got = vs3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in got) == [("env", ""), ("team", "a")]
    with client_error("InvalidTag", 400):
        vs3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"aws:x": "1"})})
    with client_error("InvalidTag", 400):
        vs3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"k" * 129: "1"})})
    with client_error("InvalidTag", 400):
        vs3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}
        )
    vs3.delete_bucket_tagging(Bucket=bucket)
    with client_error("NoSuchTagSet", 404):
        vs3.get_bucket_tagging(Bucket=bucket)


def test_object_tagging_round_trip_and_errors(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="o", Body=b"x")
    assert vs3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == []
    vs3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": tagset({"share": "yes"})})
    assert vs3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == tagset({"share": "yes"})
    eleven = {f"k{i}": "v" for i in range(11)}
    with client_error("InvalidTag", 400):
        vs3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": tagset(eleven)})
    vs3.delete_object_tagging(Bucket=bucket, Key="o")
    assert vs3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == []
    with client_error("NoSuchKey", 404):
        vs3.get_object_tagging(Bucket=bucket, Key="missing")


def test_existing_object_tag_shares_across_accounts(ferry, stranger, vs3, ss3, bucket):
    stranger_account = ferry.identity(stranger)["Account"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{stranger_account}:root"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}},
        }],
    }
    vs3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    vs3.put_object(Bucket=bucket, Key="open", Body=b"shared")
    vs3.put_object(Bucket=bucket, Key="closed", Body=b"private")
    vs3.put_object_tagging(Bucket=bucket, Key="open", Tagging={"TagSet": tagset({"share": "yes"})})
    assert ss3.get_object(Bucket=bucket, Key="open")["Body"].read() == b"shared"
    with client_error("AccessDenied", 403):
        ss3.get_object(Bucket=bucket, Key="closed")
    vs3.delete_object_tagging(Bucket=bucket, Key="open")
    with client_error("AccessDenied", 403):
        ss3.get_object(Bucket=bucket, Key="open")
    assert vs3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False


def test_acl_reads_and_ownership_controls(ferry, vendor, vs3, bucket):
    account = ferry.identity(vendor)["Account"]
    owner_id = hashlib.sha256(account.encode()).hexdigest()
    acl = vs3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"]["ID"] == owner_id
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [(owner_id, "FULL_CONTROL")]
    vs3.put_object(Bucket=bucket, Key="o", Body=b"x")
    oacl = vs3.get_object_acl(Bucket=bucket, Key="o")
    assert oacl["Owner"]["ID"] == owner_id
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in oacl["Grants"]] == [(owner_id, "FULL_CONTROL")]
    vs3.put_bucket_acl(Bucket=bucket, ACL="private")
    vs3.put_object_acl(Bucket=bucket, Key="o", ACL="bucket-owner-full-control")
    with client_error("AccessControlListNotSupported", 400):
        vs3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    with client_error("AccessControlListNotSupported", 400):
        vs3.put_object_acl(Bucket=bucket, Key="o", ACL="public-read")
    with client_error("AccessControlListNotSupported", 400):
        vs3.put_bucket_acl(Bucket=bucket, GrantRead="uri=http://acs.amazonaws.com/groups/global/AllUsers")
    rules = vs3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_policy_status(vs3, bucket):
    with client_error("NoSuchBucketPolicy", 404):
        vs3.get_bucket_policy_status(Bucket=bucket)
    public = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }
    vs3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    assert vs3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_the_wrong_account_is_refused_each_operation(vs3, ss3, bucket):
    vs3.put_object(Bucket=bucket, Key="o", Body=b"x")
    calls = [
        lambda: ss3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tagset({"a": "b"})}),
        lambda: ss3.get_bucket_tagging(Bucket=bucket),
        lambda: ss3.delete_bucket_tagging(Bucket=bucket),
        lambda: ss3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": tagset({"a": "b"})}),
        lambda: ss3.get_object_tagging(Bucket=bucket, Key="o"),
        lambda: ss3.delete_object_tagging(Bucket=bucket, Key="o"),
        lambda: ss3.get_bucket_acl(Bucket=bucket),
        lambda: ss3.get_object_acl(Bucket=bucket, Key="o"),
        lambda: ss3.put_bucket_acl(Bucket=bucket, ACL="private"),
        lambda: ss3.put_object_acl(Bucket=bucket, Key="o", ACL="private"),
        lambda: ss3.get_bucket_ownership_controls(Bucket=bucket),
        lambda: ss3.get_bucket_policy_status(Bucket=bucket),
    ]
    for call in calls:
        with client_error("AccessDenied", 403):
            call()


def test_tagging_header_on_put_and_count_on_get(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="team=a%20b&env=prod")
    got = vs3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in got) == [("env", "prod"), ("team", "a b")]
    assert vs3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    vs3.put_object(Bucket=bucket, Key="u", Body=b"x")
    assert "TagCount" not in vs3.get_object(Bucket=bucket, Key="u")
    with client_error("InvalidTag", 400):
        vs3.put_object(Bucket=bucket, Key="v", Body=b"x", Tagging="aws:x=1")


def tags_of(s3, bucket, key):
    return sorted((t["Key"], t["Value"]) for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"])


def test_copy_object_copies_or_replaces_tags(vs3, bucket):
    vs3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="team=a&env=prod")
    src = {"Bucket": bucket, "Key": "src"}
    # COPY is the default: the source's tags come along.
    vs3.copy_object(Bucket=bucket, Key="default", CopySource=src)
    assert tags_of(vs3, bucket, "default") == [("env", "prod"), ("team", "a")]
    vs3.copy_object(Bucket=bucket, Key="copied", CopySource=src, TaggingDirective="COPY")
    assert tags_of(vs3, bucket, "copied") == [("env", "prod"), ("team", "a")]
    assert vs3.get_object(Bucket=bucket, Key="copied")["TagCount"] == 2
    # REPLACE takes x-amz-tagging, or nothing.
    vs3.copy_object(Bucket=bucket, Key="replaced", CopySource=src, TaggingDirective="REPLACE",
                    Tagging="owner=b%20c")
    assert tags_of(vs3, bucket, "replaced") == [("owner", "b c")]
    vs3.copy_object(Bucket=bucket, Key="cleared", CopySource=src, TaggingDirective="REPLACE")
    assert tags_of(vs3, bucket, "cleared") == []
    with client_error("InvalidTag", 400):
        vs3.copy_object(Bucket=bucket, Key="bad", CopySource=src, TaggingDirective="REPLACE",
                        Tagging="aws:x=1")
    # Nothing was written (HEAD's 404 has no body, so no code).
    with client_error("404", 404):
        vs3.head_object(Bucket=bucket, Key="bad")


def test_copy_object_tags_need_the_tagging_permissions(ferry, stranger, vs3, ss3, bucket):
    """The stranger copies the vendor's tagged object into its own bucket:
    COPY needs s3:GetObjectTagging on the source, and a copy that gets tags
    needs s3:PutObjectTagging on the destination."""
    stranger_root = f"arn:aws:iam::{ferry.identity(stranger)['Account']}:root"
    vs3.put_object(Bucket=bucket, Key="tagged", Body=b"data", Tagging="team=a")
    vs3.put_object(Bucket=bucket, Key="plain", Body=b"data")

    def grant(*actions):
        vs3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": stranger_root}, "Action": list(actions),
                           "Resource": f"arn:aws:s3:::{bucket}/*"}],
        }))

    mine = unique("tagdst").lower()
    ss3.create_bucket(Bucket=mine)
    grant("s3:GetObject")
    with client_error("AccessDenied", 403):
        ss3.copy_object(Bucket=mine, Key="k", CopySource={"Bucket": bucket, "Key": "tagged"})
    # An untagged source, or REPLACE, needs no tag read.
    ss3.copy_object(Bucket=mine, Key="plain", CopySource={"Bucket": bucket, "Key": "plain"})
    assert tags_of(ss3, mine, "plain") == []
    ss3.copy_object(Bucket=mine, Key="replaced", CopySource={"Bucket": bucket, "Key": "tagged"},
                    TaggingDirective="REPLACE", Tagging="mine=yes")
    assert tags_of(ss3, mine, "replaced") == [("mine", "yes")]
    grant("s3:GetObject", "s3:GetObjectTagging")
    ss3.copy_object(Bucket=mine, Key="k", CopySource={"Bucket": bucket, "Key": "tagged"})
    assert tags_of(ss3, mine, "k") == [("team", "a")]
    # The destination refuses tag writes: tagged copies fail, untagged pass.
    ss3.put_bucket_policy(Bucket=mine, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObjectTagging",
                       "Resource": f"arn:aws:s3:::{mine}/*"}],
    }))
    with client_error("AccessDenied", 403):
        ss3.copy_object(Bucket=mine, Key="k2", CopySource={"Bucket": bucket, "Key": "tagged"})
    with client_error("AccessDenied", 403):
        ss3.copy_object(Bucket=mine, Key="k3", CopySource={"Bucket": bucket, "Key": "plain"},
                        TaggingDirective="REPLACE", Tagging="a=b")
    ss3.copy_object(Bucket=mine, Key="k4", CopySource={"Bucket": bucket, "Key": "tagged"},
                    TaggingDirective="REPLACE")
    assert tags_of(ss3, mine, "k4") == []
