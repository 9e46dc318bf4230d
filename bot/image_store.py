"""The image store the settings name (``DRAFTBOT_BLOB_URL``), with its problems as configuration errors."""

from __future__ import annotations

from bot.config import Settings
from bot.errors import ConfigurationError
from storage.blobs import BlobStore, BlobStoreUnavailable, blob_store_for

BLOB_URL = "DRAFTBOT_BLOB_URL"


def blob_store(settings: Settings) -> BlobStore:
    """Files under DRAFTBOT_DATA_DIR/blobs, or the bucket of DRAFTBOT_BLOB_URL (not contacted yet)."""
    try:
        return blob_store_for(settings.blob_url, settings.blob_dir)
    except BlobStoreUnavailable as err:
        raise ConfigurationError(f"{BLOB_URL}: {err.message}") from err


async def open_blob_store(settings: Settings) -> BlobStore:
    """:func:`blob_store`, checked (:func:`check_blob_store`); closed again if the check fails."""
    blobs = blob_store(settings)
    try:
        await check_blob_store(blobs, settings)
    except BaseException:
        await blobs.aclose()
        raise
    return blobs


async def check_blob_store(blobs: BlobStore, settings: Settings) -> None:
    """Raise a :class:`ConfigurationError` naming DRAFTBOT_BLOB_URL unless images can be stored now."""
    try:
        await blobs.check()
    except BlobStoreUnavailable as err:
        if settings.blob_url:
            raise ConfigurationError(f"{BLOB_URL}={settings.blob_url} cannot be used: {err.message}") from err
        raise ConfigurationError(
            f"the image store cannot be used ({BLOB_URL} is unset, so images are files under "
            f"DRAFTBOT_DATA_DIR): {err.message}"
        ) from err
