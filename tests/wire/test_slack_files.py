"""A person's image in Slack, fetched as a reference over the wire: the real Slack client against the fake
Slack, files.info, then url_private with the bot token. Every way it can go wrong is a typed error with a
message fit to show the person."""

from __future__ import annotations

import io
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from bot.errors import ConfigurationError, Outage, UserInputError
from bot.slack_client import SlackClient, build_client
from bot.slack_files import (
    FileGone,
    FileNotVisible,
    FileRef,
    FileTooLarge,
    NoImageInMessage,
    NotAnImage,
    UndecodableImage,
    UnusableFile,
    fetch_image_file,
    image_in_message,
)
from bot.tiers import Size
from fakes.slack import FakeSlack, Fault, serve_fake_slack

CHANNEL, ALICE = "C0GENERAL", "U0ALICE"
MAX_PIXELS = 64_000_000
MB = 1024 * 1024


def png(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes whose header claims 10 gigapixels."""
    data = bytearray(png((1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with serve_fake_slack() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> SlackClient:
    assert fake.base_url is not None
    return build_client(fake.bot_token, fake.base_url, timeout=10)


async def shared(fake: FakeSlack, name: str, data: bytes, channel: str = CHANNEL, **kwargs: int) -> FileRef:
    """Alice attaches a file to a message; the ref a shortcut on that message gives."""
    message = await fake.user_upload_file(ALICE, channel, name, data, text="our packshot", **kwargs)
    payload = {"channel": {"id": channel}, "message": fake.state.message_json(message)}
    return image_in_message(payload)


async def refused(client: SlackClient, ref: FileRef, **kwargs: int) -> UnusableFile:
    with pytest.raises(UnusableFile) as caught:
        await fetch_image_file(client, ref, max_pixels=MAX_PIXELS, **kwargs)
    assert isinstance(caught.value, UserInputError)
    assert caught.value.message and "Traceback" not in caught.value.message
    return caught.value


def downloads(fake: FakeSlack) -> list[dict[str, object]]:
    return fake.calls_for("url_private")


async def test_a_png_in_the_message_is_fetched_with_the_bot_token(
    fake: FakeSlack, client: SlackClient
) -> None:
    data = png((640, 480))
    ref = await shared(fake, "packshot.png", data)
    assert ref.channel_id == CHANNEL and ref.name == "packshot.png"

    image = await fetch_image_file(client, ref, max_pixels=MAX_PIXELS)

    assert image.data == data
    assert image.byte_size == len(data)
    assert image.content_type == "image/png"
    assert image.size == Size(640, 480)
    assert image.name == "packshot.png"
    assert fake.calls_for("files.info")[-1]["file"] == ref.file_id
    assert downloads(fake) == [{"file": ref.file_id, "authorized": True}]


async def test_a_jpeg_and_a_webp_work_too(fake: FakeSlack, client: SlackClient) -> None:
    for fmt, ctype in (("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        buffer = io.BytesIO()
        Image.new("RGB", (30, 20), (1, 2, 3)).save(buffer, format=fmt)
        ref = await shared(fake, f"x.{fmt.lower()}", buffer.getvalue())
        image = await fetch_image_file(client, ref, max_pixels=MAX_PIXELS)
        assert (image.content_type, image.size) == (ctype, Size(30, 20))


async def test_a_pdf_is_not_an_image(fake: FakeSlack, client: SlackClient) -> None:
    message = await fake.user_upload_file(ALICE, CHANNEL, "brief.pdf", PDF)
    payload = {"channel": {"id": CHANNEL}, "message": fake.state.message_json(message)}
    with pytest.raises(NoImageInMessage, match="only PDF, not an image"):
        image_in_message(payload)
    # Asked for directly (another client's payload named it), files.info's type refuses it undownloaded.
    file_id = message.files[0]
    err = await refused(client, FileRef(file_id, CHANNEL))
    assert isinstance(err, NotAnImage) and "PDF" in err.message
    assert downloads(fake) == []


async def test_a_message_without_files_says_so(fake: FakeSlack) -> None:
    message = await fake.user_post_message(ALICE, CHANNEL, "no picture here")
    with pytest.raises(NoImageInMessage, match="no file"):
        image_in_message({"channel": {"id": CHANNEL}, "message": fake.state.message_json(message)})


async def test_a_60_mb_file_is_refused_from_files_info_without_downloading(
    fake: FakeSlack, client: SlackClient
) -> None:
    ref = await shared(fake, "huge.png", png(), padding=60 * MB)
    err = await refused(client, ref, max_bytes=20 * MB)
    assert isinstance(err, FileTooLarge)
    assert "60 MB" in err.message and "20 MB" in err.message
    assert downloads(fake) == []


async def test_a_file_larger_than_files_info_says_is_cut_off_while_streaming(
    fake: FakeSlack, client: SlackClient
) -> None:
    ref = await shared(fake, "liar.png", png(), padding=60 * MB, reported_size=1000)
    fake.faults.put(Fault(target="url_private", kind="chunked"))  # no Content-Length either
    started = time.monotonic()
    err = await refused(client, ref, max_bytes=2 * MB)
    assert isinstance(err, FileTooLarge)
    assert "is larger than that" in err.message and "2 MB" in err.message  # counted, not declared
    assert len(downloads(fake)) == 1
    assert time.monotonic() - started < 5


async def test_a_declared_content_length_over_the_limit_stops_the_download(
    fake: FakeSlack, client: SlackClient
) -> None:
    ref = await shared(fake, "liar.png", png(), padding=60 * MB, reported_size=1000)
    err = await refused(client, ref, max_bytes=2 * MB)
    assert isinstance(err, FileTooLarge) and "60 MB" in err.message


async def test_a_decompression_bomb_is_refused_by_its_header(fake: FakeSlack, client: SlackClient) -> None:
    bomb = bomb_png()
    assert len(bomb) < 200
    ref = await shared(fake, "bomb.png", bomb)
    err = await refused(client, ref)
    assert isinstance(err, UndecodableImage)
    assert "too large" in err.message and "64 megapixels" in err.message


async def test_an_unknown_file_is_not_visible(client: SlackClient) -> None:
    err = await refused(client, FileRef("F0NOSUCHFILE", CHANNEL))
    assert isinstance(err, FileNotVisible) and "add me to the channel" in err.message


async def test_a_file_in_a_channel_the_bot_is_not_in(fake: FakeSlack, client: SlackClient) -> None:
    fake.state.add_channel("C0SECRET", "secret", is_private=True, members=[ALICE])
    ref = await shared(fake, "secret.png", png(), channel="C0SECRET")
    err = await refused(client, ref)
    assert isinstance(err, FileNotVisible)
    assert fake.calls_for("files.info")  # Slack said file_not_found
    assert downloads(fake) == []


async def test_a_file_shared_elsewhere_than_the_shortcut_channel(
    fake: FakeSlack, client: SlackClient
) -> None:
    fake.state.add_channel("C0OTHER", "other")
    ref = await shared(fake, "elsewhere.png", png())
    err = await refused(client, FileRef(ref.file_id, "C0OTHER"))
    assert isinstance(err, FileNotVisible)
    assert downloads(fake) == []


async def test_a_deleted_file(fake: FakeSlack, client: SlackClient) -> None:
    ref = await shared(fake, "gone.png", png())
    fake.state.delete_file(ref.file_id)
    err = await refused(client, ref)
    assert isinstance(err, FileGone) and "deleted or has expired" in err.message
    # The message now shows a tombstone: the shortcut on it says the same before calling Slack.
    message = fake.messages(CHANNEL)[-1]
    with pytest.raises(FileGone):
        image_in_message({"channel": {"id": CHANNEL}, "message": fake.state.message_json(message)})


async def test_a_file_that_expires_between_files_info_and_the_download(
    fake: FakeSlack, client: SlackClient
) -> None:
    ref = await shared(fake, "expiring.png", png())
    fake.faults.put(Fault(target="url_private", status=404, error="file_not_found"))
    err = await refused(client, ref)
    assert isinstance(err, FileGone)


async def test_a_refused_download_is_no_access(fake: FakeSlack, client: SlackClient) -> None:
    ref = await shared(fake, "locked.png", png())
    fake.faults.put(Fault(target="url_private", status=403, error="not_allowed"))
    assert isinstance(await refused(client, ref), FileNotVisible)
    fake.faults.put(Fault(target="url_private", body=b"<html>Sign in</html>", content_type="text/html"))
    assert isinstance(await refused(client, ref), FileNotVisible)


async def test_slack_5xx_on_files_info_is_an_outage(fake: FakeSlack, client: SlackClient) -> None:
    ref = await shared(fake, "ok.png", png())
    fake.faults.put(Fault(target="files.info", status=503, times=None))
    with pytest.raises(Outage) as caught:
        await fetch_image_file(client, ref, max_pixels=MAX_PIXELS)
    assert caught.value.dependency == "Slack"
    assert not isinstance(caught.value, UserInputError)


async def test_slack_5xx_on_the_download_is_an_outage(fake: FakeSlack, client: SlackClient) -> None:
    ref = await shared(fake, "ok.png", png())
    fake.faults.put(Fault(target="url_private", status=502))
    with pytest.raises(Outage):
        await fetch_image_file(client, ref, max_pixels=MAX_PIXELS)


async def test_a_wrong_bot_token_is_a_configuration_error(fake: FakeSlack) -> None:
    assert fake.base_url is not None
    ref = await shared(fake, "ok.png", png())
    with pytest.raises(ConfigurationError, match="files:read"):
        await fetch_image_file(build_client("xoxb-wrong", fake.base_url), ref, max_pixels=MAX_PIXELS)


async def test_the_token_goes_only_to_slack(fake: FakeSlack, client: SlackClient) -> None:
    """A files.info answer pointing the download at another host does not get the bot token: refused
    before any connection (an attempt at the unreachable host would be an Outage instead)."""
    ref = await shared(fake, "ok.png", png())
    file = (await client.files_info(file=ref.file_id))["file"]
    file["url_private_download"] = file["url_private"] = "https://collector.invalid/ok.png"
    body = json.dumps({"ok": True, "file": file}).encode()
    fake.faults.put(Fault(target="files.info", status=200, body=body, content_type="application/json"))
    err = await refused(client, ref)
    assert isinstance(err, FileNotVisible)
    assert downloads(fake) == []


async def test_the_first_image_of_several_files_is_picked() -> None:
    payload = {
        "channel": {"id": CHANNEL},
        "message": {
            "files": [
                {"id": "F1", "mimetype": "application/pdf", "filetype": "pdf", "pretty_type": "PDF"},
                {"id": "F2", "mode": "tombstone"},
                {"id": "F3", "mimetype": "image/png", "filetype": "png", "name": "a.png"},
                {"id": "F4", "mimetype": "image/jpeg", "filetype": "jpg"},
            ]
        },
    }
    assert image_in_message(payload) == FileRef("F3", CHANNEL, "a.png")
    hidden = {
        "channel": {"id": CHANNEL},
        "message": {"files": [{"id": "F9", "file_access": "check_file_info"}]},
    }
    assert image_in_message(hidden).file_id == "F9"  # files.info decides
