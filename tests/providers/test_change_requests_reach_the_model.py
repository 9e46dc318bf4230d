"""Request changes and Also as… on the remote providers, over loopback against the fakes: a revise sends
the review as the image with the prompt and the change request as the edit instruction; a reshape sends the
approved final with the new shape's size or aspectRatio; an upgrade of a revised review does not repeat
feedback the image already shows."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from bot.config import Settings
from bot.destinations import SafeZone
from bot.providers.base import (
    EXPLORE_INSTRUCTION,
    RESHAPE_INSTRUCTION,
    REVISE_INSTRUCTION,
    GenerationRequest,
    Reference,
    ReferenceUse,
    reference_instruction,
    reference_notes,
    reshape_instruction,
    revise_instruction,
)
from bot.providers.gemini import UPGRADE_INSTRUCTION as GEMINI_UPGRADE
from bot.providers.gemini import GeminiProvider
from bot.providers.openai import UPGRADE_INSTRUCTION as OPENAI_UPGRADE
from bot.providers.openai import OpenAIProvider
from bot.tiers import Ratio, Size, Tier, local_size
from fakes.asgi import serve_asgi
from fakes.gemini import FAKE_GEMINI_KEY, FakeGemini
from fakes.openai import FakeOpenAI

PROMPT = "a matte black water bottle, premium ecommerce hero"
WIDE, TALL = Ratio(16, 9), Ratio(9, 16)
ASKED = "warmer background, bottle a little larger, keep the empty top"
EARLIER = "less glare on the cap"


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    img = Image.new("RGB", size, colour)
    img.paste((20, 20, 24), (size[0] // 3, size[1] // 4, 2 * size[0] // 3, size[1] - 4))  # a "bottle"
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def request(
    use: ReferenceUse,
    reference: bytes,
    *,
    ratio: Ratio = TALL,
    tier: Tier = Tier.REVIEW,
    feedback: tuple[str, ...] = (),
    size: Size | None = None,
    safe_zone: SafeZone = SafeZone.TOP,
) -> GenerationRequest:
    return GenerationRequest(
        prompt=PROMPT,
        ratio=ratio,
        tier=tier,
        seed=11,
        size=size or local_size(ratio, tier),
        references=(Reference.of(reference),),
        reference_use=use,
        feedback=feedback,
        safe_zone=safe_zone,
    )


def revise(reference: bytes, **kwargs: Any) -> GenerationRequest:
    return request("revise", reference, feedback=(EARLIER, ASKED), **kwargs)


def reshape(final: bytes, **kwargs: Any) -> GenerationRequest:
    return request("reshape", final, ratio=WIDE, tier=Tier.FINAL, safe_zone=SafeZone.LEFT, **kwargs)


# --- the pure helpers --------------------------------------------------------------------------------


def test_a_revise_instruction_says_what_to_change_and_what_is_already_done() -> None:
    text = revise_instruction(revise(png((90, 160))))
    assert text.startswith(REVISE_INSTRUCTION)
    assert f"Change request: {ASKED}" in text
    assert f"already made in the image (keep them): {EARLIER}" in text
    alone = revise_instruction(request("revise", png((90, 160)), feedback=("  warmer\n background ",)))
    assert alone == f"{REVISE_INSTRUCTION}\n\nChange request: warmer background"


def test_a_reshape_instruction_names_both_shapes_and_the_new_headline_space() -> None:
    text = reshape_instruction(reshape(png((90, 160))))
    assert text.startswith(RESHAPE_INSTRUCTION)
    assert "Recompose it from 9:16 to 16:9." in text
    assert "Keep the left side of the new frame empty for the headline." in text
    unzoned = reshape_instruction(request("reshape", b"not an image", ratio=WIDE, safe_zone=SafeZone.NONE))
    assert unzoned == f"{RESHAPE_INSTRUCTION} Recompose it as 16:9."


def test_each_use_gets_its_own_instruction_and_upgrades_ignore_feedback() -> None:
    ref = png((90, 160))
    assert reference_instruction(revise(ref), upgrade="U") == revise_instruction(revise(ref))
    assert reference_instruction(reshape(ref), upgrade="U") == reshape_instruction(reshape(ref))
    assert reference_instruction(request("upgrade", ref, feedback=(ASKED,)), upgrade="U") == "U"
    assert reference_instruction(request("explore", ref, tier=Tier.EXPLORE), upgrade="U").startswith(
        EXPLORE_INSTRUCTION
    )


def test_revise_and_reshape_without_their_image_are_a_callers_mistake() -> None:
    with pytest.raises(ValueError, match="revise request needs its image"):
        GenerationRequest(PROMPT, TALL, Tier.REVIEW, 1, Size(1152, 2048), reference_use="revise")
    with pytest.raises(ValueError, match="reshape request needs its image"):
        GenerationRequest(PROMPT, WIDE, Tier.FINAL, 1, Size(4096, 2304), reference_use="reshape")
    with pytest.raises(ValueError, match="needs feedback"):
        request("revise", png((90, 160)), feedback=(" ",))


def test_notes_say_what_the_reference_was_for() -> None:
    assert reference_notes(revise(png((90, 160)))) == [f"revised from the review with feedback “{ASKED}”"]
    assert reference_notes(reshape(png((90, 160)))) == [
        "reshaped from the approved 9:16 final for 16:9, asked to keep its subject, lighting and palette"
    ]
    assert reference_notes(request("upgrade", png((90, 160)), tier=Tier.FINAL, feedback=(ASKED,))) == [
        "upgraded a revised review: its feedback is already in the image, not sent again"
    ]


# --- OpenAI over loopback ----------------------------------------------------------------------------


@pytest.fixture
async def openai(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeOpenAI, OpenAIProvider]]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_IMAGE_MODEL", "OPENAI_IMAGE_QUALITY"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeOpenAI()
    async with serve_asgi(fake) as origin:
        values: dict[str, Any] = {"openai_api_key": fake.api_key, "openai_base_url": f"{origin}/v1"}
        provider = OpenAIProvider(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        try:
            yield fake, provider
        finally:
            await provider.aclose()


async def test_openai_revises_the_review_as_an_edit_with_the_feedback_as_instruction(
    openai: tuple[FakeOpenAI, OpenAIProvider],
) -> None:
    fake, provider = openai
    review = png((1152, 2048))
    out = await provider.generate(revise(review))
    (edit,) = fake.requests
    assert (edit.endpoint, edit.status) == ("edits", 200)
    assert [(p.name, p.content_type, p.data) for p in edit.images] == [("image[]", "image/png", review)]
    prompt = edit.fields["prompt"]
    assert prompt.startswith(f"{PROMPT}\n\n{REVISE_INSTRUCTION}")
    assert f"Change request: {ASKED}" in prompt and EARLIER in prompt
    assert OPENAI_UPGRADE not in prompt
    assert edit.fields["size"] == "1152x2048"  # the review's own shape and tier
    assert f"revised from the review with feedback “{ASKED}”" in out.notes


async def test_openai_reshapes_the_final_at_the_new_shapes_size(
    openai: tuple[FakeOpenAI, OpenAIProvider],
) -> None:
    fake, provider = openai
    final = png((1152, 2048))
    out = await provider.generate(reshape(final))
    (edit,) = fake.requests
    assert edit.endpoint == "edits" and [p.data for p in edit.images] == [final]
    assert edit.fields["size"] == provider.size_plan(WIDE, local_size(WIDE, Tier.FINAL)).wire == "3840x2160"
    prompt = edit.fields["prompt"]
    assert prompt.startswith(f"{PROMPT}\n\n{RESHAPE_INSTRUCTION}") and "from 9:16 to 16:9" in prompt
    assert OPENAI_UPGRADE not in prompt
    assert any(note.startswith("reshaped from the approved 9:16 final for 16:9") for note in out.notes)
    assert not any(note.startswith("reference is") for note in out.notes)


async def test_openai_upgrades_a_revised_review_without_repeating_its_feedback(
    openai: tuple[FakeOpenAI, OpenAIProvider],
) -> None:
    fake, provider = openai
    await provider.generate(request("upgrade", png((1152, 2048)), tier=Tier.FINAL, feedback=(ASKED,)))
    (edit,) = fake.requests
    assert edit.fields["prompt"] == f"{PROMPT}\n\n{OPENAI_UPGRADE}"


# --- Gemini over loopback ----------------------------------------------------------------------------


@pytest.fixture
async def gemini(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeGemini, GeminiProvider]]:
    for name in ("GEMINI_API_KEY", "GEMINI_BASE_URL", "GEMINI_IMAGE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    server = FakeGemini()
    async with serve_asgi(server) as origin:
        values: dict[str, Any] = {
            "gemini_api_key": SecretStr(FAKE_GEMINI_KEY),
            "gemini_base_url": f"{origin}/v1beta",
            "gemini_model": "gemini-3-pro-image",
        }
        provider = GeminiProvider(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        try:
            yield server, provider
        finally:
            await provider.aclose()


async def test_gemini_revises_with_the_review_inline_and_the_feedback_in_the_text(
    gemini: tuple[FakeGemini, GeminiProvider],
) -> None:
    server, provider = gemini
    review = png((1536, 2752))
    out = await provider.generate(revise(review, size=provider.target_size(TALL, Tier.REVIEW)))
    (sent,) = server.requests
    text_parts = [part["text"] for part in sent.parts if "text" in part]
    assert len(text_parts) == 1 and "inlineData" in sent.parts[1]  # the text, then the image
    assert text_parts[0].startswith(f"{PROMPT}\n\n{REVISE_INSTRUCTION}")
    assert f"Change request: {ASKED}" in text_parts[0] and GEMINI_UPGRADE not in text_parts[0]
    assert sent.references == [("image/png", review)]
    assert sent.image_config == {"aspectRatio": "9:16", "imageSize": "2K"}
    assert f"revised from the review with feedback “{ASKED}”" in out.notes
    assert not any("previous winner" in note for note in out.notes)


async def test_gemini_reshapes_the_final_at_the_new_aspect_ratio(
    gemini: tuple[FakeGemini, GeminiProvider],
) -> None:
    server, provider = gemini
    final = png((768, 1376))
    out = await provider.generate(reshape(final, size=provider.target_size(WIDE, Tier.FINAL)))
    (sent,) = server.requests
    assert sent.image_config == {"aspectRatio": "16:9", "imageSize": "4K"}
    assert sent.references == [("image/png", final)]
    assert RESHAPE_INSTRUCTION in sent.prompt and "from 9:16 to 16:9" in sent.prompt
    assert any("drew aspectRatio 16:9, imageSize 4K: 5504×3072" in note for note in out.notes)
    assert any(note.startswith("reshaped from the approved 9:16 final for 16:9") for note in out.notes)


async def test_gemini_upgrades_a_revised_review_without_repeating_its_feedback(
    gemini: tuple[FakeGemini, GeminiProvider],
) -> None:
    server, provider = gemini
    size = provider.target_size(TALL, Tier.FINAL)
    await provider.generate(
        request("upgrade", png((1536, 2752)), tier=Tier.FINAL, feedback=(ASKED,), size=size)
    )
    (sent,) = server.requests
    assert sent.prompt == f"{PROMPT}\n\n{GEMINI_UPGRADE}"
    assert sent.image_config == {"aspectRatio": "9:16", "imageSize": "4K"}
