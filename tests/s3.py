"""A real S3 implementation on loopback for the object-storage tests: moto's server, one per session.

Fixtures: ``s3_server`` (the endpoint URL) and ``s3_bucket`` (a fresh bucket, the AWS variables set for it,
and its ``s3://bucket/prefix`` URL).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class Bucket:
    name: str
    url: str  # s3://name/prefix
    prefix: str
    endpoint: str
    client: Any  # a plain boto3 client, to look at the bucket from outside draftbot

    def objects(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))


def aws_env(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """The AWS variables botocore reads, pointing at the test server (nothing of the real ones stays)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    aws_env(monkeypatch, s3_server)
    name = f"draftbot-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=name)
    try:
        yield Bucket(name, f"s3://{name}/images", "images", s3_server, client)
    finally:
        for key in Bucket(name, "", "", s3_server, client).objects():
            client.delete_object(Bucket=name, Key=key)
        client.delete_bucket(Bucket=name)
        client.close()
