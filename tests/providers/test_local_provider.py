"""The offline renderer: deterministic, one composition at every tier, the headline zone kept clear."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from bot import imaging
from bot.destinations import SafeZone
from bot.imaging import ImagingPool
from bot.providers.base import GenerationRequest, Reference
from bot.providers.local import (
    SHADOW_REACH,
    LocalProvider,
    build_palette,
    compose,
    render,
)
from bot.tiers import Ratio, Size, Tier, local_size

PROMPT = "matte black and gold headphones launch, dramatic light"
WIDE, TALL = Ratio(16, 9), Ratio(9, 16)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def request(
    ratio: Ratio = TALL,
    tier: Tier = Tier.EXPLORE,
    *,
    seed: int = 11,
    prompt: str = PROMPT,
    transparent: bool = False,
    safe_zone: SafeZone = SafeZone.TOP,
    references: tuple[bytes, ...] = (),
) -> GenerationRequest:
    return GenerationRequest(
        prompt=prompt,
        ratio=ratio,
        tier=tier,
        seed=seed,
        size=local_size(ratio, tier),
        transparent=transparent,
        safe_zone=safe_zone,
        references=tuple(Reference.of(data) for data in references),
    )


# --- the provider ------------------------------------------------------------------------------------


async def test_generate_is_deterministic_and_honest() -> None:
    provider = LocalProvider()
    first = await provider.generate(request())
    again = await provider.generate(request())
    assert first.data == again.data
    assert (first.provider, first.model, first.cost_estimate_usd) == ("local", "draftbot-local-1", 0.0)
    assert any("not a generative model" in note for note in first.notes)
    assert imaging.measure(first.data) == (Size(576, 1024), "JPEG")
    other = await provider.generate(request(seed=12))
    assert other.data != first.data
    await provider.aclose()


async def test_generate_runs_on_the_given_pool() -> None:
    pool = ImagingPool(1)
    calls: list[str] = []
    run = pool.run

    async def counting_run(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(fn.__name__)
        return await run(fn, *args, **kwargs)

    pool.run = counting_run  # type: ignore[method-assign]
    try:
        made = await LocalProvider(pool).generate(request(references=(b"winner",)))
    finally:
        pool.close()
    assert len(calls) == 1
    assert any("needs no reference image" in note for note in made.notes)
    # the pool and the default thread give the same picture
    assert made.data == (await LocalProvider().generate(request())).data


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "1:1", "4:5", "2:3", "3:2", "21:9"])
def test_target_sizes_follow_local_size(ratio: str) -> None:
    parsed = Ratio.parse(ratio)
    provider = LocalProvider()
    for tier in Tier:
        assert provider.target_size(parsed, tier) == local_size(parsed, tier)
    # drawn at exactly that size (1K and 2K here; 4K is covered by the composition test)
    for tier in (Tier.EXPLORE, Tier.REVIEW):
        size = local_size(parsed, tier)
        assert render(PROMPT, 3, size, safe_zone=SafeZone.NONE).size == (size.width, size.height)


async def test_transparent_requests_get_a_png_with_clear_corners() -> None:
    made = await LocalProvider().generate(
        request(Ratio(1, 1), transparent=True, safe_zone=SafeZone.NONE, prompt="neon sticker of a cat")
    )
    assert imaging.measure(made.data) == (Size(1024, 1024), "PNG")
    img = Image.open(io.BytesIO(made.data))
    assert img.mode == "RGBA"
    w, h = img.size
    alpha = img.getchannel("A")
    for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        assert alpha.getpixel(corner) == 0
    opaque = ImageStat.Stat(alpha.point(lambda v: 255 if v == 255 else 0)).mean[0] / 255
    assert 0.1 < opaque < 0.9  # shapes, on nothing


def test_render_refuses_silly_sizes() -> None:
    with pytest.raises(ValueError):
        render(PROMPT, 1, Size(8, 8))
    with pytest.raises(ValueError):
        render(PROMPT, 1, Size(10_000, 10_000))


# --- determinism and composition -----------------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "zone"), [(WIDE, SafeZone.LEFT), (TALL, SafeZone.TOP)])
def test_same_seed_same_composition_at_every_tier(ratio: Ratio, zone: SafeZone) -> None:
    small_size = local_size(ratio, Tier.EXPLORE)
    small = render(PROMPT, 42, small_size, safe_zone=zone)
    big_size = local_size(ratio, Tier.FINAL)
    big = render(PROMPT, 42, big_size, safe_zone=zone)
    assert big.size == (big_size.width, big_size.height)
    downscaled = big.resize(small.size, Image.Resampling.LANCZOS)
    assert mean_difference(downscaled, small) < 6


def test_render_is_deterministic() -> None:
    size = Size(320, 560)
    assert render(PROMPT, 5, size).tobytes() == render(PROMPT, 5, size).tobytes()


def test_different_seeds_look_different() -> None:
    size = local_size(WIDE, Tier.EXPLORE)
    renders = [render(PROMPT, seed, size, safe_zone=SafeZone.LEFT) for seed in (1, 2, 3, 4)]
    differences = [mean_difference(a, b) for i, a in enumerate(renders) for b in renders[i + 1 :]]
    assert min(differences) > 20


def test_compositions_depend_on_seed_not_size() -> None:
    a = compose(PROMPT, 9, 16 / 9, SafeZone.TOP, False)
    assert a == compose(PROMPT, 9, 16 / 9, SafeZone.TOP, False)
    b = compose(PROMPT, 10, 16 / 9, SafeZone.TOP, False)
    assert a.shapes != b.shapes and a.light != b.light


# --- the headline-safe zone ------------------------------------------------------------------------------


def _strong_edges(img: Image.Image) -> Image.Image:
    """Pixels on a hard edge (shapes, not gradients); Pillow leaves the 1-px border unfiltered: blank it."""
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 40 else 0)
    w, h = edges.size
    inner = edges.crop((1, 1, w - 1, h - 1))
    edges = Image.new("L", (w, h), 0)
    edges.paste(inner, (1, 1))
    return edges


@pytest.mark.parametrize(
    ("ratio", "zone", "band"),
    [
        # well inside the zone, in fractions of (width, height) (test_clean_finals checks the whole zone)
        (TALL, SafeZone.TOP, (0.2, 0.1, 0.8, 0.27)),
        (TALL, SafeZone.BOTTOM, (0.2, 0.75, 0.8, 0.92)),
        (WIDE, SafeZone.LEFT, (0.06, 0.15, 0.38, 0.9)),
        (Ratio(1, 1), SafeZone.TOP, (0.1, 0.1, 0.9, 0.27)),
    ],
)
def test_the_safe_zone_stays_clean(ratio: Ratio, zone: SafeZone, band: tuple[float, ...]) -> None:
    size = local_size(ratio, Tier.EXPLORE)
    for seed in (1, 2, 3):
        edges = _strong_edges(render(PROMPT, seed, size, safe_zone=zone))
        box = tuple(round(f * s) for f, s in zip(band, (size.width, size.height) * 2, strict=True))
        inside = ImageStat.Stat(edges.crop(box)).mean[0]
        everywhere = ImageStat.Stat(edges).mean[0]
        assert inside == 0, f"seed {seed}: something drawn inside the {zone} zone"
        assert everywhere > 0.5  # and there is a composition elsewhere


def _apart(box: tuple[float, float, float, float], zone: tuple[float, float, float, float]) -> bool:
    return box[2] <= zone[0] or box[0] >= zone[2] or box[3] <= zone[1] or box[1] >= zone[3]


@pytest.mark.parametrize("zone", [SafeZone.TOP, SafeZone.BOTTOM, SafeZone.LEFT, SafeZone.CENTER])
@pytest.mark.parametrize("aspect", [1 / 3, 9 / 16, 1.0, 16 / 9, 21 / 9, 3.0])
def test_no_shape_or_shadow_reaches_into_the_zone(zone: SafeZone, aspect: float) -> None:
    for seed in range(12):
        comp = compose(PROMPT, seed, aspect, zone, False)
        assert comp.zone is not None
        subjects = [
            shape
            for shape in comp.shapes
            if shape.lit and shape.opacity == 1 and shape.kind in ("circle", "capsule", "card", "arch")
        ]
        assert subjects, "every composition has a subject"
        for shape in comp.shapes:
            assert _apart(shape.box, comp.zone), (seed, shape)
            if shape.shadow:  # the shadow exactly as the painter draws it
                off = comp.shadow_offset * shape.shadow
                dx, dy = -comp.light[0] * off, -comp.light[1] * off
                pad = SHADOW_REACH * comp.shadow_blur
                x0, y0, x1, y1 = shape.box
                assert _apart((x0 + dx - pad, y0 + dy - pad, x1 + dx + pad, y1 + dy + pad), comp.zone), (
                    seed,
                    shape,
                )


# --- palette ---------------------------------------------------------------------------------------------


def _hue_distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    import colorsys

    ha = colorsys.rgb_to_hls(*(v / 255 for v in a))[0]
    hb = colorsys.rgb_to_hls(*(v / 255 for v in b))[0]
    return min(abs(ha - hb), 1 - abs(ha - hb))


def test_palette_comes_from_the_prompt() -> None:
    gold = (212, 170, 64)
    for seed in range(6):
        palette = build_palette("matte black and gold", random.Random(seed))
        colours = [palette.subject, *palette.accents, *palette.background]
        assert any(_hue_distance(c, gold) < 0.04 and max(c) - min(c) > 60 for c in colours)
        assert any(max(c) < 60 for c in colours)  # and the black
    teal = build_palette("teal", random.Random(1))
    assert _hue_distance(teal.subject, (0, 128, 128)) < 0.05 or teal.background[0][1] > teal.background[0][0]


def test_uncoloured_prompts_still_get_a_palette_of_their_own() -> None:
    a = build_palette("quarterly results for the finance team", random.Random(1))
    b = build_palette("a dog adoption day at the park", random.Random(1))
    assert a != b
    assert a == build_palette("quarterly results for the finance team", random.Random(1))
