"""The local renderer answers change requests visibly: the same composition, changed as asked, the same
bytes every time; a reshape draws the same picture in the new frame."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from bot import imaging
from bot.destinations import SafeZone
from bot.providers.base import GenerationRequest, Reference, ReferenceUse
from bot.providers.local import LocalProvider, compose, render
from bot.providers.local.feedback import SCALE_STEP, read_feedback
from bot.providers.local.redraw import redraw
from bot.tiers import Ratio, Size, Tier, local_size

PROMPT = "matte black and gold headphones launch, dramatic light"
TALL, WIDE = Ratio(9, 16), Ratio(16, 9)
SIZE = local_size(TALL, Tier.EXPLORE)
REVIEW = Reference.of(b"\x89PNG\r\n\x1a\n not decoded by the local renderer")


def request(
    feedback: tuple[str, ...],
    *,
    use: ReferenceUse = "revise",
    ratio: Ratio = TALL,
    tier: Tier = Tier.REVIEW,
    seed: int = 11,
) -> GenerationRequest:
    return GenerationRequest(
        prompt=PROMPT,
        ratio=ratio,
        tier=tier,
        seed=seed,
        size=local_size(ratio, tier),
        references=(REVIEW,),
        reference_use=use,
        feedback=feedback,
    )


def drawn(feedback: tuple[str, ...], *, seed: int = 11, zone: SafeZone = SafeZone.TOP) -> Image.Image:
    return redraw(PROMPT, seed, SIZE, feedback=feedback, safe_zone=zone)[0]


def background_warmth(img: Image.Image) -> float:
    """Red minus blue over the headline-safe band at the top, where only the background is."""
    w, h = img.size
    r, _, b = ImageStat.Stat(img.crop((w // 10, h // 10, 9 * w // 10, h // 4))).mean
    return float(r - b)


def grey_difference(a: Image.Image, b: Image.Image) -> float:
    small = (72, 128)
    ga, gb = (img.convert("L").resize(small, Image.Resampling.BOX) for img in (a, b))
    return float(ImageStat.Stat(ImageChops.difference(ga, gb)).mean[0])


def likeness(a: Image.Image, b: Image.Image) -> float:
    """Correlation of the two pictures' downscaled grey values: 1 for the same layout in any key."""
    small = (72, 128)
    xs, ys = (list(img.convert("L").resize(small, Image.Resampling.BOX).tobytes()) for img in (a, b))
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx, vy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return cov / (vx * vy) ** 0.5


def subject_area(feedback: tuple[str, ...], seed: int) -> float:
    comp = compose(PROMPT, seed, SIZE.width / SIZE.height, SafeZone.TOP, False, None, read_feedback(feedback))
    x0, y0, x1, y1 = comp.shapes[comp.subject].box
    return (x1 - x0) * (y1 - y0)


def test_no_feedback_draws_exactly_what_render_draws() -> None:
    assert drawn(()).tobytes() == render(PROMPT, 11, SIZE).tobytes()


def test_a_warmer_background_is_warmer() -> None:
    for seed in (11, 12, 13):
        plain, warmer = drawn((), seed=seed), drawn(("warmer background",), seed=seed)
        assert background_warmth(warmer) > background_warmth(plain) + 15
        cooler = drawn(("a little cooler background",), seed=seed)
        assert background_warmth(cooler) < background_warmth(plain) - 5


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_larger_makes_the_subject_bigger_and_smaller_smaller(seed: int) -> None:
    plain = subject_area((), seed)
    assert subject_area(("bottle larger",), seed) > plain * 1.1
    assert subject_area(("make it smaller",), seed) < plain / 1.2
    # and the pixels say so: more of the picture changes than a colour tweak of the accents would
    assert grey_difference(drawn(("larger",), seed=seed), drawn((), seed=seed)) > 1


def test_the_same_request_twice_gives_the_same_bytes() -> None:
    asked = ("warmer background, bottle a little larger, keep the empty top", "add a leaf")
    first, again = redraw(PROMPT, 5, SIZE, feedback=asked), redraw(PROMPT, 5, SIZE, feedback=asked)
    assert first[0].tobytes() == again[0].tobytes() and first[1] == again[1]


def test_a_change_request_keeps_the_composition() -> None:
    plain, another_seed = drawn(()), drawn((), seed=12)
    asks = (
        "warmer background, bottle a little larger",
        "much darker",
        "more contrast",
        "sky blue background",
    )
    for asked in asks:  # a change of key differs in every pixel, yet the layout is the same one
        assert likeness(drawn((asked,)), plain) > 0.8, asked
    assert likeness(another_seed, plain) < 0.5
    # a request it cannot draw is a modest change
    assert (
        0
        < grey_difference(drawn(("add a leaf on the left",)), plain)
        < grey_difference(another_seed, plain) / 10
    )


def test_text_it_cannot_draw_still_changes_something_in_its_own_way() -> None:
    plain = drawn(())
    leaf, cap = drawn(("add a leaf",)), drawn(("less glare on the cap",))
    assert max(ImageStat.Stat(ImageChops.difference(leaf, plain)).mean) > 1
    assert leaf.tobytes() != cap.tobytes()  # a colour of its own words


def test_every_feedback_text_applies_in_order() -> None:
    both = read_feedback(("warmer background", "bottle a little larger", "add a leaf"))
    assert both.notes[:2] == ("warmer background per feedback", "subject larger per feedback")
    assert both.notes[2].startswith("accents and light recoloured for “add a leaf”")
    assert both.scale == pytest.approx(SCALE_STEP**0.5)
    assert read_feedback(("much bigger", "smaller")).scale == pytest.approx(SCALE_STEP**0.6)
    assert read_feedback(("not so dark",)).notes == ("brighter picture per feedback",)
    assert read_feedback(("make the background sky blue",)).notes == (
        "background tinted sky blue per feedback",
    )
    assert read_feedback(("keep the empty top", "more contrast")).notes[1] == (
        "more contrast in the picture per feedback"
    )


async def test_the_provider_revises_and_says_what_it_did() -> None:
    provider = LocalProvider()
    asked = ("warmer background, bottle a little larger, keep the empty top",)
    revised = await provider.generate(request(asked))
    assert revised.data == (await provider.generate(request(asked))).data
    assert revised.data != (await provider.generate(request((), use="upgrade"))).data
    assert "warmer background per feedback" in revised.notes
    assert "subject larger per feedback" in revised.notes
    assert any(
        note.startswith("redrawn from the same prompt and seed as the review") for note in revised.notes
    )
    # the 4K upgrade of that review applies the same feedback: the same picture, sharper
    final = await provider.generate(request(asked, use="upgrade", tier=Tier.FINAL))
    review = Image.open(io.BytesIO(revised.data)).convert("RGB")
    big = Image.open(io.BytesIO(final.data)).convert("RGB").resize(review.size, Image.Resampling.LANCZOS)
    assert grey_difference(big, review) < 3
    assert "warmer background per feedback" in final.notes


async def test_the_provider_reshapes_at_the_new_aspect_with_the_feedback() -> None:
    provider = LocalProvider()
    asked = ("warmer background",)
    wide = await provider.generate(request(asked, use="reshape", ratio=WIDE, tier=Tier.FINAL))
    assert imaging.measure(wide.data)[0] == Size(4096, 2304)
    assert any(note.startswith("redrawn for 16:9 from the same prompt and seed") for note in wide.notes)
    assert "warmer background per feedback" in wide.notes
    img = Image.open(io.BytesIO(wide.data)).convert("RGB")
    plain = render(PROMPT, 11, Size(1024, 576))
    assert background_warmth(img.resize((1024, 576))) > background_warmth(plain)
