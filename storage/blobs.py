"""Image bytes, stored by content.

A key is ``sha256/<first two hex digits>/<all 64 hex digits>`` of the bytes, e.g. ``sha256/9f/9f86d0…0a08``.
The same bytes always get the same key and are written once. The content type is not part of the key: the
variant row records it. A key from outside is accepted only if it matches that pattern exactly, so a key can
never name a path outside the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

KEY_PATTERN = re.compile(r"sha256/([0-9a-f]{2})/(\1[0-9a-f]{62})")


class BlobNotFound(KeyError):
    """No blob is stored under this key."""


class InvalidBlobKey(ValueError):
    """The string is not a blob key at all (and is never turned into a path)."""


class BlobStoreUnavailable(Exception):
    """Blobs cannot be stored now (no bucket, no access, no endpoint, no credentials, a read-only disk).
    ``message`` says what and why, for an operator; :mod:`bot` names the setting around it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BlobStore(Protocol):
    async def put(self, data: bytes, *, content_type: str) -> str:
        """Store ``data``; return its key. Storing the same bytes again returns the same key."""
        ...

    async def get(self, key: str) -> bytes:
        """Raise :class:`BlobNotFound` if nothing is stored under ``key``."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob under ``key``; nothing stored there is fine (a rerun after a crash)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file holding the blob, when it is on this machine's disk; else None."""
        ...

    async def check(self) -> None:
        """Raise :class:`BlobStoreUnavailable` unless blobs can be stored now (for start-up and readiness
        checks: cheap, and leaves nothing behind)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


def blob_store_for(url: str | None, local_dir: Path) -> BlobStore:
    """The store a URL names: None, files under ``local_dir``; ``s3://bucket/prefix``, an S3-compatible
    bucket (needs the ``s3`` extra). Anything else raises :class:`BlobStoreUnavailable`."""
    if url is None or not url.strip():
        return FileBlobStore(local_dir)
    if url.startswith("s3://"):
        from storage.s3_blobs import S3BlobStore

        return S3BlobStore.from_url(url)
    raise BlobStoreUnavailable(f"{url[:80]!r} is not an image store URL; use s3://bucket/prefix, or unset it")


def blob_key(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"sha256/{digest[:2]}/{digest}"


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidBlobKey(f"not a blob key: {key[:80]!r}")
    return key


class FileBlobStore:
    """Blobs as files under ``root``; file I/O runs in a thread so the event loop never waits on the disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    async def put(self, data: bytes, *, content_type: str) -> str:
        key = blob_key(data)
        await asyncio.to_thread(self._write_once, self._path(key), data)
        return key

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self._probe)
        except OSError as err:
            raise BlobStoreUnavailable(f"cannot write to {self.root}: {err.strerror or err}") from err

    async def aclose(self) -> None:
        return None

    def _probe(self) -> None:
        """Create, write and remove a tiny file in the store's directory."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=".probe-")
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
            Path(name).unlink(missing_ok=True)

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        if path.is_file():
            return  # content-addressed: the bytes there are these bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside and rename, so a reader (or a crash) never sees half a file.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
