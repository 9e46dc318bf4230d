"""The team's own images: a file from a Slack message, fetched once, checked, and kept in the image store
as the reference a draft's first round is made from ("Draft from this image")."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_files import FileRef, fetch_image_file
from bot.tiers import Size
from storage.blobs import BlobStore


@dataclass(frozen=True)
class StoredReference:
    """A person's image in the image store: what a draft made from it keeps."""

    key: str
    content_type: str
    file_id: str
    name: str
    size: Size


class Uploads:
    def __init__(self, blobs: BlobStore, *, max_pixels: int) -> None:
        self.blobs = blobs
        self.max_pixels = max_pixels

    async def fetch(self, client: AsyncWebClient, ref: FileRef) -> StoredReference:
        """Fetch and store the file; :class:`bot.slack_files.UnusableFile` says, to the person, why not."""
        image = await fetch_image_file(client, ref, max_pixels=self.max_pixels)
        key = await self.blobs.put(image.data, content_type=image.content_type)
        return StoredReference(key, image.content_type, image.file_id, image.name, image.size)
