"""S3 access points on the wire: S3 Control's access point operations with
boto3's `s3control` client, and data access through an access point (its
alias as a bucket name, and its ARN, which botocore turns into the host
`NAME-ACCOUNT.<endpoint host>`), where both the access point's policy and
the bucket's must allow.

botocore 1.43 puts the account in front of the endpoint's host for every
S3 Control call (`ACCOUNT.localhost:PORT`, besides `x-amz-account-id`) and
the access point in front of it for ARNs (`NAME-ACCOUNT.localhost:PORT`);
`inject_host_prefix=False` does not stop either (the endpoint rules do it).
Those names need not resolve here, so this module resolves `localhost` and
every `*.localhost` to 127.0.0.1 for its own clients, as a wildcard DNS
entry would for a real deployment."""

import hashlib
import json

import pytest

from localhost_names import local_client as ferry_client
from localhost_names import resolving_localhost_subdomains  # noqa: F401 (module fixture)
from util import REGION, Creds, client_error, ct_detail, http_request, sign, unique, wait_for_request_ids


@pytest.fixture(scope="module")
def vendor(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("apvendor"), "pooled"))


@pytest.fixture(scope="module")
def customer(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("apcustomer"), "siloed"))


@pytest.fixture(scope="module")
def stranger(ferry) -> Creds:
    return Creds.from_mapping(ferry.create_account(unique("apstranger"), "pooled"))


def account_of(ferry, creds: Creds) -> str:
    return ferry.identity(creds)["Account"]


@pytest.fixture(scope="module")
def vendor_id(ferry, vendor) -> str:
    return account_of(ferry, vendor)


@pytest.fixture(scope="module")
def customer_id(ferry, customer) -> str:
    return account_of(ferry, customer)


@pytest.fixture(scope="module")
def vctl(ferry, vendor):
    return ferry_client(ferry, "s3control", vendor)


@pytest.fixture(scope="module")
def vs3(ferry, vendor):
    return ferry_client(ferry, "s3", vendor, s3={"addressing_style": "path"})


@pytest.fixture(scope="module")
def cs3(ferry, customer):
    return ferry_client(ferry, "s3", customer, s3={"addressing_style": "path"})


def bname(prefix: str = "apb") -> str:
    return unique(prefix).lower()


def apname(prefix: str = "ap") -> str:
    return unique(prefix).lower().replace("_", "-")[:40]


@pytest.fixture
def bucket(vs3):
    name = bname()
    vs3.create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------------
# S3 Control


def test_create_get_list_delete(vctl, vendor_id, bucket):
    name = apname()
    created = vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)
    arn = f"arn:aws:s3:{REGION}:{vendor_id}:accesspoint/{name}"
    assert created["AccessPointArn"] == arn
    alias = created["Alias"]
    assert alias.endswith("-s3alias") and len(alias) <= 63

    got = vctl.get_access_point(AccountId=vendor_id, Name=name)
    assert got["Name"] == name
    assert got["Bucket"] == bucket
    assert got["NetworkOrigin"] == "Internet"
    assert got["Alias"] == alias
    assert got["AccessPointArn"] == arn
    assert got["BucketAccountId"] == vendor_id
    assert got["Endpoints"]["ipv4"] == f"s3-accesspoint.{REGION}.amazonaws.com"
    assert got["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert got["CreationDate"].year >= 2024

    listed = vctl.list_access_points(AccountId=vendor_id, Bucket=bucket)["AccessPointList"]
    assert [(a["Name"], a["Alias"], a["Bucket"]) for a in listed] == [(name, alias, bucket)]
    everything = vctl.list_access_points(AccountId=vendor_id)["AccessPointList"]
    assert name in [a["Name"] for a in everything]

    with client_error("AccessPointAlreadyOwnedByYou", 409):
        vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)

    vctl.delete_access_point(AccountId=vendor_id, Name=name)
    with client_error("NoSuchAccessPoint", 404):
        vctl.get_access_point(AccountId=vendor_id, Name=name)
    with client_error("NoSuchAccessPoint", 404):
        vctl.delete_access_point(AccountId=vendor_id, Name=name)
    assert vctl.list_access_points(AccountId=vendor_id, Bucket=bucket)["AccessPointList"] == []


def test_vpc_access_point_and_paging(vctl, vendor_id, bucket):
    names = sorted(apname(f"pg{i}") for i in range(3))
    for n in names:
        vctl.create_access_point(AccountId=vendor_id, Name=n, Bucket=bucket,
                                 VpcConfiguration={"VpcId": "vpc-0a1b2c3d"})
    got = vctl.get_access_point(AccountId=vendor_id, Name=names[0])
    assert got["NetworkOrigin"] == "VPC"
    assert got["VpcConfiguration"] == {"VpcId": "vpc-0a1b2c3d"}
    page = vctl.list_access_points(AccountId=vendor_id, Bucket=bucket, MaxResults=2)
    assert [a["Name"] for a in page["AccessPointList"]] == names[:2]
    rest = vctl.list_access_points(AccountId=vendor_id, Bucket=bucket, MaxResults=2,
                                   NextToken=page["NextToken"])
    assert [a["Name"] for a in rest["AccessPointList"]] == names[2:]
    assert "NextToken" not in rest
    # botocore has no paginator for it; follow NextToken by hand.
    seen, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = vctl.list_access_points(AccountId=vendor_id, Bucket=bucket, MaxResults=1, **kw)
        seen += [a["Name"] for a in page["AccessPointList"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names


def test_bad_requests(vctl, vendor_id, bucket):
    with client_error("InvalidRequest", 400):
        vctl.create_access_point(AccountId=vendor_id, Name="Bad_Name", Bucket=bucket)
    with client_error("NoSuchBucket", 404):
        vctl.create_access_point(AccountId=vendor_id, Name=apname(), Bucket=bname("missing"))
    # Asked for and not done: refused, not dropped.
    with client_error("NotImplemented", 501):
        vctl.create_access_point(AccountId=vendor_id, Name=apname(), Bucket=bucket,
                                 PublicAccessBlockConfiguration={"BlockPublicPolicy": False})
    with client_error("NotImplemented", 501):
        vctl.create_access_point(AccountId=vendor_id, Name=apname(), Bucket=bucket,
                                 Tags=[{"Key": "team", "Value": "data"}])
    assert vctl.list_access_points(AccountId=vendor_id, Bucket=bucket)["AccessPointList"] == []


def test_policies_and_status(vctl, vendor_id, customer_id, bucket):
    name = apname()
    vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)
    with client_error("NoSuchAccessPointPolicy", 404):
        vctl.get_access_point_policy(AccountId=vendor_id, Name=name)
    assert vctl.get_access_point_policy_status(AccountId=vendor_id, Name=name)["PolicyStatus"]["IsPublic"] is False

    arn = f"arn:aws:s3:{REGION}:{vendor_id}:accesspoint/{name}"
    policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "customer <reads> & more",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{customer_id}:root"},
            "Action": "s3:GetObject",
            "Resource": f"{arn}/object/shared/*",
        }],
    })
    vctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy=policy)
    assert json.loads(vctl.get_access_point_policy(AccountId=vendor_id, Name=name)["Policy"]) == json.loads(policy)
    assert vctl.get_access_point_policy_status(AccountId=vendor_id, Name=name)["PolicyStatus"]["IsPublic"] is False

    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{arn}/object/*"}]})
    vctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy=public)
    assert vctl.get_access_point_policy_status(AccountId=vendor_id, Name=name)["PolicyStatus"]["IsPublic"] is True

    with client_error("MalformedPolicy", 400):
        vctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy="{not json")

    vctl.delete_access_point_policy(AccountId=vendor_id, Name=name)
    with client_error("NoSuchAccessPointPolicy", 404):
        vctl.get_access_point_policy(AccountId=vendor_id, Name=name)
    with client_error("NoSuchAccessPoint", 404):
        vctl.put_access_point_policy(AccountId=vendor_id, Name=apname("none"), Policy=policy)


def test_another_account_is_refused(ferry, vctl, vendor_id, stranger, bucket):
    name = apname()
    vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)
    sctl = ferry_client(ferry, "s3control", stranger)
    # Naming the vendor's account with the stranger's credentials.
    with client_error("AccessDenied", 403):
        sctl.get_access_point(AccountId=vendor_id, Name=name)
    with client_error("AccessDenied", 403):
        sctl.list_access_points(AccountId=vendor_id)
    with client_error("AccessDenied", 403):
        sctl.delete_access_point(AccountId=vendor_id, Name=name)
    with client_error("AccessDenied", 403):
        sctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy="{}")
    with client_error("AccessDenied", 403):
        sctl.create_access_point(AccountId=vendor_id, Name=apname(), Bucket=bucket)
    # Still there, untouched.
    assert vctl.get_access_point(AccountId=vendor_id, Name=name)["Bucket"] == bucket
    # The stranger's own account has none of the vendor's.
    stranger_id = account_of(ferry, stranger)
    names = [a["Name"] for a in sctl.list_access_points(AccountId=stranger_id)["AccessPointList"]]
    assert name not in names


def test_account_from_host_and_anonymous(ferry, vendor, vendor_id, vctl, bucket):
    name = apname()
    vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)
    # No x-amz-account-id: the account comes from the host.
    host = f"{vendor_id}.localhost:{ferry.port}"
    path = f"/v20180820/accesspoint/{name}"
    headers = {"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()}
    signed = sign(vendor, "s3", "GET", f"http://{host}{path}", headers, b"")
    signed["Host"] = host
    r = http_request(ferry.endpoint, "GET", path, headers=signed)
    assert r.status == 200, r.body
    assert f"<Name>{name}</Name>".encode() in r.body
    assert b"http://awss3control.amazonaws.com/doc/2018-08-20/" in r.body
    # Anonymous: refused.
    r = http_request(ferry.endpoint, "GET", path, headers={"x-amz-account-id": vendor_id})
    assert r.status == 403 and b"<Code>AccessDenied</Code>" in r.body


def test_control_calls_are_audited(ferry, vendor, vctl, vendor_id, bucket):
    name = apname()
    created = vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)
    create_id = created["ResponseMetadata"]["RequestId"]
    with client_error("NoSuchAccessPoint", 404) as err:
        vctl.get_access_point(AccountId=vendor_id, Name=apname("missing"))
    get_id = err.value.response["ResponseMetadata"]["RequestId"]
    ct = ferry.client("cloudtrail", vendor)
    events = wait_for_request_ids(ct, [create_id], LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateAccessPoint"}])
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == create_id)
    assert d["eventSource"] == "s3.amazonaws.com"
    assert d["requestParameters"]["name"] == name
    assert d.get("errorCode") is None
    events = wait_for_request_ids(ct, [get_id], LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "GetAccessPoint"}])
    d = next(ct_detail(e) for e in events if ct_detail(e).get("requestID") == get_id)
    assert d["errorCode"] == "NoSuchAccessPoint"
    assert d["readOnly"] is True


# --------------------------------------------------------------------------
# data through an access point


def delegating_policy(bucket: str, vendor_id: str) -> str:
    """The vendor's bucket hands access decisions to its own access points."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"StringEquals": {"s3:DataAccessPointAccount": vendor_id}},
        }],
    })


@pytest.fixture
def shared(vctl, vs3, vendor_id, customer_id, bucket):
    """A bucket with objects in and out of `shared/`, an access point whose
    policy lets the customer read `shared/*`, the bucket delegating."""
    vs3.put_object(Bucket=bucket, Key="shared/report.csv", Body=b"a,b\n1,2\n")
    vs3.put_object(Bucket=bucket, Key="private/secret.txt", Body=b"vendor only")
    name = apname()
    alias = vctl.create_access_point(AccountId=vendor_id, Name=name, Bucket=bucket)["Alias"]
    arn = f"arn:aws:s3:{REGION}:{vendor_id}:accesspoint/{name}"
    vctl.put_access_point_policy(AccountId=vendor_id, Name=name, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{customer_id}:root"},
            "Action": "s3:GetObject",
            "Resource": f"{arn}/object/shared/*",
        }],
    }))
    vs3.put_bucket_policy(Bucket=bucket, Policy=delegating_policy(bucket, vendor_id))
    return {"bucket": bucket, "name": name, "alias": alias, "arn": arn}


def test_customer_reads_through_the_alias_only(cs3, shared):
    got = cs3.get_object(Bucket=shared["alias"], Key="shared/report.csv")
    assert got["Body"].read() == b"a,b\n1,2\n"
    # The same object by the bucket's own name: no access point, no grant.
    with client_error("AccessDenied", 403):
        cs3.get_object(Bucket=shared["bucket"], Key="shared/report.csv")
    # Outside `shared/` through the alias: the access point does not allow.
    with client_error("AccessDenied", 403):
        cs3.get_object(Bucket=shared["alias"], Key="private/secret.txt")
    # Nor any other action the access point policy does not grant.
    with client_error("AccessDenied", 403):
        cs3.put_object(Bucket=shared["alias"], Key="shared/new.txt", Body=b"x")


def test_vendor_uses_its_own_alias(vs3, shared):
    # The vendor's own admin has full rights, and the bucket delegates.
    vs3.put_object(Bucket=shared["alias"], Key="shared/from-ap.txt", Body=b"via ap")
    assert vs3.get_object(Bucket=shared["bucket"], Key="shared/from-ap.txt")["Body"].read() == b"via ap"
    keys = [o["Key"] for o in vs3.list_objects_v2(Bucket=shared["alias"], Prefix="shared/")["Contents"]]
    assert "shared/report.csv" in keys


def test_bucket_not_delegating_refuses_the_alias(vs3, cs3, shared):
    vs3.delete_bucket_policy(Bucket=shared["bucket"])
    with client_error("AccessDenied", 403):
        cs3.get_object(Bucket=shared["alias"], Key="shared/report.csv")
    # Delegating to some other account's access points is not delegating.
    vs3.put_bucket_policy(Bucket=shared["bucket"], Policy=delegating_policy(shared["bucket"], "000000000000"))
    with client_error("AccessDenied", 403):
        cs3.get_object(Bucket=shared["alias"], Key="shared/report.csv")


def test_customer_reads_through_the_arn(ferry, customer, cs3, shared):
    # botocore sends this to `NAME-ACCOUNT.localhost:PORT`.
    s3 = ferry_client(ferry, "s3", customer)
    got = s3.get_object(Bucket=shared["arn"], Key="shared/report.csv")
    assert got["Body"].read() == b"a,b\n1,2\n"
    with client_error("AccessDenied", 403):
        s3.get_object(Bucket=shared["arn"], Key="private/secret.txt")
    head = s3.head_object(Bucket=shared["arn"], Key="shared/report.csv")
    assert head["ContentLength"] == 8


def test_arn_of_a_missing_access_point(ferry, customer, vendor_id):
    s3 = ferry_client(ferry, "s3", customer)
    arn = f"arn:aws:s3:{REGION}:{vendor_id}:accesspoint/{apname('gone')}"
    with client_error("NoSuchBucket", 404):
        s3.get_object(Bucket=arn, Key="shared/report.csv")


def test_bucket_delegates_to_one_access_point_by_arn_and_origin(vctl, vs3, cs3, vendor_id, shared):
    # s3:DataAccessPointArn names the one access point the bucket trusts;
    # s3:AccessPointNetworkOrigin is Internet for an access point without a VPC.
    def delegate(arn: str, origin: str) -> None:
        vs3.put_bucket_policy(Bucket=shared["bucket"], Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": [f"arn:aws:s3:::{shared['bucket']}", f"arn:aws:s3:::{shared['bucket']}/*"],
                "Condition": {"StringEquals": {"s3:DataAccessPointArn": arn,
                                               "s3:AccessPointNetworkOrigin": origin}},
            }],
        }))

    assert vctl.get_access_point(AccountId=vendor_id, Name=shared["name"])["NetworkOrigin"] == "Internet"
    delegate(shared["arn"], "Internet")
    assert cs3.get_object(Bucket=shared["alias"], Key="shared/report.csv")["Body"].read() == b"a,b\n1,2\n"
    delegate(shared["arn"] + "-other", "Internet")
    with client_error("AccessDenied", 403):
        cs3.get_object(Bucket=shared["alias"], Key="shared/report.csv")
    delegate(shared["arn"], "VPC")
    with client_error("AccessDenied", 403):
        cs3.get_object(Bucket=shared["alias"], Key="shared/report.csv")
