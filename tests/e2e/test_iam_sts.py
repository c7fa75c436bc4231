"""Cross-account roles: IAM + STS between a vendor and its customers.

Accounts: `ferry account create vendor --tier pooled`, `ferry account create
customer --tier siloed` and a third, unrelated account. The customer's admin
makes a role `VendorAccess` trusting the vendor's account on condition of an
external ID, with an inline policy allowing `iam:ListRoles`; the vendor's admin
assumes it and calls IAM in the customer's account as the session.

Also here: session policies, explicit denies, revocation, tampered tokens,
durations, role chaining, GetSessionToken, GetAccessKeyInfo, IAM calls made
in the wrong account, the CloudTrail records of all this, and the `aws` CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from iam_util import (LONG_TERM_KEY_RE, ORG_ROLE, ROLE_ID_RE, SESSION_KEY_RE, allow,
                      assert_expires_in, assumed_role_arn, deny, doc, flip_middle, key_creds,
                      list_all_roles, rid, role_arn, role_names, root_arn, session_creds, status, trust,
                      user_arn)
from util import (Creds, audit_dump, client_error, ct_detail, lookup_all, request_ids, unique,
                  wait_for_request_ids)

EXT = "ext-123"
ROLE = "VendorAccess"
LIST_ROLES = doc(allow("iam:ListRoles"))


@dataclass
class World:
    vendor: Creds        # the vendor's admin (pooled)
    customer: Creds      # the customer's admin (siloed)
    third: Creds         # an unrelated account's admin (pooled)
    role_arn: str        # customer's VendorAccess (trusts vendor on ExternalId ext-123)
    role_id: str
    open_arn: str        # customer's role trusting the vendor with no external-id condition
    vendor_only_role: str  # a role that exists only in the vendor's account


@pytest.fixture(scope="module")
def world(ferry) -> World:
    vendor = Creds.from_mapping(ferry.create_account("vendor", "pooled"))
    customer = Creds.from_mapping(ferry.create_account("customer", "siloed"))
    third = Creds.from_mapping(ferry.create_account("third", "pooled"))
    assert len({vendor.account_id, customer.account_id, third.account_id}) == 3
    tiers = {a["account_id"]: a["tier"] for a in ferry.list_accounts()}
    assert tiers[vendor.account_id] == "pooled" and tiers[customer.account_id] == "siloed"

    ciam = ferry.client("iam", customer)
    made = ciam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust(root_arn(vendor.account_id), EXT),
                            Description="lets the vendor in")["Role"]
    ciam.put_role_policy(RoleName=ROLE, PolicyName="list-roles", PolicyDocument=LIST_ROLES)

    open_name = "VendorOpen"
    ciam.create_role(RoleName=open_name, AssumeRolePolicyDocument=trust(root_arn(vendor.account_id)))
    ciam.put_role_policy(RoleName=open_name, PolicyName="list-roles", PolicyDocument=LIST_ROLES)

    vendor_only = unique("VendorOnly")
    ferry.client("iam", vendor).create_role(RoleName=vendor_only,
                                            AssumeRolePolicyDocument=trust(root_arn(vendor.account_id)))
    return World(vendor=vendor, customer=customer, third=third,
                 role_arn=role_arn(customer.account_id, ROLE), role_id=made["RoleId"],
                 open_arn=role_arn(customer.account_id, open_name), vendor_only_role=vendor_only)


def assume(ferry, creds: Creds, arn: str, session: str | None = None, validate: bool = True, **kw):
    sts = ferry.client("sts", creds) if validate else ferry.client("sts", creds, parameter_validation=False)
    return sts.assume_role(RoleArn=arn, RoleSessionName=session or unique("s"), **kw)


def session_of(ferry, world: World, arn: str | None = None, session: str | None = None, **kw) -> Creds:
    """The vendor admin assumes a customer role; its session's creds."""
    arn = arn or world.role_arn
    if arn == world.role_arn:
        kw.setdefault("ExternalId", EXT)
    resp = assume(ferry, world.vendor, arn, session, **kw)
    return session_creds(resp, world.customer.account_id)


def make_role(ferry, owner: Creds, name: str | None = None, trust_doc: str | None = None,
              policies: dict[str, str] | None = None, **kw) -> tuple[str, str]:
    """Creates a role in owner's account; returns (name, arn)."""
    name = name or unique("role")
    iam = ferry.client("iam", owner)
    r = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc or trust(root_arn(owner.account_id)),
                        **kw)["Role"]
    for pname, pdoc in (policies or {}).items():
        iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=pdoc)
    return name, r["Arn"]


def refused(fn, codes=("InvalidClientTokenId", "AccessDenied"), status_code=403) -> ClientError:
    with pytest.raises(ClientError) as excinfo:
        fn()
    resp = excinfo.value.response
    code = resp["Error"]["Code"]
    assert code in codes, f"expected one of {codes}, got {code}: {resp['Error']}"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == status_code, resp["ResponseMetadata"]
    return excinfo.value


def attr(key, value):
    return [{"AttributeKey": key, "AttributeValue": value}]


# ====================================================================== the vendor/customer scenario


def test_vendor_assumes_with_matching_external_id(ferry, world):
    session = unique("sync")
    resp = assume(ferry, world.vendor, world.role_arn, session, ExternalId=EXT)
    assert status(resp) == 200

    c = resp["Credentials"]
    assert SESSION_KEY_RE.match(c["AccessKeyId"]), c["AccessKeyId"]
    assert len(c["SecretAccessKey"]) >= 40
    assert c["SessionToken"]
    assert_expires_in(c["Expiration"], 3600)

    u = resp["AssumedRoleUser"]
    assert u["Arn"] == assumed_role_arn(world.customer.account_id, ROLE, session)
    assert u["AssumedRoleId"] == f"{world.role_id}:{session}"
    assert ROLE_ID_RE.match(u["AssumedRoleId"].split(":")[0])

    sess = session_creds(resp, world.customer.account_id)
    me = ferry.identity(sess)
    assert me["Arn"] == u["Arn"]
    assert me["Account"] == world.customer.account_id
    assert me["UserId"] == u["AssumedRoleId"]


def test_session_lists_the_customers_roles(ferry, world):
    sess = session_of(ferry, world)
    listed = list_all_roles(ferry.client("iam", sess))
    names = role_names(listed)
    assert ROLE in names and ORG_ROLE in names
    assert world.vendor_only_role not in names, "the session sees the vendor's own roles"
    assert all(r["Arn"].startswith(f"arn:aws:iam::{world.customer.account_id}:role/") for r in listed), listed
    assert sorted(names) == sorted(role_names(list_all_roles(ferry.client("iam", world.customer))))


def test_session_has_only_the_roles_rights(ferry, world):
    session = unique("narrow")
    sess = session_of(ferry, world, session=session)
    iam = ferry.client("iam", sess)
    for call, action in [(lambda: iam.get_role(RoleName=ROLE), "iam:GetRole"),
                         (lambda: iam.list_users(), "iam:ListUsers"),
                         (lambda: iam.put_role_policy(RoleName=ROLE, PolicyName="escalate",
                                                      PolicyDocument=doc(allow("*"))), "iam:PutRolePolicy"),
                         (lambda: iam.create_user(UserName=unique("u")), "iam:CreateUser")]:
        with client_error("AccessDenied", 403) as err:
            call()
        msg = err.value.response["Error"]["Message"]
        assert action in msg, msg
        assert assumed_role_arn(world.customer.account_id, ROLE, session) in msg, msg
    assert ferry.client("iam", world.customer).list_role_policies(RoleName=ROLE)["PolicyNames"] == ["list-roles"]


@pytest.mark.parametrize("external_id", ["ext-12", "ext-1234", "EXT-123", "ext-123x"])
def test_wrong_external_id_is_denied(ferry, world, external_id):
    with client_error("AccessDenied", 403):
        assume(ferry, world.vendor, world.role_arn, ExternalId=external_id)


def test_omitted_external_id_is_denied(ferry, world):
    with client_error("AccessDenied", 403):
        assume(ferry, world.vendor, world.role_arn)


def test_external_id_sent_to_a_role_without_the_condition_is_allowed(ferry, world):
    session = unique("open")
    resp = assume(ferry, world.vendor, world.open_arn, session, ExternalId="anything-at-all")
    assert resp["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, "VendorOpen", session)
    sess = session_creds(resp, world.customer.account_id)
    assert ORG_ROLE in role_names(ferry.client("iam", sess).list_roles()["Roles"])
    # And without one too.
    assume(ferry, world.vendor, world.open_arn)


def test_vendor_user_without_assume_role_in_its_policies_is_denied(ferry, world):
    viam = ferry.client("iam", world.vendor)
    name = unique("integrator")
    viam.create_user(UserName=name)
    viam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=doc(
        allow("iam:GetUser", user_arn(world.vendor.account_id, name))))
    user = key_creds(viam.create_access_key(UserName=name)["AccessKey"], world.vendor.account_id)

    # Its key works and its own policy works ...
    assert ferry.client("iam", user).get_user(UserName=name)["User"]["UserName"] == name
    # ... but the trust policy naming its account is not enough across accounts.
    with client_error("AccessDenied", 403) as err:
        assume(ferry, user, world.role_arn, ExternalId=EXT)
    msg = err.value.response["Error"]["Message"]
    assert user_arn(world.vendor.account_id, name) in msg and "sts:AssumeRole" in msg, msg

    # Granting sts:AssumeRole on that role is what lets it in, at once ...
    viam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=doc(
        allow("sts:AssumeRole", world.role_arn)))
    session = unique("user")
    resp = assume(ferry, user, world.role_arn, session, ExternalId=EXT)
    assert resp["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, ROLE, session)
    # ... still on condition of the external ID ...
    with client_error("AccessDenied", 403):
        assume(ferry, user, world.role_arn, ExternalId="wrong")
    # ... and taking it away shuts it again.
    viam.delete_user_policy(UserName=name, PolicyName="assume")
    with client_error("AccessDenied", 403):
        assume(ferry, user, world.role_arn, ExternalId=EXT)


def test_third_account_is_denied(ferry, world):
    with client_error("AccessDenied", 403):
        assume(ferry, world.third, world.role_arn, ExternalId=EXT)
    with client_error("AccessDenied", 403):
        assume(ferry, world.third, world.open_arn)


def test_role_that_does_not_exist_is_denied_like_a_refusal(ferry, world):
    missing = unique("NoSuchRole")
    missing_arn = role_arn(world.customer.account_id, missing)
    with client_error("AccessDenied", 403) as err:
        assume(ferry, world.vendor, missing_arn, session="probe", ExternalId=EXT)
    missing_msg = err.value.response["Error"]["Message"]

    with client_error("AccessDenied", 403) as err:
        assume(ferry, world.vendor, world.role_arn, session="probe", ExternalId="wrong")
    refused_msg = err.value.response["Error"]["Message"]
    assert missing_msg.replace(missing_arn, "<ROLE>") == refused_msg.replace(world.role_arn, "<ROLE>"), \
        f"a missing role is distinguishable from a refusal:\n  missing: {missing_msg}\n  refused: {refused_msg}"

    # Same from an account the role does not trust at all.
    with client_error("AccessDenied", 403) as err:
        assume(ferry, world.third, missing_arn, session="probe", ExternalId=EXT)
    a = err.value.response["Error"]["Message"]
    with client_error("AccessDenied", 403) as err:
        assume(ferry, world.third, world.role_arn, session="probe", ExternalId=EXT)
    b = err.value.response["Error"]["Message"]
    assert a.replace(missing_arn, "<ROLE>") == b.replace(world.role_arn, "<ROLE>"), (a, b)

    # And in an account that does not exist.
    with client_error("AccessDenied", 403):
        assume(ferry, world.vendor, role_arn("000000000000", ROLE), ExternalId=EXT)


def test_role_arn_path_is_not_in_the_session_arn(ferry, world):
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          Path="/integrations/", policies={"list": LIST_ROLES})
    assert arn == f"arn:aws:iam::{world.customer.account_id}:role/integrations/{name}"
    resp = assume(ferry, world.vendor, arn, "pathy")
    assert resp["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, name, "pathy")
    sess = session_creds(resp, world.customer.account_id)
    assert ferry.identity(sess)["Arn"] == assumed_role_arn(world.customer.account_id, name, "pathy")
    assert ORG_ROLE in role_names(ferry.client("iam", sess).list_roles()["Roles"])


# ====================================================================== what a session may do


def test_session_policy_narrows_the_role(ferry, world):
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          policies={"read": doc(allow(["iam:ListRoles", "iam:GetRole"]))})
    # Control: without a session policy both work.
    full = ferry.client("iam", session_creds(assume(ferry, world.vendor, arn), world.customer.account_id))
    assert ORG_ROLE in role_names(full.list_roles()["Roles"])
    assert full.get_role(RoleName=name)["Role"]["RoleName"] == name

    resp = assume(ferry, world.vendor, arn, Policy=doc(allow("iam:GetRole")))
    narrowed = ferry.client("iam", session_creds(resp, world.customer.account_id))
    with client_error("AccessDenied", 403):
        narrowed.list_roles()
    assert narrowed.get_role(RoleName=name)["Role"]["RoleName"] == name


def test_session_policy_cannot_widen_the_role(ferry, world):
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          policies={"list": LIST_ROLES})
    resp = assume(ferry, world.vendor, arn, Policy=doc(allow("iam:*")))
    iam = ferry.client("iam", session_creds(resp, world.customer.account_id))
    assert ORG_ROLE in role_names(iam.list_roles()["Roles"])
    with client_error("AccessDenied", 403):
        iam.get_role(RoleName=name)
    with client_error("AccessDenied", 403):
        iam.create_role(RoleName=unique("widen"), AssumeRolePolicyDocument=trust(root_arn(world.customer.account_id)))


def test_session_policy_arns_narrow_the_role(ferry, world):
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          policies={"all": doc(allow("iam:*"))})
    resp = assume(ferry, world.vendor, arn, PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])
    iam = ferry.client("iam", session_creds(resp, world.customer.account_id))
    assert name in role_names(iam.list_roles()["Roles"])
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    new = unique("ro")
    with client_error("AccessDenied", 403):
        iam.create_role(RoleName=new, AssumeRolePolicyDocument=trust(root_arn(world.customer.account_id)))
    with client_error("NoSuchEntity", 404):
        ferry.client("iam", world.customer).get_role(RoleName=new)


@pytest.mark.parametrize("policy", ['{"Version": "2012-10-17", "Statement": [', "not json",
                                    json.dumps({"Version": "2012-10-17", "Statement": [
                                        {"Effect": "Maybe", "Action": "iam:*", "Resource": "*"}]})],
                         ids=["truncated", "not-json", "bad-effect"])
def test_malformed_session_policy(ferry, world, policy):
    with client_error("MalformedPolicyDocument", 400):
        assume(ferry, world.vendor, world.open_arn, Policy=policy)


def test_explicit_deny_beats_allow(ferry, world):
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          policies={"everything": doc(allow("iam:*")),
                                    "but-not-list": doc(deny("iam:ListRoles"))})
    iam = ferry.client("iam", session_creds(assume(ferry, world.vendor, arn), world.customer.account_id))
    with client_error("AccessDenied", 403):
        iam.list_roles()
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name


def test_session_tags_and_source_identity(ferry, world):
    name, arn = make_role(
        ferry, world.customer,
        trust_doc=trust(root_arn(world.vendor.account_id),
                        actions=["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]),
        policies={"blue-only": doc(allow("iam:GetRole", condition={
            "StringEquals": {"aws:PrincipalTag/team": "blue"}}))})

    resp = assume(ferry, world.vendor, arn, Tags=[{"Key": "team", "Value": "blue"}],
                  SourceIdentity="alice@vendor")
    assert resp["SourceIdentity"] == "alice@vendor"
    blue = ferry.client("iam", session_creds(resp, world.customer.account_id))
    assert blue.get_role(RoleName=name)["Role"]["RoleName"] == name

    red = ferry.client("iam", session_creds(
        assume(ferry, world.vendor, arn, Tags=[{"Key": "team", "Value": "red"}]), world.customer.account_id))
    with client_error("AccessDenied", 403):
        red.get_role(RoleName=name)

    untagged = ferry.client("iam", session_creds(assume(ferry, world.vendor, arn), world.customer.account_id))
    with client_error("AccessDenied", 403):
        untagged.get_role(RoleName=name)


def test_tags_and_source_identity_need_the_trust_policy_to_allow_them(ferry, world):
    # VendorOpen's trust policy allows sts:AssumeRole only.
    with client_error("AccessDenied", 403):
        assume(ferry, world.vendor, world.open_arn, Tags=[{"Key": "team", "Value": "blue"}])
    with client_error("AccessDenied", 403):
        assume(ferry, world.vendor, world.open_arn, SourceIdentity="alice")


# ====================================================================== revocation and bad tokens


def test_revocation_takes_effect_at_once(ferry, world):
    ciam = ferry.client("iam", world.customer)
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          policies={"list": LIST_ROLES})
    sess = session_creds(assume(ferry, world.vendor, arn, "revoked"), world.customer.account_id)
    iam = ferry.client("iam", sess)
    assert ORG_ROLE in role_names(iam.list_roles()["Roles"])

    ciam.delete_role_policy(RoleName=name, PolicyName="list")
    with client_error("AccessDenied", 403):
        iam.list_roles()

    ciam.put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=LIST_ROLES)
    assert ORG_ROLE in role_names(iam.list_roles()["Roles"])

    ciam.put_role_policy(RoleName=name, PolicyName="stop", PolicyDocument=doc(deny("*")))
    with client_error("AccessDenied", 403):
        iam.list_roles()
    ciam.delete_role_policy(RoleName=name, PolicyName="stop")
    assert ORG_ROLE in role_names(iam.list_roles()["Roles"])

    # The role goes: the session dies with it, even for calls that need no permission.
    assert ferry.identity(sess)["Arn"] == assumed_role_arn(world.customer.account_id, name, "revoked")
    ciam.delete_role_policy(RoleName=name, PolicyName="list")
    ciam.delete_role(RoleName=name)
    refused(lambda: ferry.identity(sess))
    refused(lambda: iam.list_roles())


def test_session_of_a_deleted_role_stays_dead_when_the_name_is_reused(ferry, world):
    ciam = ferry.client("iam", world.customer)
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          policies={"list": LIST_ROLES})
    old = ferry.client("iam", session_creds(assume(ferry, world.vendor, arn), world.customer.account_id))
    assert ORG_ROLE in role_names(old.list_roles()["Roles"])

    ciam.delete_role_policy(RoleName=name, PolicyName="list")
    ciam.delete_role(RoleName=name)
    make_role(ferry, world.customer, name=name, trust_doc=trust(root_arn(world.vendor.account_id)),
              policies={"list": LIST_ROLES})

    refused(lambda: old.list_roles())
    new = ferry.client("iam", session_creds(assume(ferry, world.vendor, arn), world.customer.account_id))
    assert ORG_ROLE in role_names(new.list_roles()["Roles"])


@pytest.fixture
def live_session(ferry, world) -> Creds:
    sess = session_of(ferry, world, arn=world.open_arn)
    assert ferry.identity(sess)["Account"] == world.customer.account_id  # control: untampered, it works
    return sess


@pytest.mark.parametrize("how", ["flip-middle", "truncate", "append", "drop"])
def test_tampered_session_token_is_invalid_client_token(ferry, live_session, how):
    t = live_session.session_token
    tampered = {"flip-middle": lambda: flip_middle(t),
                "truncate": lambda: t[: len(t) // 2],
                "append": lambda: t + "AAAA",
                "drop": lambda: None}[how]()
    bad = Creds(live_session.access_key_id, live_session.secret_access_key, live_session.account_id, tampered)
    with client_error("InvalidClientTokenId", 403):
        ferry.identity(bad)
    with client_error("InvalidClientTokenId", 403):
        ferry.client("iam", bad).list_roles()
    assert ferry.identity(live_session)["Account"] == live_session.account_id


def test_session_token_of_another_session_is_refused(ferry, world, live_session):
    other = session_of(ferry, world, arn=world.open_arn)
    mixed = Creds(live_session.access_key_id, live_session.secret_access_key, live_session.account_id,
                  other.session_token)
    refused(lambda: ferry.identity(mixed), codes=("InvalidClientTokenId", "SignatureDoesNotMatch"))


def test_session_with_wrong_secret_is_signature_mismatch(ferry, live_session):
    bad = live_session.with_secret(live_session.secret_access_key[::-1])
    with client_error("SignatureDoesNotMatch", 403):
        ferry.identity(bad)


# ====================================================================== durations and names


def test_shortest_session_works_now(ferry, world):
    resp = assume(ferry, world.vendor, world.role_arn, ExternalId=EXT, DurationSeconds=900)
    assert_expires_in(resp["Credentials"]["Expiration"], 900)
    iam = ferry.client("iam", session_creds(resp, world.customer.account_id))
    assert ROLE in role_names(iam.list_roles()["Roles"])


@pytest.mark.parametrize("seconds", [0, 899])
def test_duration_under_900_is_validation_error(ferry, world, seconds):
    with client_error("ValidationError", 400):
        assume(ferry, world.vendor, world.role_arn, validate=False, ExternalId=EXT, DurationSeconds=seconds)


@pytest.mark.parametrize("seconds", [3601, 7200, 43200, 43201])
def test_duration_above_the_roles_max_is_validation_error(ferry, world, seconds):
    # VendorAccess keeps the default MaxSessionDuration of 3600.
    with client_error("ValidationError", 400):
        assume(ferry, world.vendor, world.role_arn, ExternalId=EXT, DurationSeconds=seconds)


def test_duration_up_to_the_roles_max(ferry, world):
    name, arn = make_role(ferry, world.customer, trust_doc=trust(root_arn(world.vendor.account_id)),
                          MaxSessionDuration=7200, policies={"list": LIST_ROLES})
    resp = assume(ferry, world.vendor, arn, DurationSeconds=7200)
    assert_expires_in(resp["Credentials"]["Expiration"], 7200)
    with client_error("ValidationError", 400):
        assume(ferry, world.vendor, arn, DurationSeconds=7201)
    # Raising the role's maximum takes effect on the next AssumeRole.
    ferry.client("iam", world.customer).update_role(RoleName=name, MaxSessionDuration=43200)
    resp = assume(ferry, world.vendor, arn, DurationSeconds=43200)
    assert_expires_in(resp["Credentials"]["Expiration"], 43200)
    assert ORG_ROLE in role_names(
        ferry.client("iam", session_creds(resp, world.customer.account_id)).list_roles()["Roles"])


@pytest.mark.parametrize("session", ["x", "has space", "a" * 65, "slash/name", "star*", ""],
                         ids=["1-char", "space", "65-chars", "slash", "star", "empty"])
def test_bad_role_session_name_is_validation_error(ferry, world, session):
    sts = ferry.client("sts", world.vendor, parameter_validation=False)
    with client_error("ValidationError", 400):
        sts.assume_role(RoleArn=world.role_arn, RoleSessionName=session, ExternalId=EXT)


@pytest.mark.parametrize("session", ["ab", "a.b@c=d,e-f_g+h", "A" * 64])
def test_good_role_session_names(ferry, world, session):
    resp = assume(ferry, world.vendor, world.role_arn, session=session, ExternalId=EXT)
    assert resp["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, ROLE, session)
    assert resp["AssumedRoleUser"]["AssumedRoleId"] == f"{world.role_id}:{session}"


# ====================================================================== role chaining


@pytest.fixture(scope="module")
def chain(ferry, world):
    """ChainA (trusts the vendor; may assume ChainB) and ChainB (trusts ChainA's ARN, max 12 h)."""
    c = world.customer.account_id
    b_arn = role_arn(c, "ChainB")
    _, a_arn = make_role(ferry, world.customer, "ChainA", trust(root_arn(world.vendor.account_id)),
                         policies={"hop": doc(allow("sts:AssumeRole", b_arn), allow("iam:ListRoles"))})
    make_role(ferry, world.customer, "ChainB", trust(a_arn), MaxSessionDuration=43200,
              policies={"read": doc(allow("iam:GetRole"))})
    return {"a": a_arn, "b": b_arn}


def test_role_chaining_is_limited_to_one_hour(ferry, world, chain):
    first = session_creds(assume(ferry, world.vendor, chain["a"], "hop1"), world.customer.account_id)
    assert ferry.identity(first)["Arn"] == assumed_role_arn(world.customer.account_id, "ChainA", "hop1")

    for seconds in (7200, 3601):
        with client_error("ValidationError", 400):
            assume(ferry, first, chain["b"], "hop2", DurationSeconds=seconds)

    resp = assume(ferry, first, chain["b"], "hop2", DurationSeconds=3600)
    assert_expires_in(resp["Credentials"]["Expiration"], 3600)
    assert resp["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, "ChainB", "hop2")
    second = session_creds(resp, world.customer.account_id)
    assert SESSION_KEY_RE.match(second.access_key_id)
    me = ferry.identity(second)
    assert me["Arn"] == assumed_role_arn(world.customer.account_id, "ChainB", "hop2")
    assert me["Account"] == world.customer.account_id

    # ChainB's rights, not ChainA's.
    iam = ferry.client("iam", second)
    assert iam.get_role(RoleName="ChainB")["Role"]["RoleName"] == "ChainB"
    with client_error("AccessDenied", 403):
        iam.list_roles()

    # Without DurationSeconds a chained session gets the default hour.
    resp = assume(ferry, first, chain["b"], "hop3")
    assert_expires_in(resp["Credentials"]["Expiration"], 3600)


def test_transitive_session_tags_follow_the_chain(ferry, world):
    c = world.customer.account_id
    tagging = ["sts:AssumeRole", "sts:TagSession"]
    second = unique("TagHop2")
    _, first_arn = make_role(ferry, world.customer, unique("TagHop1"),
                             trust(root_arn(world.vendor.account_id), actions=tagging),
                             policies={"hop": doc(allow("sts:AssumeRole", role_arn(c, second)))})
    make_role(ferry, world.customer, second, trust(first_arn, actions=tagging),
              policies={"blue-only": doc(allow("iam:GetRole", condition={
                  "StringEquals": {"aws:PrincipalTag/team": "blue"}}))})

    transitive = session_creds(assume(ferry, world.vendor, first_arn, Tags=[{"Key": "team", "Value": "blue"}],
                                      TransitiveTagKeys=["team"]), c)
    chained = ferry.client("iam", session_creds(assume(ferry, transitive, role_arn(c, second)), c))
    assert chained.get_role(RoleName=second)["Role"]["RoleName"] == second

    # Not marked transitive: the tag stays with the first session.
    plain = session_creds(assume(ferry, world.vendor, first_arn, Tags=[{"Key": "team", "Value": "blue"}]), c)
    chained = ferry.client("iam", session_creds(assume(ferry, plain, role_arn(c, second)), c))
    with client_error("AccessDenied", 403):
        chained.get_role(RoleName=second)


def test_chained_role_trusts_only_the_named_role(ferry, world, chain):
    with client_error("AccessDenied", 403):
        assume(ferry, world.vendor, chain["b"])
    other = session_of(ferry, world, arn=world.open_arn)
    with client_error("AccessDenied", 403):
        assume(ferry, other, chain["b"])


# ====================================================================== GetSessionToken, GetAccessKeyInfo


@pytest.fixture(scope="module")
def vendor_user(ferry, world):
    viam = ferry.client("iam", world.vendor)
    name = unique("ops")
    u = viam.create_user(UserName=name)["User"]
    viam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=doc(allow("iam:GetUser")))
    creds = key_creds(viam.create_access_key(UserName=name)["AccessKey"], world.vendor.account_id)
    return {"name": name, "id": u["UserId"], "creds": creds}


def test_get_session_token_acts_as_the_user(ferry, world, vendor_user):
    sts = ferry.client("sts", vendor_user["creds"])
    resp = sts.get_session_token(DurationSeconds=900)
    assert status(resp) == 200
    assert "AssumedRoleUser" not in resp
    c = resp["Credentials"]
    assert SESSION_KEY_RE.match(c["AccessKeyId"]), c["AccessKeyId"]
    assert c["SecretAccessKey"] and c["SessionToken"]
    assert_expires_in(c["Expiration"], 900)

    me = ferry.identity(session_creds(resp, world.vendor.account_id))
    assert me["Arn"] == user_arn(world.vendor.account_id, vendor_user["name"])
    assert me["UserId"] == vendor_user["id"]
    assert me["Account"] == world.vendor.account_id


def test_get_session_token_default_duration_is_12_hours(ferry, vendor_user):
    resp = ferry.client("sts", vendor_user["creds"]).get_session_token()
    assert_expires_in(resp["Credentials"]["Expiration"], 43200)


@pytest.mark.parametrize("seconds", [899, 129601])
def test_get_session_token_bad_duration(ferry, vendor_user, seconds):
    sts = ferry.client("sts", vendor_user["creds"], parameter_validation=False)
    with client_error("ValidationError", 400):
        sts.get_session_token(DurationSeconds=seconds)


def test_get_session_token_tampered_is_invalid(ferry, world, vendor_user):
    sess = session_creds(ferry.client("sts", vendor_user["creds"]).get_session_token(DurationSeconds=900),
                         world.vendor.account_id)
    bad = Creds(sess.access_key_id, sess.secret_access_key, sess.account_id, flip_middle(sess.session_token))
    with client_error("InvalidClientTokenId", 403):
        ferry.identity(bad)


def test_get_access_key_info(ferry, world, vendor_user):
    csts = ferry.client("sts", world.customer)
    assert LONG_TERM_KEY_RE.match(world.customer.access_key_id)
    assert csts.get_access_key_info(AccessKeyId=world.customer.access_key_id)["Account"] == world.customer.account_id

    vsts = ferry.client("sts", world.vendor)
    assert vsts.get_access_key_info(AccessKeyId=world.vendor.access_key_id)["Account"] == world.vendor.account_id
    assert vsts.get_access_key_info(
        AccessKeyId=vendor_user["creds"].access_key_id)["Account"] == world.vendor.account_id

    # An AssumeRole session key belongs to the role's account.
    sess = session_of(ferry, world)
    assert csts.get_access_key_info(AccessKeyId=sess.access_key_id)["Account"] == world.customer.account_id
    # A GetSessionToken key belongs to the user's account.
    gst = session_creds(ferry.client("sts", vendor_user["creds"]).get_session_token(DurationSeconds=900))
    assert vsts.get_access_key_info(AccessKeyId=gst.access_key_id)["Account"] == world.vendor.account_id


# ====================================================================== the wrong account


@pytest.fixture(scope="module")
def cust(ferry, world):
    """Entities that exist only in the customer's account, and what they should look like."""
    ciam = ferry.client("iam", world.customer)
    role = unique("CustOnly")
    trust_doc = trust(root_arn(world.customer.account_id))
    r = ciam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_doc)["Role"]
    ciam.put_role_policy(RoleName=role, PolicyName="keep", PolicyDocument=LIST_ROLES)
    user = unique("cust-user")
    u = ciam.create_user(UserName=user)["User"]
    ciam.put_user_policy(UserName=user, PolicyName="keep", PolicyDocument=LIST_ROLES)
    key = key_creds(ciam.create_access_key(UserName=user)["AccessKey"], world.customer.account_id)
    return {"role": role, "role_id": r["RoleId"], "trust": json.loads(trust_doc), "user": user,
            "user_id": u["UserId"], "key": key, "policy": json.loads(LIST_ROLES)}


@pytest.fixture(scope="module")
def vendor_session(ferry, world) -> Creds:
    """A session of a vendor-account role with iam:* in the vendor's account."""
    _, arn = make_role(ferry, world.vendor, unique("VendorSelf"), trust(root_arn(world.vendor.account_id)),
                       policies={"all": doc(allow("iam:*"))})
    return session_creds(assume(ferry, world.vendor, arn), world.vendor.account_id)


def assert_customer_untouched(ferry, world, cust):
    ciam = ferry.client("iam", world.customer)
    r = ciam.get_role(RoleName=cust["role"])["Role"]
    assert r["RoleId"] == cust["role_id"]
    assert r["AssumeRolePolicyDocument"] == cust["trust"]
    assert r["MaxSessionDuration"] == 3600
    assert ciam.list_role_policies(RoleName=cust["role"])["PolicyNames"] == ["keep"]
    assert ciam.get_role_policy(RoleName=cust["role"], PolicyName="keep")["PolicyDocument"] == cust["policy"]
    assert ciam.get_user(UserName=cust["user"])["User"]["UserId"] == cust["user_id"]
    assert ciam.list_user_policies(UserName=cust["user"])["PolicyNames"] == ["keep"]
    assert ciam.get_user_policy(UserName=cust["user"], PolicyName="keep")["PolicyDocument"] == cust["policy"]
    keys = ciam.list_access_keys(UserName=cust["user"])["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(cust["key"].access_key_id, "Active")]
    assert ferry.identity(cust["key"])["Arn"] == user_arn(world.customer.account_id, cust["user"])


WRONG_ACCOUNT_CALLS = {
    "GetRole": lambda iam, c: iam.get_role(RoleName=c["role"]),
    "UpdateRole": lambda iam, c: iam.update_role(RoleName=c["role"], MaxSessionDuration=43200),
    "UpdateAssumeRolePolicy": lambda iam, c: iam.update_assume_role_policy(
        RoleName=c["role"], PolicyDocument=trust("arn:aws:iam::000000000000:root")),
    "DeleteRole": lambda iam, c: iam.delete_role(RoleName=c["role"]),
    "PutRolePolicy": lambda iam, c: iam.put_role_policy(RoleName=c["role"], PolicyName="pwn",
                                                        PolicyDocument=doc(allow("*"))),
    "GetRolePolicy": lambda iam, c: iam.get_role_policy(RoleName=c["role"], PolicyName="keep"),
    "ListRolePolicies": lambda iam, c: iam.list_role_policies(RoleName=c["role"]),
    "DeleteRolePolicy": lambda iam, c: iam.delete_role_policy(RoleName=c["role"], PolicyName="keep"),
    "GetUser": lambda iam, c: iam.get_user(UserName=c["user"]),
    "DeleteUser": lambda iam, c: iam.delete_user(UserName=c["user"]),
    "CreateAccessKey": lambda iam, c: iam.create_access_key(UserName=c["user"]),
    "ListAccessKeys": lambda iam, c: iam.list_access_keys(UserName=c["user"]),
    "UpdateAccessKey": lambda iam, c: iam.update_access_key(UserName=c["user"], AccessKeyId=c["key"].access_key_id,
                                                            Status="Inactive"),
    "UpdateAccessKey-no-user": lambda iam, c: iam.update_access_key(AccessKeyId=c["key"].access_key_id,
                                                                    Status="Inactive"),
    "DeleteAccessKey": lambda iam, c: iam.delete_access_key(UserName=c["user"], AccessKeyId=c["key"].access_key_id),
    "DeleteAccessKey-no-user": lambda iam, c: iam.delete_access_key(AccessKeyId=c["key"].access_key_id),
    "PutUserPolicy": lambda iam, c: iam.put_user_policy(UserName=c["user"], PolicyName="pwn",
                                                        PolicyDocument=doc(allow("*"))),
    "GetUserPolicy": lambda iam, c: iam.get_user_policy(UserName=c["user"], PolicyName="keep"),
    "ListUserPolicies": lambda iam, c: iam.list_user_policies(UserName=c["user"]),
    "DeleteUserPolicy": lambda iam, c: iam.delete_user_policy(UserName=c["user"], PolicyName="keep"),
}


@pytest.mark.parametrize("caller", ["vendor-admin", "vendor-session", "third-admin"])
@pytest.mark.parametrize("op", sorted(WRONG_ACCOUNT_CALLS))
def test_iam_in_the_wrong_account_is_no_such_entity(ferry, world, cust, vendor_session, caller, op):
    """IAM acts in the caller's own account: the customer's names do not exist there."""
    creds = {"vendor-admin": world.vendor, "vendor-session": vendor_session, "third-admin": world.third}[caller]
    if caller == "vendor-session" and op.endswith("-no-user"):
        # A role session has no user of its own for IAM to default UserName to
        # ("Must specify userName when calling with non-User credentials").
        expected = ("ValidationError", 400)
    else:
        expected = ("NoSuchEntity", 404)
    with client_error(*expected):
        WRONG_ACCOUNT_CALLS[op](ferry.client("iam", creds), cust)
    assert_customer_untouched(ferry, world, cust)


def test_same_names_in_two_accounts_are_independent(ferry, world):
    name = unique("Shared")
    viam, ciam = ferry.client("iam", world.vendor), ferry.client("iam", world.customer)
    v = viam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(world.vendor.account_id)))["Role"]
    c = ciam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(root_arn(world.customer.account_id)),
                         MaxSessionDuration=7200)["Role"]
    assert v["Arn"] == role_arn(world.vendor.account_id, name)
    assert c["Arn"] == role_arn(world.customer.account_id, name)
    assert v["RoleId"] != c["RoleId"]
    viam.put_role_policy(RoleName=name, PolicyName="v", PolicyDocument=LIST_ROLES)
    assert ciam.list_role_policies(RoleName=name)["PolicyNames"] == []
    viam.delete_role_policy(RoleName=name, PolicyName="v")
    viam.delete_role(RoleName=name)
    g = ciam.get_role(RoleName=name)["Role"]
    assert g["RoleId"] == c["RoleId"] and g["MaxSessionDuration"] == 7200

    user = unique("same-user")
    viam.create_user(UserName=user)
    ciam.create_user(UserName=user)  # no EntityAlreadyExists across accounts
    assert viam.get_user(UserName=user)["User"]["Arn"] == user_arn(world.vendor.account_id, user)
    assert ciam.get_user(UserName=user)["User"]["Arn"] == user_arn(world.customer.account_id, user)


def test_a_member_session_cannot_read_the_other_members_roles(ferry, world, cust, vendor_session):
    viam = ferry.client("iam", vendor_session)
    mine = list_all_roles(viam)
    assert world.vendor_only_role in role_names(mine)
    assert all(r["Arn"].startswith(f"arn:aws:iam::{world.vendor.account_id}:role/") for r in mine), mine
    assert not {ROLE, "VendorOpen", cust["role"]} & set(role_names(mine))
    with client_error("NoSuchEntity", 404):
        viam.get_role(RoleName=ROLE)

    # And the customer-side session sees nothing of the vendor's.
    csess = ferry.client("iam", session_of(ferry, world))
    theirs = list_all_roles(csess)
    assert world.vendor_only_role not in role_names(theirs)
    assert all(r["Arn"].startswith(f"arn:aws:iam::{world.customer.account_id}:role/") for r in theirs)


# ====================================================================== CloudTrail


def _find(events, request_id):
    for e in events:
        if ct_detail(e).get("requestID") == request_id:
            return e
    pytest.fail(f"no record with requestID {request_id}")


def test_cloudtrail_records_the_assume_role_and_the_session(ferry, world):
    session = unique("trail")
    resp = assume(ferry, world.vendor, world.role_arn, session, ExternalId=EXT)
    assume_id = rid(resp)
    sess = session_creds(resp, world.customer.account_id)
    list_id = rid(ferry.client("iam", sess).list_roles())
    with client_error("AccessDenied", 403) as err:
        assume(ferry, world.vendor, world.role_arn, ExternalId="wrong")
    denied_id = err.value.response["ResponseMetadata"]["RequestId"]

    ct_v, ct_c = ferry.client("cloudtrail", world.vendor), ferry.client("cloudtrail", world.customer)
    assume_attr = attr("EventName", "AssumeRole")
    v_events = wait_for_request_ids(ct_v, [assume_id, denied_id], LookupAttributes=assume_attr)
    c_events = wait_for_request_ids(ct_c, [assume_id], LookupAttributes=assume_attr)

    # The AssumeRole: in both trails, by the vendor, for the customer.
    for who, events in (("vendor", v_events), ("customer", c_events)):
        e = _find(events, assume_id)
        assert e["EventName"] == "AssumeRole"
        assert e["EventSource"] == "sts.amazonaws.com"
        d = ct_detail(e)
        ui = d["userIdentity"]
        assert ui["type"] == "IAMUser", (who, ui)
        assert ui["accountId"] == world.vendor.account_id, (who, ui)
        assert ui["arn"] == user_arn(world.vendor.account_id, "admin"), (who, ui)
        assert ui["accessKeyId"] == world.vendor.access_key_id, (who, ui)
        assert d["recipientAccountId"] == world.customer.account_id, (who, d)
        assert not d.get("errorCode"), (who, d)
        assert world.role_arn in json.dumps(d.get("requestParameters")), (who, d.get("requestParameters"))

    # The refusal is in the vendor's trail, with its error code.
    dd = ct_detail(_find(v_events, denied_id))
    assert dd["errorCode"] == "AccessDenied", dd
    assert dd["userIdentity"]["accountId"] == world.vendor.account_id

    # The session's own call: in the customer's trail, as an assumed role.
    l_events = wait_for_request_ids(ct_c, [list_id], LookupAttributes=attr("EventName", "ListRoles"))
    e = _find(l_events, list_id)
    assert e["EventSource"] == "iam.amazonaws.com"
    assert e["Username"] == session
    d = ct_detail(e)
    ui = d["userIdentity"]
    assert ui["type"] == "AssumedRole", ui
    assert ui["arn"] == assumed_role_arn(world.customer.account_id, ROLE, session), ui
    assert ui["accountId"] == world.customer.account_id, ui
    assert ui["accessKeyId"] == sess.access_key_id, ui
    assert ui["principalId"] == f"{world.role_id}:{session}", ui
    issuer = ui["sessionContext"]["sessionIssuer"]
    assert issuer["type"] == "Role", issuer
    assert issuer["arn"] == world.role_arn, issuer
    assert issuer["accountId"] == world.customer.account_id, issuer
    assert issuer["principalId"] == world.role_id, issuer
    assert issuer["userName"] == ROLE, issuer
    assert d["recipientAccountId"] == world.customer.account_id
    assert not d.get("errorCode"), d

    # ... and not in the vendor's: the session acts in the customer's account.
    assert list_id not in request_ids(lookup_all(ct_v))
    # Records of the session can be found by its key.
    by_key = lookup_all(ct_c, LookupAttributes=attr("AccessKeyId", sess.access_key_id))
    assert list_id in request_ids(by_key)

    # The session's secrets never reach the trail.
    for events in (lookup_all(ct_v), lookup_all(ct_c)):
        blob = json.dumps([ct_detail(x) for x in events])
        assert sess.secret_access_key not in blob
        assert sess.session_token not in blob
    for db in (ferry.data_dir / "ferry.db", ferry.data_dir / "accounts" / world.customer.account_id / "ferry.db"):
        dump = audit_dump(db)
        assert sess.secret_access_key not in dump, f"session secret in {db}"
        assert sess.session_token not in dump, f"session token in {db}"


# ====================================================================== the aws CLI


def test_cli_assume_role_and_use_the_session(ferry, world):
    out = ferry.aws_json("sts", "assume-role", "--role-arn", world.role_arn, "--role-session-name", "cli-session",
                         "--external-id", EXT, creds=world.vendor)
    c = out["Credentials"]
    assert SESSION_KEY_RE.match(c["AccessKeyId"]), c
    assert out["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, ROLE, "cli-session")
    sess = Creds(c["AccessKeyId"], c["SecretAccessKey"], world.customer.account_id, c["SessionToken"])

    me = ferry.aws_json("sts", "get-caller-identity", creds=sess)
    assert me["Arn"] == assumed_role_arn(world.customer.account_id, ROLE, "cli-session")
    assert me["Account"] == world.customer.account_id
    assert me["UserId"] == f"{world.role_id}:cli-session"

    listed = ferry.aws_json("iam", "list-roles", creds=sess)["Roles"]
    assert ROLE in role_names(listed) and world.vendor_only_role not in role_names(listed)

    p = ferry.aws("iam", "get-role", "--role-name", ROLE, creds=sess)
    assert p.returncode != 0 and "AccessDenied" in p.stderr, p.stderr

    # Without the session token the key is not valid.
    p = ferry.aws("sts", "get-caller-identity", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"]))
    assert p.returncode != 0 and "InvalidClientTokenId" in p.stderr, p.stderr


def test_cli_assume_role_refusals(ferry, world):
    p = ferry.aws("sts", "assume-role", "--role-arn", world.role_arn, "--role-session-name", "cli-session",
                  "--external-id", "wrong", creds=world.vendor)
    assert p.returncode != 0 and "AccessDenied" in p.stderr, p.stderr
    p = ferry.aws("sts", "assume-role", "--role-arn", world.role_arn, "--role-session-name", "cli-session",
                  "--external-id", EXT, "--duration-seconds", "7200", creds=world.vendor)
    assert p.returncode != 0 and "ValidationError" in p.stderr, p.stderr


def test_cli_iam_roles(ferry, world):
    name = unique("cli-role")
    policy = json.loads(trust(root_arn(world.vendor.account_id), EXT))
    out = ferry.aws_json("iam", "create-role", "--role-name", name, "--assume-role-policy-document",
                         json.dumps(policy), "--description", "from the cli", "--max-session-duration", "7200",
                         creds=world.customer)
    assert out["Role"]["RoleName"] == name
    assert out["Role"]["Arn"] == role_arn(world.customer.account_id, name)
    assert ROLE_ID_RE.match(out["Role"]["RoleId"])

    got = ferry.aws_json("iam", "get-role", "--role-name", name, creds=world.customer)["Role"]
    assert got["AssumeRolePolicyDocument"] == policy
    assert got["MaxSessionDuration"] == 7200
    assert got["Description"] == "from the cli"

    listed = role_names(ferry.aws_json("iam", "list-roles", creds=world.customer)["Roles"])
    assert {name, ROLE, ORG_ROLE} <= set(listed)
    # --page-size makes the CLI follow Marker through pages of one.
    paged = role_names(ferry.aws_json("iam", "list-roles", "--page-size", "1", creds=world.customer)["Roles"])
    assert sorted(paged) == sorted(listed)

    p = ferry.aws("iam", "create-role", "--role-name", name, "--assume-role-policy-document", json.dumps(policy),
                  creds=world.customer)
    assert p.returncode != 0 and "EntityAlreadyExists" in p.stderr, p.stderr
    p = ferry.aws("iam", "get-role", "--role-name", unique("missing"), creds=world.customer)
    assert p.returncode != 0 and "NoSuchEntity" in p.stderr, p.stderr
    p = ferry.aws("iam", "get-role", "--role-name", name, creds=world.vendor)
    assert p.returncode != 0 and "NoSuchEntity" in p.stderr, p.stderr

    # The role just made is usable at once.
    out = ferry.aws_json("sts", "assume-role", "--role-arn", role_arn(world.customer.account_id, name),
                         "--role-session-name", "fresh", "--external-id", EXT, "--duration-seconds", "7200",
                         creds=world.vendor)
    assert out["AssumedRoleUser"]["Arn"] == assumed_role_arn(world.customer.account_id, name, "fresh")
