"""Shared fixtures: a real S3/SQS API server (moto's server mode) on loopback.

One server runs for the whole session (``moto_endpoint``); each test using ``aws`` gets fake
credentials in its environment (never real ones: the shared AWS config files are hidden) and a
freshly reset server state.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

FAKE_ACCESS_KEY = "AKIAIDRESTESTKEY0001"
FAKE_SECRET = "idres-test-secret-never-real-0123456789"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto S3/SQS/IAM server on 127.0.0.1 (a free port), stopped after the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _post(url: str, body: bytes = b"") -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@dataclass(frozen=True)
class Aws:
    """Handles for one test: the endpoint and boto3 clients that talk to it."""

    endpoint: str
    session: Any

    def client(self, service: str, **credentials: Any) -> Any:
        """A client of `service` on the moto server (fake credentials unless given)."""
        credentials = credentials or {
            "aws_access_key_id": FAKE_ACCESS_KEY,
            "aws_secret_access_key": FAKE_SECRET,
        }
        return self.session.client(
            service, endpoint_url=self.endpoint, region_name=REGION, **credentials
        )

    def enforce_auth(self, enabled: bool) -> None:
        """Make moto check IAM permissions (True) or allow everything again (False)."""
        _post(f"{self.endpoint}/moto-api/reset-auth", b"0" if enabled else b"inf")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials and region in the environment; real AWS config files out of reach."""
    empty = tmp_path_factory.mktemp("aws-config") / "none"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def boto_session() -> Any:
    """One boto3 session for the tests' own clients (loads the service models once)."""
    import boto3

    return boto3.session.Session()


@pytest.fixture
def aws(moto_endpoint: str, aws_env: None, boto_session: Any) -> Iterator[Aws]:
    """The moto server with a clean state and fake credentials set for this test."""
    _post(f"{moto_endpoint}/moto-api/reset")
    handle = Aws(moto_endpoint, boto_session)
    try:
        yield handle
    finally:
        handle.enforce_auth(False)


@pytest.fixture
def closed_endpoint() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def iam_user(aws: Aws) -> Any:
    """Factory: create an IAM user with an inline `policy` on the moto server; return its credentials
    as boto3 client keyword arguments (moto checks them only after ``aws.enforce_auth(True)``)."""

    def make(name: str, policy: dict[str, Any]) -> dict[str, str]:
        iam = aws.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    return make
