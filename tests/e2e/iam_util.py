"""Helpers for the IAM/STS end-to-end tests: policy documents, ARNs, session
credentials and the id formats AWS uses."""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any, Iterable, Mapping

from util import Creds, utcnow

VERSION = "2012-10-17"

ROLE_ID_RE = re.compile(r"^AROA[A-Z0-9]{17}$")
USER_ID_RE = re.compile(r"^AIDA[A-Z0-9]{17}$")
LONG_TERM_KEY_RE = re.compile(r"^AKIA[A-Z0-9]{16}$")
SESSION_KEY_RE = re.compile(r"^ASIA[A-Z0-9]{16}$")

ORG_ROLE = "OrganizationAccountAccessRole"


# ---------------------------------------------------------------- documents


def statement(effect: str, action: str | list[str], resource: str | list[str] = "*",
              condition: Mapping[str, Any] | None = None, **extra: Any) -> dict:
    s: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = dict(condition)
    s.update(extra)
    return s


def allow(action: str | list[str], resource: str | list[str] = "*", **kw: Any) -> dict:
    return statement("Allow", action, resource, **kw)


def deny(action: str | list[str], resource: str | list[str] = "*", **kw: Any) -> dict:
    return statement("Deny", action, resource, **kw)


def doc(*statements: dict) -> str:
    """An identity (or session) policy document as the JSON string IAM takes."""
    return json.dumps({"Version": VERSION, "Statement": list(statements)})


def trust(principal_arn: str | list[str], external_id: str | None = None,
          actions: str | list[str] = "sts:AssumeRole") -> str:
    """A role trust policy letting `principal_arn` (an AWS principal) assume the role,
    on condition of `external_id` when given."""
    s: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": actions}
    if external_id is not None:
        s["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": VERSION, "Statement": [s]})


# ---------------------------------------------------------------- ARNs


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def role_arn(account_id: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


def user_arn(account_id: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:user{path}{name}"


def assumed_role_arn(account_id: str, role: str, session: str) -> str:
    """The session ARN (never carries the role's path)."""
    return f"arn:aws:sts::{account_id}:assumed-role/{role}/{session}"


# ---------------------------------------------------------------- responses


def rid(resp: Mapping[str, Any]) -> str:
    return resp["ResponseMetadata"]["RequestId"]


def status(resp: Mapping[str, Any]) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def session_creds(resp: Mapping[str, Any], account_id: str | None = None) -> Creds:
    """Creds (with session token) from an AssumeRole / GetSessionToken response
    (or its `Credentials` member)."""
    c = resp.get("Credentials", resp)
    return Creds(access_key_id=c["AccessKeyId"], secret_access_key=c["SecretAccessKey"],
                 account_id=account_id, session_token=c["SessionToken"])


def key_creds(access_key: Mapping[str, Any], account_id: str | None = None) -> Creds:
    """Creds from CreateAccessKey's `AccessKey`."""
    return Creds(access_key_id=access_key["AccessKeyId"], secret_access_key=access_key["SecretAccessKey"],
                 account_id=account_id)


def assert_expires_in(expiration: _dt.datetime, seconds: int, slack: float = 120.0) -> None:
    assert isinstance(expiration, _dt.datetime), f"Expiration is not a timestamp: {expiration!r}"
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=_dt.timezone.utc)
    left = (expiration - utcnow()).total_seconds()
    assert abs(left - seconds) <= slack, \
        f"Expiration {expiration.isoformat()} is {left:.0f}s from now, expected about {seconds}s"


def role_names(roles: Iterable[Mapping[str, Any]]) -> list[str]:
    return [r["RoleName"] for r in roles]


def list_all_roles(iam, page_size: int | None = None) -> list[dict]:
    """Every role, following Marker by hand (no paginator)."""
    roles: list[dict] = []
    marker = None
    for _ in range(1000):
        kw: dict[str, Any] = {}
        if page_size:
            kw["MaxItems"] = page_size
        if marker:
            kw["Marker"] = marker
        page = iam.list_roles(**kw)
        roles.extend(page["Roles"])
        if not page.get("IsTruncated"):
            return roles
        marker = page.get("Marker")
        assert marker, f"IsTruncated without a Marker: {page}"
    raise AssertionError("ListRoles did not finish paginating")


def flip_middle(s: str) -> str:
    """The same string with its middle character replaced by another one of the
    same class (so it stays well-formed base64/alphanumeric)."""
    i = len(s) // 2
    c = s[i]
    if c.isdigit():
        r = "1" if c != "1" else "2"
    elif c.isupper():
        r = "A" if c != "A" else "B"
    elif c.islower():
        r = "a" if c != "a" else "b"
    else:
        r = "A"
    return s[:i] + r + s[i + 1:]
