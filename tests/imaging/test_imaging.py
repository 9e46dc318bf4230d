"""bot.imaging: safe decoding, exact fitting, encoding under the tier ceilings, sheets and the pool."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import resource
import struct
import threading
import time
import zlib
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from bot import imaging
from bot.destinations import ImageFormat
from bot.errors import UserInputError
from bot.imaging import BadImage, FitReport, ImagingPool
from bot.tiers import Ratio, Size, Tier, local_size

# --- helpers -----------------------------------------------------------------------------------------


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def jpeg(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A real 1×1 PNG whose header says ``width``×``height``: a few bytes that look like a huge image."""
    data = bytearray(png_bytes(Image.new("L", (1, 1))))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def detailed(size: Size) -> Image.Image:
    """A noise-heavy RGB image: the worst case for JPEG, like fine foliage or film grain."""
    wh = (size.width, size.height)
    return Image.merge("RGB", [Image.effect_noise(wh, sigma) for sigma in (60, 40, 70)])


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


# --- decode ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_sniff_names_the_mime_type_from_the_bytes(fmt: str, mime: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buf, fmt)
    assert imaging.sniff(buf.getvalue()) == mime


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\0\0\0\x18ftypheic\0\0\0\0", "image/heic"),
        (b"\0\0\0\x18ftypmif1\0\0\0\0", "image/heif"),
        (b"", None),
        (b"RIFF", None),
        (b"not an image", None),
        (b"BM" + bytes(60), None),  # BMP: Pillow reads it, but no provider takes it as it is
    ],
)
def test_sniff_knows_heic_and_says_none_for_anything_else(data: bytes, mime: str | None) -> None:
    assert imaging.sniff(data) == mime


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>", bytes(range(256)) * 4],
    ids=["empty", "text", "svg", "binary"],
)
def test_decode_refuses_non_images(data: bytes) -> None:
    with pytest.raises(BadImage, match="isn't an image I can read"):
        imaging.decode(data, max_pixels=10_000_000)


def test_bad_image_is_a_user_input_error() -> None:
    assert issubclass(BadImage, UserInputError)


def test_decode_refuses_a_truncated_jpeg() -> None:
    data = jpeg(detailed(Size(256, 256)), quality=90)
    with pytest.raises(BadImage, match="truncated or damaged"):
        imaging.decode(data[: len(data) // 2], max_pixels=10_000_000)


def test_decode_refuses_a_truncated_png() -> None:
    data = png_bytes(detailed(Size(128, 128)))
    with pytest.raises(BadImage, match="truncated or damaged"):
        imaging.decode(data[: len(data) // 2], max_pixels=10_000_000)


def test_decode_refuses_a_bomb_from_its_header_without_decoding_it() -> None:
    data = png_claiming(30000, 30000)  # 900 MP: gigabytes if anyone decoded it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BadImage, match="too large") as err:
        imaging.decode(data, max_pixels=64_000_000)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024
    assert "900 megapixels" in str(err.value) and "64 megapixels" in str(err.value)


def test_our_pixel_limit_holds_without_pillows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(BadImage, match=r"30000×30000 pixels, the limit is 64 megapixels"):
        imaging.decode(png_claiming(30000, 30000), max_pixels=64_000_000)


def test_our_pixel_limit_is_stricter_than_pillows() -> None:
    data = png_claiming(9000, 9000)  # 81 MP: under Pillow's default warning level, over ours
    with pytest.raises(BadImage, match="9000×9000"):
        imaging.decode(data, max_pixels=64_000_000)
    with pytest.raises(BadImage, match="2000×2000"):
        imaging.decode(png_claiming(2000, 2000), max_pixels=1_000_000)


def test_decode_applies_exif_orientation() -> None:
    img = Image.new("RGB", (40, 20), "red")
    img.paste((0, 0, 255), (0, 0, 10, 20))  # blue on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = jpeg(img, exif=exif, quality=95)
    out = imaging.decode(data, max_pixels=10_000)
    assert out.size == (20, 40)
    r, _, b = out.getpixel((10, 2))  # type: ignore[misc]
    assert b > 200 and r < 80  # the left edge is now on top
    assert imaging.measure(data) == (Size(20, 40), "JPEG")


def test_decode_gives_rgb_or_rgba() -> None:
    assert imaging.decode(png_bytes(Image.new("L", (8, 8), 128)), max_pixels=100).mode == "RGB"
    assert imaging.decode(png_bytes(Image.new("LA", (8, 8), (128, 0))), max_pixels=100).mode == "RGBA"
    palette = Image.new("P", (8, 8), 0)
    palette.info["transparency"] = 0
    assert imaging.decode(png_bytes(palette), max_pixels=100).mode == "RGBA"
    sixteen = Image.new("I;16", (8, 8), 30000)  # about 46% grey, not clipped to white
    grey = imaging.decode(png_bytes(sixteen), max_pixels=100).getpixel((0, 0))
    assert grey == (117, 117, 117)


def test_decode_keeps_a_good_image() -> None:
    img = detailed(Size(64, 48))
    out = imaging.decode(png_bytes(img), max_pixels=64 * 48)  # exactly at the limit is fine
    assert out.size == (64, 48) and out.mode == "RGB"
    assert ImageChops.difference(out, img).getbbox() is None


def test_measure_reads_the_header_only() -> None:
    assert imaging.measure(png_claiming(9000, 9000)) == (Size(9000, 9000), "PNG")
    with pytest.raises(BadImage):
        imaging.measure(b"nope")


# --- fit ---------------------------------------------------------------------------------------------

WIDE = Size(1280, 720)
TALL = Size(720, 1280)


@pytest.mark.parametrize(
    ("source", "target", "action", "kept"),
    [
        (Size(1536, 1024), WIDE, "cropped", Size(1536, 864)),  # 3:2 is taller than 16:9: rows go
        (Size(3000, 1000), WIDE, "cropped", Size(1778, 1000)),  # 3:1 is wider: columns go
        (Size(1024, 1024), TALL, "cropped", Size(576, 1024)),
        (Size(2560, 1440), WIDE, "resized", None),  # same ratio
        (Size(640, 360), WIDE, "resized", None),  # same ratio, upscaled
        (Size(1280, 720), WIDE, "none", None),
    ],
)
def test_fit_cover(source: Size, target: Size, action: str, kept: Size | None) -> None:
    img = Image.new("RGB", (source.width, source.height), "teal")
    out, report = imaging.fit(img, target, mode="cover")
    assert out.size == (target.width, target.height)
    assert report.source == source and report.target == target and report.action == action
    if kept is None:
        assert report.crop_box is None
    else:
        assert report.crop_box is not None
        left, top, right, bottom = report.crop_box
        assert Size(right - left, bottom - top) == kept
        # centred: what is cut off is split evenly
        assert abs(left - (source.width - right)) <= 1 and abs(top - (source.height - bottom)) <= 1
    assert report.pad is None


def test_fit_cover_keeps_the_centre() -> None:
    img = Image.new("RGB", (300, 100), "black")
    img.paste((255, 0, 0), (100, 0, 200, 100))  # red centre square, black sides
    out, report = imaging.fit(img, Size(100, 100))
    assert report.crop_box == (100, 0, 200, 100) and report.action == "cropped"
    assert out.getpixel((0, 50)) == (255, 0, 0) and out.getpixel((99, 50)) == (255, 0, 0)


def test_fit_returns_the_same_image_when_nothing_is_needed() -> None:
    img = Image.new("RGB", (1280, 720), "white")
    out, report = imaging.fit(img, WIDE)
    assert out is img and report == FitReport(WIDE, WIDE, "none")
    assert report.describe() == "kept 1280×720 as delivered"


@pytest.mark.parametrize(
    ("source", "target", "pad"),
    [
        (Size(1024, 1024), WIDE, (280, 0, 280, 0)),
        (Size(1000, 500), TALL, (0, 460, 0, 460)),  # 2:1 into 9:16: bands above and below
        (Size(720, 720), WIDE, (280, 0, 280, 0)),  # no resampling, only padding
    ],
)
def test_fit_contain(source: Size, target: Size, pad: tuple[int, int, int, int]) -> None:
    img = Image.new("RGB", (source.width, source.height), (200, 40, 40))
    out, report = imaging.fit(img, target, mode="contain")
    assert out.size == (target.width, target.height)
    assert report.action == "padded" and report.pad == pad and report.crop_box is None
    assert (report.scaled_to is None) == (source.width in (target.width, target.height))
    # the pad continues the picture's own edge colour
    assert out.getpixel((0, 0)) == (200, 40, 40)


def test_fit_contain_pads_rgba_with_transparency() -> None:
    img = Image.new("RGBA", (100, 100), (10, 20, 30, 255))
    out, report = imaging.fit(img, Size(200, 100), mode="contain")
    assert out.mode == "RGBA" and report.pad == (50, 0, 50, 0)
    assert out.getpixel((0, 0)) == (0, 0, 0, 0) and out.getpixel((100, 50)) == (10, 20, 30, 255)


def test_fit_contain_pad_colour_is_the_edge_average() -> None:
    img = Image.new("RGB", (100, 100), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 4, 99), fill=(0, 0, 200))  # blue left edge
    draw.rectangle((95, 0, 99, 99), fill=(0, 200, 0))  # green right edge
    out, _ = imaging.fit(img, Size(200, 100), mode="contain")
    assert out.getpixel((0, 50)) == (0, 100, 100)


def test_fit_report_describes_what_happened() -> None:
    img = Image.new("RGB", (1536, 1024))
    _, report = imaging.fit(img, WIDE)
    assert report.describe() == "cropped 1536×1024 (3:2) to 1536×864 (16:9), centred, and resized to 1280×720"
    _, report = imaging.fit(Image.new("RGB", (1024, 1024)), WIDE, mode="contain")
    assert report.describe() == (
        "resized 1024×1024 (1:1) to 720×720 and padded it to 1280×720 (16:9): 280+280 px left/right"
    )
    _, report = imaging.fit(Image.new("RGB", (640, 360)), WIDE)
    assert report.describe() == "upscaled 640×360 to 1280×720"


def test_fit_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="fit mode"):
        imaging.fit(Image.new("RGB", (10, 20)), Size(20, 10), mode="stretch")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        imaging.fit(Image.new("RGB", (10, 20)), Size(0, 10))


@pytest.mark.parametrize(
    ("size", "label"),
    [
        (Size(1920, 1080), "16:9"),
        (Size(1008, 432), "21:9"),
        (Size(1000, 1000), "1:1"),
        (Size(1850, 1000), "1.85:1"),
    ],
)
def test_ratio_label(size: Size, label: str) -> None:
    assert imaging.ratio_label(size) == label


# --- encode ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", list(Tier))
def test_jpeg_fits_each_tier_ceiling_at_the_best_quality(tier: Tier) -> None:
    size = local_size(Ratio(16, 9), tier)
    img = detailed(size)
    encoded = imaging.encode(img, ImageFormat.JPEG, ceiling_bytes=tier.jpeg_ceiling_bytes)
    assert len(encoded.data) <= tier.jpeg_ceiling_bytes
    assert encoded.quality is not None and 35 <= encoded.quality <= 95
    # noise this heavy never fits at 95, and the next quality up must not fit either
    assert encoded.quality < 95
    next_up = imaging.jpeg_bytes(img, encoded.quality + 1)
    assert next_up is None or len(next_up) > tier.jpeg_ceiling_bytes  # None: bigger than the raw pixels
    assert encoded.size == size and encoded.format is ImageFormat.JPEG
    assert encoded.content_type == "image/jpeg"
    assert encoded.sha256 == hashlib.sha256(encoded.data).hexdigest()
    assert imaging.measure(encoded.data) == (size, "JPEG")


def test_jpeg_uses_top_quality_when_it_fits() -> None:
    smooth = Image.linear_gradient("L").resize((1024, 576)).convert("RGB")
    encoded = imaging.encode(smooth, ImageFormat.JPEG, ceiling_bytes=Tier.EXPLORE.jpeg_ceiling_bytes)
    assert encoded.quality == 95


@pytest.mark.parametrize("tier", list(Tier))
def test_an_image_that_fits_at_the_top_quality_is_encoded_once_as_a_baseline_jpeg(
    tier: Tier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small images (no sample to estimate from) and sampled large ones alike: one full encode when 95
    fits; and not progressive (Slack draws its own previews; progressive doubled the encode time)."""
    size = local_size(Ratio(9, 16), tier)
    smooth = Image.linear_gradient("L").resize((size.width, size.height)).convert("RGB")
    encoding = importlib.import_module("bot.imaging.encode")  # bot.imaging.encode is also a function
    full, plain = [], encoding.jpeg_bytes

    def counting(img: Image.Image, quality: int, **options: Any) -> bytes | None:
        if img.size == smooth.size:
            full.append(quality)
        return plain(img, quality, **options)

    monkeypatch.setattr(encoding, "jpeg_bytes", counting)
    encoded = imaging.encode(smooth, ImageFormat.JPEG, ceiling_bytes=tier.jpeg_ceiling_bytes)
    assert encoded.quality == 95 and full == [95]
    with Image.open(io.BytesIO(encoded.data)) as img:
        assert not img.info.get("progressive") and not img.info.get("progression")


def test_fit_scales_up_with_bicubic_and_down_with_lanczos() -> None:
    img = detailed(Size(300, 200))
    up, _ = imaging.fit(img, Size(330, 220))
    down, _ = imaging.fit(img, Size(150, 100))
    assert ImageChops.difference(up, img.resize((330, 220), Image.Resampling.BICUBIC)).getbbox() is None
    assert ImageChops.difference(down, img.resize((150, 100), Image.Resampling.LANCZOS)).getbbox() is None


def test_jpeg_with_an_impossible_ceiling_is_a_developer_error() -> None:
    with pytest.raises(ValueError, match="ceiling is unrealistic"):
        imaging.encode(detailed(Size(512, 512)), ImageFormat.JPEG, ceiling_bytes=5_000)


def test_jpeg_flattens_transparency_onto_white() -> None:
    img = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    img.paste((0, 0, 0, 255), (0, 0, 32, 64))
    encoded = imaging.encode(img, ImageFormat.JPEG, ceiling_bytes=100_000)
    out = Image.open(io.BytesIO(encoded.data))
    assert out.mode == "RGB"
    assert all(v > 245 for v in out.getpixel((60, 32)))  # type: ignore[union-attr]
    assert all(v < 10 for v in out.getpixel((4, 32)))  # type: ignore[union-attr]


def test_png_keeps_alpha() -> None:
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((8, 8, 56, 56), fill=(200, 30, 90, 255))
    encoded = imaging.encode(img, ImageFormat.PNG, ceiling_bytes=1)  # no ceiling for lossless PNG
    assert encoded.content_type == "image/png" and encoded.quality is None
    out = Image.open(io.BytesIO(encoded.data))
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0))[3] == 0 and out.getpixel((32, 32)) == (200, 30, 90, 255)  # type: ignore[index]
    assert imaging.measure(encoded.data) == (Size(64, 64), "PNG")


# --- thumbnail and contact sheet ---------------------------------------------------------------------


def test_thumbnail_keeps_ratio_and_never_upscales() -> None:
    assert imaging.thumbnail(Image.new("RGB", (4000, 1000)), 512).size == (512, 128)
    assert imaging.thumbnail(Image.new("RGB", (900, 1600)), 400).size == (225, 400)
    small = Image.new("RGB", (100, 50))
    thumb = imaging.thumbnail(small, 512)
    assert thumb.size == (100, 50) and thumb is not small


def _badge_is_drawn(sheet: Image.Image, x: int, y: int) -> bool:
    """The badge is a white pill near the cell's top-left corner, on a dark-blue test image."""
    region = sheet.crop((x, y, x + 70, y + 70)).convert("L")
    return ImageStat.Stat(region).extrema[0][1] > 240


def test_contact_sheet_grid_and_numbering() -> None:
    variants = [Image.new("RGB", (1024, 576), (20, 30, 90)) for _ in range(4)]
    sheet = imaging.contact_sheet(variants)
    gutter = 512 // 20
    # four 16:9 variants make a 2×2 grid of 512×288 cells with gutters around them
    assert sheet.size == (2 * 512 + 3 * gutter, 2 * 288 + 3 * gutter)
    assert sheet.mode == "RGB"
    cells = [(gutter + c * (512 + gutter), gutter + r * (288 + gutter)) for r in range(2) for c in range(2)]
    assert all(_badge_is_drawn(sheet, x, y) for x, y in cells)
    # each badge carries its own number
    badges = [sheet.crop((x, y, x + 70, y + 70)) for x, y in cells]
    assert len({b.tobytes() for b in badges}) == 4
    # the background between cells is neutral grey
    r, g, b = sheet.getpixel((gutter // 2, gutter // 2))  # type: ignore[misc]
    assert abs(r - g) <= 3 and abs(g - b) <= 3


def test_contact_sheet_columns_and_labels() -> None:
    tall = [Image.new("RGB", (576, 1024), "white") for _ in range(3)]
    sheet = imaging.contact_sheet(tall, columns=3, cell_long_edge=256, labels=["A", "B", "C"])
    gutter = max(8, 256 // 20)
    assert sheet.size == (3 * 144 + 4 * gutter, 256 + 2 * gutter)
    with pytest.raises(ValueError, match="labels"):
        imaging.contact_sheet(tall, labels=["A"])
    with pytest.raises(ValueError):
        imaging.contact_sheet([])


def test_contact_sheet_shows_transparency_on_a_checkerboard() -> None:
    sticker = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    sheet = imaging.contact_sheet([sticker], cell_long_edge=256)
    gutter = max(8, 256 // 20)
    corner = sheet.crop((gutter + 200, gutter + 200, gutter + 256, gutter + 256)).convert("L")
    low, high = ImageStat.Stat(corner).extrema[0]
    assert low >= 190 and high > low  # light checks, not the dark sheet background


# --- pool --------------------------------------------------------------------------------------------


async def test_pool_bounds_concurrency_and_keeps_the_loop_free() -> None:
    pool = ImagingPool(2)
    lock = threading.Lock()
    running = 0
    peak = 0

    def job(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)  # stands in for CPU work in C, which releases the GIL
        with lock:
            running -= 1
        return n * n

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(*(pool.run(job, n) for n in range(8)))
    finally:
        tick_task.cancel()
        pool.close()
    assert results == [n * n for n in range(8)]
    assert peak == 2
    assert ticks >= 10  # about 0.2 s of jobs: the loop kept running meanwhile


async def test_pool_passes_keywords_and_errors() -> None:
    pool = ImagingPool(1)
    try:
        img = await pool.run(imaging.thumbnail, Image.new("RGB", (400, 200)), max_edge=100)
        assert img.size == (100, 50)
        with pytest.raises(BadImage):
            await pool.run(imaging.decode, b"nope", max_pixels=10)
    finally:
        pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        await pool.run(imaging.thumbnail, img, 10)


def test_pool_needs_a_thread() -> None:
    with pytest.raises(ValueError):
        ImagingPool(0)
