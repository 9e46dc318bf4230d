"""The local renderer drafting *from* a reference image: its palette and layout carry over, the seed varies
the rest, the headline zone stays clear, and an upgrade still redraws the winner's own picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from bot.destinations import SafeZone
from bot.providers.base import GenerationRequest, ProviderError, Reference, ReferenceUse
from bot.providers.local import LocalProvider, UnreadableReference, compose, read_reference, render
from bot.tiers import Ratio, Size, Tier, local_size

PROMPT = "a matte black water bottle, premium ecommerce hero"
RED, BLUE, DARK, CREAM = (200, 40, 40), (30, 60, 190), (20, 20, 24), (250, 240, 200)
WIDE, TALL, CLASSIC = Ratio(16, 9), Ratio(9, 16), Ratio(4, 3)


def picture(
    size: tuple[int, int] = (800, 600),
    ground: tuple[int, int, int] = RED,
    subject: tuple[int, int, int] = DARK,
    box: tuple[float, float, float, float] = (0.62, 0.3, 0.88, 0.92),
    fmt: str = "PNG",
) -> bytes:
    """A plain ground with one block standing on it, at ``box`` (fractions of the frame)."""
    img = Image.new("RGB", size, ground)
    w, h = size
    img.paste(subject, (round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def mean(img: Image.Image) -> tuple[float, float, float]:
    r, g, b = ImageStat.Stat(img.convert("RGB")).mean[:3]
    return (r, g, b)


def difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def dark_centre_x(img: Image.Image) -> float:
    """Where the dark pixels sit across the picture, 0 (left) .. 1 (right)."""
    grey = img.convert("L").resize((64, 64))
    xs = [k % 64 for k, v in enumerate(grey.tobytes()) if v < 60]
    return (sum(xs) / len(xs) + 0.5) / 64 if xs else 0.5


def request(
    reference: bytes | None,
    *,
    use: ReferenceUse = "explore",
    ratio: Ratio = CLASSIC,
    tier: Tier = Tier.EXPLORE,
    seed: int = 5,
    source: bytes | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        prompt=PROMPT,
        ratio=ratio,
        tier=tier,
        seed=seed,
        size=local_size(ratio, tier),
        references=(Reference.of(reference),) if reference is not None else (),
        reference_use=use,
        upgrade_source=Reference.of(source) if source is not None else None,
    )


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# --- reading a reference -----------------------------------------------------------------------------


def test_a_reference_is_read_into_ground_subject_and_masses() -> None:
    look = read_reference(picture(fmt="JPEG"))
    assert look.aspect == pytest.approx(4 / 3)
    assert look.colours[0] == pytest.approx(RED, abs=6)  # the most pixels first
    assert look.background == pytest.approx(RED, abs=6)
    assert look.subject_colour == pytest.approx(DARK, abs=8)
    assert look.subject == pytest.approx((0.62, 0.3, 0.88, 0.92), abs=0.04)
    # the masses are the ground alone: the subject is drawn as a shape, not as a ghost in the background
    assert all(cell == pytest.approx(RED, abs=12) for row in look.masses for cell in row)
    assert read_reference(picture(fmt="JPEG")) == look  # the bytes decide it all


def test_a_band_on_the_border_is_ground_and_the_light_comes_from_the_bright_side() -> None:
    img = Image.new("RGB", (600, 600), RED)
    img.paste(CREAM, (0, 0, 600, 120))  # a bright sky band
    img.paste(DARK, (60, 300, 240, 560))  # the subject, bottom left
    buf = io.BytesIO()
    img.save(buf, "PNG")
    look = read_reference(buf.getvalue())
    assert look.subject == pytest.approx((0.1, 0.5, 0.4, 0.93), abs=0.04)
    assert look.masses[0][0] == pytest.approx(CREAM, abs=4)
    assert look.light[1] < -0.9  # from above


def test_transparency_reads_as_paper_and_rotation_is_applied() -> None:
    img = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    img.paste((*BLUE, 255), (150, 50, 250, 150))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    look = read_reference(buf.getvalue())
    assert look.subject_colour == pytest.approx(BLUE, abs=4)
    assert look.aspect == 2.0

    turned = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # shot sideways: displayed 600 wide, 800 tall
    Image.open(io.BytesIO(picture())).convert("RGB").save(turned, "JPEG", exif=exif)
    assert read_reference(turned.getvalue()).aspect == pytest.approx(3 / 4)


@pytest.mark.parametrize("data", [b"", b"not an image", picture()[:60]])
def test_unreadable_references_are_refused(data: bytes) -> None:
    with pytest.raises(UnreadableReference):
        read_reference(data)


# --- drafting from it --------------------------------------------------------------------------------


def test_a_red_reference_gives_a_red_draft_and_a_blue_one_a_blue_draft() -> None:
    size = Size(1024, 768)
    red = render(PROMPT, 5, size, reference=picture(ground=RED))
    blue = render(PROMPT, 5, size, reference=picture(ground=BLUE))
    r, g, b = mean(red)
    assert r > 1.8 * g and r > 1.8 * b
    r, g, b = mean(blue)
    assert b > 1.8 * r and b > 1.3 * g
    assert difference(red, blue) > 40
    plain = render(PROMPT, 5, size)  # the prompt alone (matte black...) is another picture altogether
    assert difference(red, plain) > 40


def test_the_same_seed_and_reference_give_the_same_picture_and_seeds_vary_it() -> None:
    size, reference = Size(1024, 768), picture()
    first = render(PROMPT, 5, size, reference=reference)
    assert first.tobytes() == render(PROMPT, 5, size, reference=reference).tobytes()
    others = [render(PROMPT, seed, size, reference=reference) for seed in (6, 7, 8)]
    for other in others:
        assert other.tobytes() != first.tobytes()
        assert mean(other) == pytest.approx(mean(first), abs=25)  # variations, on the same palette
    # another reference of the same colours, another picture
    moved = render(PROMPT, 5, size, reference=picture(box=(0.12, 0.3, 0.38, 0.92)))
    assert moved.tobytes() != first.tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_the_subject_stays_where_the_reference_has_it(seed: int) -> None:
    size = Size(1024, 768)
    right = render(
        PROMPT, seed, size, safe_zone=SafeZone.NONE, reference=picture(box=(0.62, 0.3, 0.88, 0.92))
    )
    left = render(PROMPT, seed, size, safe_zone=SafeZone.NONE, reference=picture(box=(0.12, 0.3, 0.38, 0.92)))
    assert dark_centre_x(right) > 0.6
    assert dark_centre_x(left) < 0.4


@pytest.mark.parametrize("zone", list(SafeZone))
@pytest.mark.parametrize("aspect", [16 / 9, 9 / 16, 1.0, 21 / 9])
def test_a_subject_from_the_reference_never_enters_the_headline_zone(zone: SafeZone, aspect: float) -> None:
    look = read_reference(picture(box=(0.3, 0.02, 0.7, 0.6)))  # the reference's subject up top
    for seed in range(8):
        comp = compose(PROMPT, seed, aspect, zone, False, look)
        assert comp.masses  # the background is the reference's
        if comp.zone is None:
            continue
        for shape in comp.shapes:
            b, z = shape.box, comp.zone
            overlap = min(b[2], z[2]) - max(b[0], z[0]), min(b[3], z[3]) - max(b[1], z[1])
            assert min(overlap) <= 1e-9, (seed, shape)


def test_transparent_drafts_from_a_reference_have_no_background() -> None:
    img = render(PROMPT, 5, Size(512, 512), transparent=True, reference=picture())
    assert img.mode == "RGBA"
    assert img.getpixel((2, 2))[3] == 0  # type: ignore[index]


# --- the provider ------------------------------------------------------------------------------------


async def test_exploring_draws_from_the_reference_and_notes_it() -> None:
    provider = LocalProvider()
    reference = picture()  # 4:3
    made = await provider.generate(request(reference, ratio=TALL))
    assert "reference is 4:3, drafting 9:16" in made.notes
    assert any("palette and layout taken from the reference" in note for note in made.notes)
    r, g, b = mean(decoded(made.data))
    assert r > 1.8 * g and r > 1.8 * b
    same_shape = await provider.generate(request(reference, ratio=CLASSIC))
    assert not any(note.startswith("reference is") for note in same_shape.notes)
    assert made.data == (await provider.generate(request(reference, ratio=TALL))).data


async def test_an_upgrade_redraws_the_winner_not_the_reference() -> None:
    provider = LocalProvider()
    winner = await provider.generate(request(None, tier=Tier.EXPLORE))
    review = await provider.generate(request(winner.data, use="upgrade", tier=Tier.REVIEW))
    plain = await provider.generate(request(None, tier=Tier.REVIEW))
    assert review.data == plain.data  # same prompt and seed, the same picture (today's behaviour)
    assert any("needs no reference image" in note for note in review.notes)


async def test_an_upgrade_of_a_winner_drafted_from_a_reference_keeps_its_picture() -> None:
    provider = LocalProvider()
    source = picture(ground=BLUE, subject=CREAM)
    winner = await provider.generate(request(source, tier=Tier.EXPLORE))
    review = await provider.generate(request(winner.data, use="upgrade", tier=Tier.REVIEW, source=source))
    assert any("same prompt, seed and source reference" in note for note in review.notes)
    small, big = decoded(winner.data), decoded(review.data)
    assert big.size == (2048, 1536)
    assert difference(small, big.resize(small.size, Image.Resampling.LANCZOS)) < 4
    # without the source it would be the prompt's own picture, far from the winner
    lost = await provider.generate(request(winner.data, use="upgrade", tier=Tier.REVIEW))
    assert difference(small, decoded(lost.data).resize(small.size)) > 20


async def test_an_unreadable_exploration_reference_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="not an image"):
        await LocalProvider().generate(request(b"GIF89a-not-really"))
