"""A person's image file in Slack, fetched for use as a reference ("Draft from this image").

The path: the shortcut's payload names the message's files (:func:`image_in_message`); ``files.info`` says
what the file is, how big, and where it is shared; ``url_private_download`` gives its bytes, sent only to
Slack with the bot token as ``Authorization: Bearer``; :func:`bot.imaging.decode` refuses what is not an
image, is damaged, or is a decompression bomb. Each step that refuses raises an :class:`UnusableFile`
whose ``message`` can be shown privately to the person; Slack away raises an
:class:`~bot.errors.Outage`, a 429 a :class:`~bot.errors.Transient`.

Sizes are never taken on trust: ``files.info``'s ``size`` turns away a file early, but the download
itself is cut off as soon as it passes the limit, whatever the headers or ``files.info`` said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import imaging
from bot.errors import SLACK, ConfigurationError, Outage, Transient, UserInputError
from bot.imaging.decode import BadImage
from bot.tiers import Size

MAX_FILE_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_IMAGE_FILETYPES = frozenset({"png", "jpg", "jpeg", "webp", "gif"})
_SLACK_FILE_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com", "slack-gov.com")


class UnusableFile(UserInputError):
    """A file a person pointed at cannot be used as a reference; ``message`` says why, to them."""

    def __init__(self, message: str, *, file_id: str | None = None) -> None:
        super().__init__(message)
        self.file_id = file_id


class NoImageInMessage(UnusableFile):
    """The message the shortcut was used on carries no image file."""


class NotAnImage(UnusableFile):
    """The file is something else (a PDF, a text file), or an image format we do not take."""


class FileTooLarge(UnusableFile):
    """The file is over the byte limit (by what Slack says, or by what the download turned out to be)."""


class FileNotVisible(UnusableFile):
    """The bot cannot see the file: ``file_not_found``, no access, or not shared in this channel."""


class FileGone(UnusableFile):
    """The file was deleted or has expired."""


class UndecodableImage(UnusableFile):
    """The bytes are not an image we will decode: damaged, or too many pixels (a decompression bomb)."""


@dataclass(frozen=True)
class FileRef:
    """A file named by a message-shortcut payload, and the channel the shortcut was used in."""

    file_id: str
    channel_id: str | None
    name: str = ""


@dataclass(frozen=True)
class ReferenceFile:
    """A downloaded, decoded-once image: its bytes as Slack had them, their sniffed type, their size."""

    file_id: str
    name: str
    data: bytes
    content_type: str
    size: Size  # pixels, as displayed (EXIF rotation applied)

    @property
    def byte_size(self) -> int:
        return len(self.data)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.0f} KB"


def _too_large(file_id: str, limit: int, size: int | None = None) -> FileTooLarge:
    what = f"is {_mb(size)}" if size is not None else "is larger than that"
    return FileTooLarge(
        f"That file {what}; I can use images up to {_mb(limit)}. Try a smaller export.", file_id=file_id
    )


def _not_visible(file_id: str) -> FileNotVisible:
    return FileNotVisible(
        "I can't see that file. It may be in a channel I'm not in, or shared only privately: "
        "add me to the channel where it was shared and try again.",
        file_id=file_id,
    )


def _gone(file_id: str) -> FileGone:
    return FileGone(
        "That file was deleted or has expired, so I can't use it. Upload it again and try once more.",
        file_id=file_id,
    )


def _is_image_item(item: Mapping[str, Any]) -> bool:
    mimetype = str(item.get("mimetype") or "")
    filetype = str(item.get("filetype") or "")
    return mimetype in IMAGE_TYPES or (not mimetype and filetype in _IMAGE_FILETYPES)


def image_in_message(payload: Mapping[str, Any]) -> FileRef:
    """The first image file of a message shortcut's message (``message.files[]``) and the channel.

    Raises :class:`NoImageInMessage` when it has none (and :class:`FileGone` when its only images were
    deleted). A file Slack lists without its type (``file_access: check_file_info``) is taken at its
    word only when no file says it is an image: files.info decides then.
    """
    message = payload.get("message")
    channel = payload.get("channel")
    channel_id = str(channel["id"]) if isinstance(channel, Mapping) and channel.get("id") else None
    items = message.get("files") if isinstance(message, Mapping) else None
    files = [f for f in items if isinstance(f, Mapping) and f.get("id")] if isinstance(items, list) else []
    live = [f for f in files if f.get("mode") not in ("tombstone", "hidden_by_limit")]
    chosen = next((f for f in live if _is_image_item(f)), None)
    if chosen is None:
        chosen = next((f for f in live if not f.get("mimetype") and not f.get("filetype")), None)
    if chosen is None:
        if files and not live:
            raise _gone(str(files[0]["id"]))
        kinds = sorted({str(f.get("pretty_type") or f.get("filetype") or "file") for f in live})
        carries = f"only {', '.join(kinds)}" if kinds else "no file"
        raise NoImageInMessage(
            f"That message has {carries}, not an image. Use “Draft from this image” on a message with a "
            "PNG, JPEG, WebP or GIF attached."
        )
    return FileRef(str(chosen["id"]), channel_id, str(chosen.get("name") or ""))


def _shared_in(file: Mapping[str, Any], channel_id: str) -> bool | None:
    """Whether files.info says the file is shared in ``channel_id``; None when it says nothing of it."""
    shares = file.get("shares")
    lists = [file.get(k) for k in ("channels", "groups", "ims")]
    if not isinstance(shares, Mapping) and not any(isinstance(v, list) for v in lists):
        return None
    if isinstance(shares, Mapping):
        for per_channel in shares.values():
            if isinstance(per_channel, Mapping) and channel_id in per_channel:
                return True
    return any(isinstance(v, list) and channel_id in v for v in lists)


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                return None
    return None


async def _files_info(client: AsyncWebClient, file_id: str) -> Mapping[str, Any]:
    try:
        response = await client.files_info(file=file_id)
    except SlackApiError as err:
        status = err.response.status_code
        error = str(err.response.get("error") or "") if isinstance(err.response.data, dict) else ""
        if status == 429 or error == "ratelimited":
            raise Transient(
                "Slack is rate limiting files.info", retry_after=_retry_after(err.response.headers)
            ) from err
        if status >= 500 or error in ("fatal_error", "internal_error", "service_unavailable"):
            raise Outage(f"Slack answered files.info with HTTP {status}", dependency=SLACK) from err
        if error == "file_deleted":
            raise _gone(file_id) from err
        if error in ("file_not_found", "access_denied", "not_visible"):
            raise _not_visible(file_id) from err
        if error in ("missing_scope", "not_authed", "invalid_auth", "account_inactive", "token_revoked"):
            raise ConfigurationError(
                f"files.info failed with {error}: the bot token needs the files:read scope"
            ) from err
        raise
    except (aiohttp.ClientError, TimeoutError) as err:
        raise Outage(f"Slack could not be reached for files.info: {err!r}", dependency=SLACK) from err
    file = response.get("file")
    if not isinstance(file, Mapping):
        raise Outage("files.info answered without a file", dependency=SLACK)
    return file


def _check_info(file: Mapping[str, Any], ref: FileRef, max_bytes: int) -> str:
    """Refuse what files.info already says is unusable; the URL to download from."""
    file_id = ref.file_id
    if file.get("mode") == "tombstone" or file.get("is_deleted"):
        raise _gone(file_id)
    mimetype = str(file.get("mimetype") or "")
    filetype = str(file.get("filetype") or "")
    if (mimetype or filetype) and not _is_image_item(file):
        kind = str(file.get("pretty_type") or filetype or mimetype)
        raise NotAnImage(
            f"That file is a {kind}, not an image. Use a PNG, JPEG, WebP or GIF.", file_id=file_id
        )
    size = file.get("size")
    if isinstance(size, int) and size > max_bytes:
        raise _too_large(file_id, max_bytes, size)
    if ref.channel_id is not None and _shared_in(file, ref.channel_id) is False:
        raise _not_visible(file_id)
    url = file.get("url_private_download") or file.get("url_private")
    if not isinstance(url, str) or not url:
        raise _not_visible(file_id)
    return url


def _may_carry_token(url: str, api_base_url: str) -> bool:
    """The bot token goes only to Slack: the API's own host (a fake, in tests) or Slack's file hosts."""
    target, api = urlsplit(url), urlsplit(api_base_url)
    if not target.hostname:
        return False
    if (target.scheme, target.hostname, target.port) == (api.scheme, api.hostname, api.port):
        return True
    host = target.hostname.lower()
    return target.scheme == "https" and any(host == h or host.endswith("." + h) for h in _SLACK_FILE_HOSTS)


async def _download(
    http: httpx.AsyncClient, url: str, token: str, file_id: str, max_bytes: int
) -> tuple[bytes, str]:
    """The body at ``url``, cut off past ``max_bytes``; and its declared content type."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with http.stream("GET", url, headers=headers, follow_redirects=False) as response:
            status = response.status_code
            if status == 429:
                raise Transient(
                    "Slack is rate limiting file downloads", retry_after=_retry_after(response.headers)
                )
            if status >= 500:
                raise Outage(f"Slack answered a file download with HTTP {status}", dependency=SLACK)
            if status in (404, 410):
                raise _gone(file_id)
            # Slack answers a download it will not allow with 401/403 or a redirect to its sign-in page.
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if status != 200 or ctype == "text/html":
                raise _not_visible(file_id)
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(file_id, max_bytes, int(declared))
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise _too_large(file_id, max_bytes)
            return bytes(body), ctype
    except httpx.TransportError as err:
        raise Outage(f"Slack could not be reached for a file download: {err!r}", dependency=SLACK) from err


def _decode(data: bytes, file_id: str, max_pixels: int) -> tuple[str, Size]:
    content_type = imaging.sniff(data)
    if content_type not in IMAGE_TYPES:
        raise NotAnImage("That file isn't an image I can use. Try a PNG, JPEG, WebP or GIF.", file_id=file_id)
    try:
        with imaging.decode(data, max_pixels=max_pixels) as img:
            return content_type, Size(*img.size)
    except BadImage as err:
        raise UndecodableImage(err.message, file_id=file_id) from err


async def fetch_image_file(
    client: AsyncWebClient,
    ref: FileRef,
    *,
    max_pixels: int,
    max_bytes: int = MAX_FILE_BYTES,
    http: httpx.AsyncClient | None = None,
    download_timeout: float = 30.0,
) -> ReferenceFile:
    """The image file ``ref`` names, downloaded with the client's bot token and decoded once.

    ``max_pixels`` is the decompression-bomb limit (``Settings.max_reference_pixels``); ``max_bytes``
    the download's.
    ``http`` is the client the download goes through (one is made, with the Slack client's proxy, when
    it is None). Raises an :class:`UnusableFile` subclass for what the person can fix, :class:`Outage`
    or :class:`Transient` when Slack is away or busy, :class:`ConfigurationError` for a token that lacks
    ``files:read``.
    """
    token = client.token
    if not token:
        raise ConfigurationError("the Slack client has no bot token to download files with")
    file = await _files_info(client, ref.file_id)
    url = _check_info(file, ref, max_bytes)
    if not _may_carry_token(url, client.base_url):
        raise _not_visible(ref.file_id)
    if http is None:
        proxy = client.proxy or None
        async with httpx.AsyncClient(timeout=download_timeout, proxy=proxy, trust_env=False) as own:
            data, _ = await _download(own, url, token, ref.file_id, max_bytes)
    else:
        data, _ = await _download(http, url, token, ref.file_id, max_bytes)
    content_type, size = await asyncio.to_thread(_decode, data, ref.file_id, max_pixels)
    name = str(file.get("name") or ref.name)
    return ReferenceFile(ref.file_id, name, data, content_type, size)


__all__ = [
    "IMAGE_TYPES",
    "MAX_FILE_BYTES",
    "FileGone",
    "FileNotVisible",
    "FileRef",
    "FileTooLarge",
    "NoImageInMessage",
    "NotAnImage",
    "ReferenceFile",
    "UndecodableImage",
    "UnusableFile",
    "fetch_image_file",
    "image_in_message",
]
