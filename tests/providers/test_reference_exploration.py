"""Exploration from a reference (More like this, Draft from this image) on the remote providers, over
loopback against the fakes: the reference bytes arrive as ``image[]`` / ``inlineData`` with the instruction
to keep its structure, upgrades keep their own instruction, and a reference of another shape is noted."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from bot.config import Settings
from bot.providers.base import (
    EXPLORE_INSTRUCTION,
    GenerationRequest,
    Reference,
    ReferenceUse,
    explore_instruction,
    reference_note,
    reference_notes,
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
WIDE, TALL, SQUARE, CLASSIC = Ratio(16, 9), Ratio(9, 16), Ratio(1, 1), Ratio(4, 3)


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    img = Image.new("RGB", size, colour)
    img.paste((20, 20, 24), (size[0] // 3, size[1] // 4, 2 * size[0] // 3, size[1] - 4))  # a "bottle"
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def request(
    ratio: Ratio,
    reference: bytes,
    *,
    use: ReferenceUse = "explore",
    tier: Tier = Tier.EXPLORE,
    size: Size | None = None,
) -> GenerationRequest:
    return GenerationRequest(
        prompt=PROMPT,
        ratio=ratio,
        tier=tier,
        seed=11,
        size=size or local_size(ratio, tier),
        references=(Reference.of(reference),),
        reference_use=use,
    )


# --- the pure helpers --------------------------------------------------------------------------------


def test_the_ratio_note_names_both_shapes_only_when_they_differ() -> None:
    assert reference_note(Size(1600, 1200), TALL) == "reference is 4:3, drafting 9:16"
    assert reference_note(Size(1000, 1000), WIDE) == "reference is 1:1, drafting 16:9"
    assert reference_note(Size(1920, 1080), WIDE) is None
    assert reference_note(Size(1024, 576), WIDE) is None
    assert reference_note(Size(1376, 768), WIDE) is None  # Gemini's 16:9 is 1.79, close enough


def test_the_default_is_an_upgrade_so_existing_callers_are_unaffected() -> None:
    upgrade = GenerationRequest(
        PROMPT, WIDE, Tier.REVIEW, 1, Size(2048, 1152), (Reference.of(png((64, 36))),)
    )
    assert upgrade.reference_use == "upgrade" and not upgrade.explores
    assert not request(WIDE, png((64, 36)), use="upgrade").explores
    assert request(WIDE, png((64, 36))).explores
    empty = GenerationRequest(PROMPT, WIDE, Tier.EXPLORE, 1, Size(1024, 576), reference_use="explore")
    assert not empty.explores  # nothing to explore from: a plain text-to-image draft


def test_the_instruction_asks_to_keep_structure_and_to_reframe_another_shape() -> None:
    same = explore_instruction(request(WIDE, png((160, 90))))
    assert same == EXPLORE_INSTRUCTION
    for words in ("silhouette", "product's shape", "layout zones"):
        assert words in same
    other = explore_instruction(request(TALL, png((160, 120))))
    assert other.startswith(EXPLORE_INSTRUCTION)
    assert "The reference is 4:3 but this image is 9:16" in other and "without stretching" in other


def test_reference_notes() -> None:
    assert reference_notes(request(TALL, png((160, 120)))) == [
        "drafted from a reference image, asked to keep its structure",
        "reference is 4:3, drafting 9:16",
    ]
    assert reference_notes(request(WIDE, png((160, 90)), use="upgrade", tier=Tier.REVIEW)) == []
    unreadable = GenerationRequest(
        PROMPT,
        WIDE,
        Tier.EXPLORE,
        1,
        Size(1024, 576),
        (Reference(b"nope", "image/png"),),
        reference_use="explore",
    )
    assert reference_notes(unreadable) == ["drafted from a reference image, asked to keep its structure"]


# --- OpenAI over loopback ----------------------------------------------------------------------------


def openai_settings(fake: FakeOpenAI, base_url: str) -> Settings:
    values: dict[str, Any] = {"openai_api_key": fake.api_key, "openai_base_url": base_url}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def fake_openai(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeOpenAI, str]]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_IMAGE_MODEL", "OPENAI_IMAGE_QUALITY"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeOpenAI()
    async with serve_asgi(fake) as origin:
        yield fake, f"{origin}/v1"


async def test_openai_explores_with_the_reference_as_image_and_the_structure_instruction(
    fake_openai: tuple[FakeOpenAI, str],
) -> None:
    fake, base_url = fake_openai
    provider = OpenAIProvider(openai_settings(fake, base_url))
    source = png((800, 600))
    try:
        out = await provider.generate(request(TALL, source))
    finally:
        await provider.aclose()
    (edit,) = fake.requests
    assert edit.endpoint == "edits" and edit.status == 200
    assert [(p.name, p.content_type, p.data) for p in edit.images] == [("image[]", "image/png", source)]
    prompt = edit.fields["prompt"]
    assert prompt.startswith(PROMPT) and EXPLORE_INSTRUCTION in prompt
    assert "The reference is 4:3 but this image is 9:16" in prompt
    assert OPENAI_UPGRADE not in prompt
    assert edit.fields["size"] == "720x1280"  # the destination's ratio, not the reference's
    assert "reference is 4:3, drafting 9:16" in out.notes
    assert "drafted from a reference image, asked to keep its structure" in out.notes


async def test_openai_upgrades_keep_the_upgrade_instruction(fake_openai: tuple[FakeOpenAI, str]) -> None:
    fake, base_url = fake_openai
    provider = OpenAIProvider(openai_settings(fake, base_url))
    winner = png((1024, 576))
    try:
        out = await provider.generate(request(WIDE, winner, use="upgrade", tier=Tier.REVIEW))
    finally:
        await provider.aclose()
    (edit,) = fake.requests
    assert edit.fields["prompt"].endswith(OPENAI_UPGRADE)
    assert EXPLORE_INSTRUCTION not in edit.fields["prompt"]
    assert [p.data for p in edit.images] == [winner]
    assert out.notes == ()  # same shape as the target: nothing to say


# --- Gemini over loopback ----------------------------------------------------------------------------


@pytest.fixture
async def fake_gemini(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeGemini, str]]:
    for name in ("GEMINI_API_KEY", "GEMINI_BASE_URL", "GEMINI_IMAGE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    server = FakeGemini()
    async with serve_asgi(server) as origin:
        yield server, f"{origin}/v1beta"


def gemini_settings(base_url: str) -> Settings:
    values: dict[str, Any] = {
        "gemini_api_key": SecretStr(FAKE_GEMINI_KEY),
        "gemini_base_url": base_url,
        "gemini_model": "gemini-3-pro-image",
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def test_gemini_explores_with_inline_data_and_the_structure_instruction(
    fake_gemini: tuple[FakeGemini, str],
) -> None:
    server, base_url = fake_gemini
    provider = GeminiProvider(gemini_settings(base_url))
    source = png((800, 600), (40, 60, 200))
    try:
        out = await provider.generate(request(TALL, source, size=provider.target_size(TALL, Tier.EXPLORE)))
    finally:
        await provider.aclose()
    (sent,) = server.requests
    assert sent.references == [("image/png", source)]
    assert sent.image_config == {"aspectRatio": "9:16", "imageSize": "1K"}
    assert sent.prompt.startswith(PROMPT) and EXPLORE_INSTRUCTION in sent.prompt
    assert "The reference is 4:3 but this image is 9:16" in sent.prompt
    assert GEMINI_UPGRADE not in sent.prompt
    assert "reference is 4:3, drafting 9:16" in out.notes
    assert "drafted from a reference image, asked to keep its structure" in out.notes
    assert not any("previous winner" in note for note in out.notes)
    assert out.usage["referenceImages"] == 1


async def test_gemini_upgrades_keep_the_upgrade_instruction(
    fake_gemini: tuple[FakeGemini, str],
) -> None:
    server, base_url = fake_gemini
    provider = GeminiProvider(gemini_settings(base_url))
    winner = png((1376, 768))
    try:
        out = await provider.generate(
            request(
                WIDE, winner, use="upgrade", tier=Tier.REVIEW, size=provider.target_size(WIDE, Tier.REVIEW)
            )
        )
    finally:
        await provider.aclose()
    (sent,) = server.requests
    assert sent.references == [("image/png", winner)]
    assert sent.prompt.endswith(GEMINI_UPGRADE) and EXPLORE_INSTRUCTION not in sent.prompt
    assert any("previous winner" in note for note in out.notes)
    assert not any(note.startswith("reference is") for note in out.notes)
