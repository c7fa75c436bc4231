"""Clients for `http://localhost:PORT`, under which botocore's host prefixes
name something: S3 Control calls go to `ACCOUNT.localhost:PORT` and access
point ARNs to `NAME-ACCOUNT.localhost:PORT`. Those names need not resolve
on this machine, so `resolving_localhost_subdomains` (a module fixture to
re-export) resolves `localhost` and every `*.localhost` to 127.0.0.1 for the
module's own clients, as a wildcard DNS entry would for a deployment."""

import socket

import pytest
from botocore.config import Config

from conftest import _boto_session
from util import REGION, Creds

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def resolving_localhost_subdomains():
    socket.getaddrinfo = _getaddrinfo
    yield
    socket.getaddrinfo = _real_getaddrinfo


def local_client(ferry, service: str, creds: Creds, **config):
    """A boto3 client for `http://localhost:PORT`; no retries."""
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                 connect_timeout=5, read_timeout=30, signature_version="s3v4", **config)
    return _boto_session().client(
        service, endpoint_url=f"http://localhost:{ferry.port}", region_name=REGION,
        aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token, config=cfg)
