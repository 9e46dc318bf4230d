"""Images in an S3-compatible bucket, against moto's server on loopback (tests/s3.py): the same
content-addressed keys under the prefix, the same errors as the file store, and a bucket that cannot be
used stops start-up with one line naming DRAFTBOT_BLOB_URL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.errors import ConfigurationError
from bot.publisher import RecordingPublisher
from bot.runtime import build_runtime
from storage.blobs import (
    BlobNotFound,
    BlobStoreUnavailable,
    FileBlobStore,
    InvalidBlobKey,
    blob_key,
    blob_store_for,
)
from storage.db import head_revision
from storage.s3_blobs import S3BlobStore
from tests.s3 import Bucket


async def test_put_get_exists_delete_under_the_prefix_with_the_content_type(s3_bucket: Bucket) -> None:
    store = blob_store_for(s3_bucket.url, Path("/nonexistent"))
    assert isinstance(store, S3BlobStore)
    try:
        key = await store.put(b"\x89PNG one", content_type="image/png")
        assert key == blob_key(b"\x89PNG one")
        assert s3_bucket.objects() == [f"images/{key}"]
        head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=f"images/{key}")
        assert head["ContentType"] == "image/png"
        assert await store.exists(key) and await store.get(key) == b"\x89PNG one"
        assert store.local_path(key) is None  # not on this machine's disk

        assert await store.put(b"\x89PNG one", content_type="image/png") == key  # same bytes, same key
        assert s3_bucket.objects() == [f"images/{key}"]  # and one object

        await store.delete(key)
        await store.delete(key)  # a missing key is fine (a rerun after a crash)
        assert not await store.exists(key) and s3_bucket.objects() == []
        with pytest.raises(BlobNotFound):
            await store.get(key)
        with pytest.raises(BlobNotFound):
            await store.get(blob_key(b"never stored"))
    finally:
        await store.aclose()


async def test_keys_that_are_not_blob_keys_are_refused(s3_bucket: Bucket) -> None:
    store = S3BlobStore.from_url(f"s3://{s3_bucket.name}")  # no prefix: keys at the bucket's root
    try:
        for bad in ("../x", "sha256/zz/" + "0" * 64, "images/" + blob_key(b"x"), ""):
            with pytest.raises(InvalidBlobKey):
                await store.get(bad)
            with pytest.raises(InvalidBlobKey):
                await store.delete(bad)
            with pytest.raises(InvalidBlobKey):
                store.local_path(bad)
        key = await store.put(b"root", content_type="image/jpeg")
        assert s3_bucket.objects() == [key]
    finally:
        await store.aclose()


async def test_a_4k_sized_blob_round_trips(s3_bucket: Bucket) -> None:
    data = os.urandom(20 * 1024 * 1024)
    store = S3BlobStore.from_url(s3_bucket.url)
    try:
        key = await store.put(data, content_type="image/png")
        assert await store.get(key) == data
    finally:
        await store.aclose()


async def test_the_factory_and_its_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(blob_store_for(None, tmp_path), FileBlobStore)
    with pytest.raises(BlobStoreUnavailable, match="not an image store URL"):
        blob_store_for("gs://bucket/x", tmp_path)
    with pytest.raises(BlobStoreUnavailable, match="needs a bucket"):
        blob_store_for("s3:///prefix", tmp_path)
    monkeypatch.setitem(sys.modules, "aiobotocore.session", None)  # as without the s3 extra
    with pytest.raises(BlobStoreUnavailable, match=r"pip install 'draftbot\[s3\]'"):
        blob_store_for("s3://bucket/x", tmp_path)
    assert isinstance(blob_store_for(None, tmp_path), FileBlobStore)  # local files need nothing more


async def test_no_credentials_is_said_plainly(s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = S3BlobStore.from_url(s3_bucket.url)
    try:
        with pytest.raises(BlobStoreUnavailable, match="no credentials: set AWS_ACCESS_KEY_ID"):
            await store.check()
    finally:
        await store.aclose()


async def test_a_runtime_on_a_missing_bucket_does_not_start(s3_bucket: Bucket, tmp_path: Path) -> None:
    url = f"s3://{s3_bucket.name}-missing/images"
    settings = Settings(data_dir=tmp_path, blob_url=url, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError) as caught:
        await build_runtime(settings, publisher=RecordingPublisher())
    assert caught.value.message == (
        f"DRAFTBOT_BLOB_URL={url} cannot be used: "
        f"cannot write to {url}: the bucket does not exist (NoSuchBucket)"
    )
    ok = Settings(data_dir=tmp_path, blob_url=s3_bucket.url, _env_file=None)  # type: ignore[call-arg]
    runtime = await build_runtime(ok, publisher=RecordingPublisher())
    await runtime.aclose()
    assert s3_bucket.objects() == []  # the probe left nothing behind


def test_doctor_says_what_is_wrong_one_line_each(
    s3_bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRAFTBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DRAFTBOT_BLOB_URL", s3_bucket.url)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["database", "migrations", "images"]
    assert out[1].startswith(f"migrations: ok (at {head_revision()})")
    assert out[2] == f"images: ok, writable ({s3_bucket.url})"

    missing = f"s3://{s3_bucket.name}-missing/images"
    monkeypatch.setenv("DRAFTBOT_BLOB_URL", missing)
    assert main(["doctor"]) == 1
    assert capsys.readouterr().out.splitlines()[2] == (
        f"images: DRAFTBOT_BLOB_URL={missing} cannot be used: "
        f"cannot write to {missing}: the bucket does not exist (NoSuchBucket)"
    )
    # Any other command on it stops with the same problem as one line, no traceback.
    assert main(["images", "prune", "--days", "30"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"draftbot: DRAFTBOT_BLOB_URL={missing} cannot be used: "
        f"cannot write to {missing}: the bucket does not exist (NoSuchBucket)"
    ]


async def test_a_1k_made_on_one_machine_is_upgraded_on_another(s3_bucket: Bucket, tmp_path: Path) -> None:
    """Two runtimes with their own data directories, one database and one bucket: B makes the 2K from the
    1K that A made and stored, and neither keeps an image on its own disk."""
    from bot.drafts import Done
    from bot.tiers import Tier
    from storage import queries
    from tests.conftest import FakeClock, drain
    from tests.services.test_service_flow import REQ, TEAM, new_draft

    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    publisher, clock = RecordingPublisher(), FakeClock()  # one Slack, one time

    def machine(name: str) -> Settings:
        return Settings(  # type: ignore[call-arg]
            data_dir=tmp_path / name, database_url=database, blob_url=s3_bucket.url, _env_file=None
        )

    a = await build_runtime(machine("a"), publisher=publisher, clock=clock)
    b = await build_runtime(machine("b"), publisher=publisher, clock=clock)
    try:
        draft_id = await new_draft(a, "a lighthouse at dawn for poster --n 1 --seed 5")
        await drain(a, clock)
        async with a.sessions() as session:
            one_ks = await queries.variants_of(session, TEAM, draft_id, Tier.EXPLORE)
        assert len(one_ks) == 1 and all(v.blob_key for v in one_ks)

        upgrade = await b.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
        assert isinstance(upgrade, Done)
        await drain(b, clock)
        async with b.sessions() as session:
            [review] = await queries.variants_of(session, TEAM, draft_id, Tier.REVIEW)
        assert review.blob_key and 2048 in (review.width, review.height)
        assert await a.blobs.get(str(review.blob_key)) == publisher.images[(draft_id, Tier.REVIEW, 1)][1]
        assert f"images/{review.blob_key}" in s3_bucket.objects()
    finally:
        await a.aclose()
        await b.aclose()
    for name in ("a", "b"):
        assert not (tmp_path / name / "blobs").exists() or not any((tmp_path / name / "blobs").rglob("*"))
