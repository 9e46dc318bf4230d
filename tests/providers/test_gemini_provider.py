"""The Gemini provider: the wire mapping (respx, documented shapes) and a real round trip to a fake server."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from PIL import Image, ImageChops, ImageStat
from pydantic import SecretStr

from bot.config import Settings
from bot.destinations import ImageFormat
from bot.generation import prepare
from bot.providers.base import (
    BadOutput,
    GenerationRequest,
    ModelNotFound,
    ProviderError,
    RateLimited,
    Reference,
    Refused,
    Unavailable,
)
from bot.providers.gemini import (
    BLOCK_REASONS,
    SAFETY_FINISH_REASONS,
    UPGRADE_INSTRUCTION,
    GeminiConfigError,
    GeminiProvider,
    capabilities_for,
)
from bot.tiers import Ratio, Size, Tier
from fakes import gemini as faults
from fakes.asgi import serve_asgi
from fakes.gemini import FAKE_GEMINI_KEY, FakeGemini

KEY = "AIzaSy-test-SECRET-key-9f8e7d6c"
BASE = "https://generativelanguage.googleapis.com/v1beta"
PRO = "gemini-3-pro-image"
FLASH = "gemini-2.5-flash-image"
PROMPT = "matte black headphones on a sunset gradient, headline space on top"
WIDE, TALL, SQUARE = Ratio(16, 9), Ratio(9, 16), Ratio(1, 1)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gemini_api_key": SecretStr(KEY),
        "gemini_base_url": BASE,
        "gemini_model": PRO,
        "data_dir": tmp_path / "data",
        "provider_timeout_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[GeminiProvider]:
    p = GeminiProvider(settings)
    yield p
    await p.aclose()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def image_bytes(
    size: tuple[int, int], colour: tuple[int, int, int] = (200, 40, 40), fmt: str = "PNG"
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_part(data: bytes, mime: str = "image/png", *, thought: bool = False) -> dict[str, Any]:
    part: dict[str, Any] = {"inlineData": {"mimeType": mime, "data": b64(data)}}
    if thought:
        part["thought"] = True
    else:
        part["thoughtSignature"] = "c2ln"
    return part


def answer(*parts: dict[str, Any], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "finishReason": finish}
    candidate.update(extra.pop("candidate", {}))
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 14, "candidatesTokenCount": 1120, "totalTokenCount": 1134},
        "modelVersion": "gemini-3-pro-image-001",
        **extra,
    }


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


def retry_detail(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def make_request(
    ratio: Ratio = WIDE,
    tier: Tier = Tier.EXPLORE,
    *,
    provider: GeminiProvider | None = None,
    prompt: str = PROMPT,
    references: tuple[bytes, ...] = (),
    transparent: bool = False,
) -> GenerationRequest:
    size = provider.target_size(ratio, tier) if provider else Size(1024, 1024)
    return GenerationRequest(
        prompt=prompt,
        ratio=ratio,
        tier=tier,
        seed=7,
        size=size,
        references=tuple(Reference.of(data) for data in references),
        transparent=transparent,
    )


def route(api: respx.MockRouter, model: str = PRO) -> respx.Route:
    return api.post(f"/models/{model}:generateContent")


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


# --- construction ---------------------------------------------------------------------------------------


def test_a_missing_key_is_a_clear_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    for key in (None, SecretStr(""), SecretStr("   ")):
        with pytest.raises(GeminiConfigError, match="GEMINI_API_KEY is not set"):
            GeminiProvider(make_settings(tmp_path, gemini_api_key=key))


async def test_identity_and_repr(provider: GeminiProvider) -> None:
    assert provider.name == "gemini"
    assert provider.model == PRO
    assert KEY not in repr(provider)
    assert "gemini-3-pro-image" in repr(provider)


def test_capabilities_follow_the_model_name() -> None:
    assert capabilities_for("gemini-3-pro-image-preview").family == "Gemini 3 Pro Image"
    assert capabilities_for("gemini-3.5-pro-image").family == "Gemini 3 Pro Image"
    assert capabilities_for("gemini-2.5-flash-image").image_sizes == ("1K",)
    assert capabilities_for("gemini-3.1-flash-lite-image").image_sizes == ("1K",)
    flash31 = capabilities_for("models/gemini-3.1-flash-image")
    assert flash31.family == "Gemini 3.1 Flash Image"
    assert {"1:4", "4:1", "1:8", "8:1"} <= {str(r) for r in flash31.ratios}
    assert "1:4" not in {str(r) for r in capabilities_for(PRO).ratios}
    assert capabilities_for("something-new").family == "Gemini 3 Pro Image"  # a sensible default
    assert capabilities_for(FLASH).max_references == 3
    assert capabilities_for(PRO).max_references == 14


# --- sizes and ratios -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "sizes"),
    [
        (WIDE, ((1376, 768), (2752, 1536), (5504, 3072))),
        (TALL, ((768, 1376), (1536, 2752), (3072, 5504))),
        (SQUARE, ((1024, 1024), (2048, 2048), (4096, 4096))),
        (Ratio(21, 9), ((1584, 672), (3168, 1344), (6336, 2688))),
    ],
)
async def test_targets_follow_the_official_pixel_table(
    provider: GeminiProvider, ratio: Ratio, sizes: tuple[tuple[int, int], ...]
) -> None:
    for tier, (w, h) in zip(Tier, sizes, strict=True):
        assert provider.target_size(ratio, tier) == Size(w, h)
        plan = provider.plan(ratio, tier)
        assert (str(plan.api_ratio), plan.image_size) == (str(ratio), tier.value)


async def test_a_missing_ratio_maps_to_the_nearest_and_is_cropped(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    odd = Ratio(7, 5)
    plan = provider.plan(odd, Tier.EXPLORE)
    assert str(plan.api_ratio) == "4:3" and plan.expected == Size(1200, 896)
    target = provider.target_size(odd, Tier.EXPLORE)
    assert target == Size(1200, 864)  # the 4:3 frame's long edge, cropped to 7:5
    assert abs(target.width / target.height / 1.4 - 1) < 0.01
    assert str(provider.plan(Ratio(1, 2), Tier.REVIEW).api_ratio) == "9:16"
    assert provider.target_size(Ratio(1, 2), Tier.REVIEW) == Size(1376, 2752)

    call = route(api).respond(json=answer(image_part(image_bytes((1200, 896)))))
    out = await provider.generate(make_request(odd, provider=provider))
    sent = call.calls.last.request
    assert json_of(sent)["generationConfig"]["imageConfig"] == {"aspectRatio": "4:3", "imageSize": "1K"}
    assert "Gemini has no 7:5; generated at 4:3 (1200×896) and cropped to 7:5" in out.notes
    # and the generator's fit really gives the asked ratio
    fitted = prepare(out.data, target, ImageFormat.JPEG, Tier.EXPLORE, max_pixels=64_000_000)
    assert fitted.encoded.size == target


async def test_a_tier_the_model_lacks_is_its_largest_size_upscaled_honestly(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    flash = GeminiProvider(make_settings(tmp_path, gemini_model=FLASH))
    try:
        assert flash.target_size(WIDE, Tier.EXPLORE) == Size(1344, 768)
        assert flash.target_size(WIDE, Tier.FINAL) == Size(5376, 3072)
        assert flash.plan(WIDE, Tier.FINAL).image_size == "1K"
        call = route(api, FLASH).respond(json=answer(image_part(image_bytes((1344, 768)))))
        out = await flash.generate(
            make_request(WIDE, Tier.FINAL, provider=flash, references=(image_bytes((64, 36)),))
        )
        assert json_of(call.calls.last.request)["generationConfig"]["imageConfig"] == {
            "aspectRatio": "16:9",
            "imageSize": "1K",  # never "4K": 2.5 Flash draws 1K only
        }
        upscale = [n for n in out.notes if "upscaled locally" in n]
        assert upscale == [
            "gemini-2.5-flash-image draws 1K at most; generated at 1344×768 and upscaled locally ×4 "
            "to 5376×3072 for 4K: no new detail"
        ]
        assert out.cost_estimate_usd == pytest.approx(0.039)
    finally:
        await flash.aclose()


# --- the request ----------------------------------------------------------------------------------------


def json_of(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


async def test_the_request_is_the_documented_shape(api: respx.MockRouter, provider: GeminiProvider) -> None:
    call = route(api).respond(json=answer(image_part(image_bytes((1376, 768)))))
    await provider.generate(make_request(WIDE, Tier.EXPLORE, provider=provider))
    sent = call.calls.last.request
    assert sent.method == "POST"
    assert str(sent.url) == f"{BASE}/models/gemini-3-pro-image:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    assert KEY not in str(sent.url) and "key=" not in str(sent.url)
    assert json_of(sent) == {
        "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "16:9", "imageSize": "1K"},
        },
    }


async def test_an_upgrade_sends_the_winner_inline_with_the_instruction(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    winner = image_bytes((1376, 768), fmt="JPEG")
    call = route(api).respond(json=answer(image_part(image_bytes((2752, 1536)))))
    out = await provider.generate(make_request(WIDE, Tier.REVIEW, provider=provider, references=(winner,)))
    assert json_of(call.calls.last.request) == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": f"{PROMPT}\n\n{UPGRADE_INSTRUCTION}"},
                    {"inlineData": {"mimeType": "image/jpeg", "data": b64(winner)}},
                ],
            }
        ],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
        },
    }
    assert UPGRADE_INSTRUCTION.startswith("Regenerate this exact image at higher resolution.")
    assert any("reference image" in n for n in out.notes)
    assert out.usage["referenceImages"] == 1


async def test_reference_types_are_sniffed_and_odd_ones_reencoded(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    webp, png, gif = (image_bytes((64, 36), fmt=f) for f in ("WEBP", "PNG", "GIF"))
    call = route(api).respond(json=answer(image_part(image_bytes((2752, 1536)))))
    out = await provider.generate(
        make_request(WIDE, Tier.REVIEW, provider=provider, references=(webp, png, gif))
    )
    inline = [p["inlineData"] for p in json_of(call.calls.last.request)["contents"][0]["parts"][1:]]
    assert [i["mimeType"] for i in inline] == ["image/webp", "image/png", "image/jpeg"]
    assert base64.b64decode(inline[2]["data"]).startswith(b"\xff\xd8\xff")
    assert any("re-encoded the reference image as JPEG" in n for n in out.notes)


async def test_references_are_capped_at_the_model_limit(api: respx.MockRouter, tmp_path: Path) -> None:
    flash = GeminiProvider(make_settings(tmp_path, gemini_model=FLASH))
    try:
        refs = tuple(image_bytes((32, 32), (i * 40, 0, 0)) for i in range(5))
        call = route(api, FLASH).respond(json=answer(image_part(image_bytes((1024, 1024)))))
        out = await flash.generate(make_request(SQUARE, Tier.EXPLORE, provider=flash, references=refs))
        parts = json_of(call.calls.last.request)["contents"][0]["parts"]
        assert [p["inlineData"]["data"] for p in parts[1:]] == [b64(r) for r in refs[:3]]
        assert any("sent the first 3 of 5 reference images" in n for n in out.notes)
    finally:
        await flash.aclose()


# --- the response ---------------------------------------------------------------------------------------


async def test_thoughts_are_skipped_and_the_last_final_image_wins(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    thought = image_bytes((256, 256), (255, 0, 255))
    first, last = image_bytes((1376, 768), (10, 10, 200)), image_bytes((1376, 768), (10, 200, 10))
    route(api).respond(
        json=answer(
            {"text": "Planning the layout.", "thought": True},
            image_part(thought, thought=True),
            image_part(thought, thought=True),
            image_part(first),
            {"text": "Here it is."},
            image_part(last),
        )
    )
    out = await provider.generate(make_request(WIDE, provider=provider))
    assert out.data == last
    assert out.usage["thoughtImages"] == 2


async def test_the_mime_type_is_read_not_assumed(api: respx.MockRouter, provider: GeminiProvider) -> None:
    jpeg = image_bytes((1376, 768), fmt="JPEG")
    route(api).respond(json=answer(image_part(jpeg, "image/jpeg")))
    out = await provider.generate(make_request(WIDE, provider=provider))
    assert out.data == jpeg
    assert out.notes[0].startswith("Gemini 3 Pro Image gemini-3-pro-image (gemini-3-pro-image-001) drew")
    assert "1376×768 image/jpeg" in out.notes[0]


async def test_usage_version_request_id_and_cost_are_recorded(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    body = answer(image_part(image_bytes((1376, 768))), responseId="resp-123")
    body["usageMetadata"]["thoughtsTokenCount"] = 90
    call = route(api)
    call.respond(json=body, headers={"x-goog-request-id": "req-abc"})
    out = await provider.generate(make_request(WIDE, provider=provider))
    assert out.usage == {
        "promptTokenCount": 14,
        "candidatesTokenCount": 1120,
        "thoughtsTokenCount": 90,
        "totalTokenCount": 1134,
    }
    assert out.request_id == "req-abc"
    assert out.provider == "gemini" and out.model == PRO
    assert out.cost_estimate_usd == pytest.approx(0.134)
    call.respond(json=body)
    assert (await provider.generate(make_request(WIDE, provider=provider))).request_id == "resp-123"


async def test_cost_uses_the_table_unless_prices_are_configured(tmp_path: Path) -> None:
    pro = GeminiProvider(make_settings(tmp_path))
    priced = GeminiProvider(make_settings(tmp_path, prices={"4K": 0.3}))
    try:
        assert [pro.cost_estimate_usd(t) for t in Tier] == pytest.approx([0.134, 0.134, 0.24])
        assert priced.cost_estimate_usd(Tier.FINAL) == pytest.approx(0.3)
        assert priced.cost_estimate_usd(Tier.EXPLORE) == pytest.approx(0.134)
    finally:
        await pro.aclose()
        await priced.aclose()


async def test_notes_say_what_gemini_cannot_do(api: respx.MockRouter, provider: GeminiProvider) -> None:
    route(api).respond(json=answer(image_part(image_bytes((1360, 768))), finish="MAX_TOKENS"))
    out = await provider.generate(make_request(WIDE, provider=provider, transparent=True))
    assert "Gemini cannot draw transparency: the background is opaque" in out.notes
    assert "Gemini returned 1360×768, not the 1376×768 the table lists for 16:9 at 1K" in out.notes
    assert "finishReason MAX_TOKENS" in out.notes


# --- safety (HTTP 200) ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", sorted(SAFETY_FINISH_REASONS))
async def test_a_safety_finish_reason_is_a_refusal_at_the_output(
    api: respx.MockRouter, provider: GeminiProvider, reason: str
) -> None:
    message = "Unable to show the generated image. Responsible AI practices. Support code 12345"
    route(api).respond(
        json=answer(
            {"text": "thinking", "thought": True}, finish=reason, candidate={"finishMessage": message}
        )
    )
    with pytest.raises(Refused) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    err = caught.value
    assert (err.category, err.stage, err.provider) == (reason, "output", "gemini")
    assert err.message == message + "."
    assert not err.retryable


async def test_a_refusal_without_finish_message_uses_the_text(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    route(api).respond(json=answer({"text": "I can't make images of that person."}, finish="IMAGE_SAFETY"))
    with pytest.raises(Refused, match="I can't make images of that person") as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert caught.value.category == "IMAGE_SAFETY"


@pytest.mark.parametrize("reason", sorted(BLOCK_REASONS))
async def test_a_block_reason_is_a_refusal_at_the_input(
    api: respx.MockRouter, provider: GeminiProvider, reason: str
) -> None:
    route(api).respond(
        json={"promptFeedback": {"blockReason": reason}, "usageMetadata": {"totalTokenCount": 9}}
    )
    with pytest.raises(Refused) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert (caught.value.category, caught.value.stage) == (reason, "input")
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "body",
    [
        answer({"text": "I could not generate an image."}, finish="NO_IMAGE"),
        answer({"text": "Here is a description instead."}),  # STOP, text only
        answer(image_part(image_bytes((256, 256)), thought=True)),  # thoughts only
        answer(finish="OTHER"),
        {"candidates": [], "usageMetadata": {}},
        {},
    ],
    ids=["no-image", "text-only", "thoughts-only", "other", "no-candidates", "empty"],
)
async def test_a_200_without_an_image_is_bad_output(
    api: respx.MockRouter, provider: GeminiProvider, body: dict[str, Any]
) -> None:
    route(api).respond(json=body)
    with pytest.raises(BadOutput) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert caught.value.retryable


async def test_bad_base64_and_non_images_are_bad_output(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    call = route(api)
    bad = {"inlineData": {"mimeType": "image/png", "data": "not*base64!"}}
    call.respond(json=answer(bad))
    with pytest.raises(BadOutput, match="base64"):
        await provider.generate(make_request(WIDE, provider=provider))
    call.respond(json=answer({"inlineData": {"mimeType": "image/png", "data": b64(b"hello, not a png")}}))
    with pytest.raises(BadOutput, match="not a readable image"):
        await provider.generate(make_request(WIDE, provider=provider))
    call.respond(text="<html>oops</html>", headers={"content-type": "text/html"})
    with pytest.raises(BadOutput, match="not JSON"):
        await provider.generate(make_request(WIDE, provider=provider))


async def test_an_ignored_image_config_is_bad_output(api: respx.MockRouter, provider: GeminiProvider) -> None:
    call = route(api)
    call.respond(json=answer(image_part(image_bytes((1024, 1024)))))  # 1:1 for a 16:9 request
    with pytest.raises(BadOutput, match="1024×1024 for 16:9 at 2K"):
        await provider.generate(make_request(WIDE, Tier.REVIEW, provider=provider))
    call.respond(json=answer(image_part(image_bytes((1376, 768)))))  # 1K for a 4K request
    with pytest.raises(BadOutput, match="expected 5504×3072"):
        await provider.generate(make_request(WIDE, Tier.FINAL, provider=provider))


# --- HTTP errors ----------------------------------------------------------------------------------------


async def test_429_with_retry_info_is_a_rate_limit(api: respx.MockRouter, provider: GeminiProvider) -> None:
    quota = {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaValue": "10"}]}
    body = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", quota, retry_detail("53s"))
    route(api).respond(429, json=body, headers={"retry-after": "5"})
    with pytest.raises(RateLimited) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert caught.value.retry_after == 53  # RetryInfo wins over the header
    assert caught.value.retryable


async def test_429_without_retry_info_uses_retry_after(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    route(api).respond(
        429, json=google_error(429, "RESOURCE_EXHAUSTED", "Slow down."), headers={"retry-after": "7"}
    )
    with pytest.raises(RateLimited) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert caught.value.retry_after == 7


async def test_a_retry_delay_too_long_to_wait_is_not_retried(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    route(api).respond(429, json=google_error(429, "RESOURCE_EXHAUSTED", "Quota.", retry_detail("3600s")))
    with pytest.raises(ProviderError) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert not isinstance(caught.value, RateLimited)
    assert not caught.value.retryable
    assert "3600s" in caught.value.message


async def test_a_zero_quota_is_not_retried(api: respx.MockRouter, provider: GeminiProvider) -> None:
    message = (
        "Quota exceeded for metric: generate_content_free_tier_requests, limit: 0, model: gemini-3-pro-image"
    )
    route(api).respond(429, json=google_error(429, "RESOURCE_EXHAUSTED", message, retry_detail("20s")))
    with pytest.raises(ProviderError, match="billing") as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")),
        (500, google_error(500, "INTERNAL", "An internal error has occurred.")),
        (
            429,
            google_error(
                429,
                "RESOURCE_EXHAUSTED",
                "No capacity available for model gemini-3-pro-image on the server",
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "MODEL_CAPACITY_EXHAUSTED"},
            ),
        ),
    ],
    ids=["503", "500", "capacity"],
)
async def test_overload_and_server_errors_are_unavailable(
    api: respx.MockRouter, provider: GeminiProvider, status: int, body: dict[str, Any]
) -> None:
    route(api).respond(status, json=body)
    with pytest.raises(Unavailable) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert caught.value.retryable


async def test_an_html_or_empty_error_body_is_handled(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    call = route(api)
    call.respond(502, text="<html><body>Bad Gateway</body></html>", headers={"content-type": "text/html"})
    with pytest.raises(Unavailable, match="HTTP 502 with text/html body"):
        await provider.generate(make_request(WIDE, provider=provider))
    call.respond(400)
    with pytest.raises(ProviderError, match="HTTP 400 with an empty body") as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert not caught.value.retryable


async def test_404_names_the_setting(api: respx.MockRouter, provider: GeminiProvider) -> None:
    route(api).respond(404, json=google_error(404, "NOT_FOUND", "models/gemini-3-pro-image is not found"))
    with pytest.raises(ModelNotFound) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert caught.value.message == (
        "Gemini does not know the model 'gemini-3-pro-image'; set GEMINI_IMAGE_MODEL to a current one"
    )
    assert not caught.value.retryable
    route(api).respond(404, text="<html>Not Found</html>", headers={"content-type": "text/html"})
    with pytest.raises(ModelNotFound, match="check GEMINI_BASE_URL"):
        await provider.generate(make_request(WIDE, provider=provider))


async def test_400_passes_googles_message_on_short(api: respx.MockRouter, provider: GeminiProvider) -> None:
    long = "Request contains an invalid argument: imageSize. " + "x" * 1000
    route(api).respond(400, json=google_error(400, "INVALID_ARGUMENT", long))
    with pytest.raises(ProviderError) as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert type(caught.value) is ProviderError and not caught.value.retryable
    assert "INVALID_ARGUMENT: Request contains an invalid argument: imageSize." in caught.value.message
    assert len(caught.value.message) < 400


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")),
        (403, google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")),
        (
            400,
            google_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            ),
        ),
    ],
    ids=["401", "403", "400-key"],
)
async def test_key_problems_are_not_retried(
    api: respx.MockRouter, provider: GeminiProvider, status: int, body: dict[str, Any]
) -> None:
    route(api).respond(status, json=body)
    with pytest.raises(ProviderError, match=r"Gemini refused the API key \(check GEMINI_API_KEY\)") as caught:
        await provider.generate(make_request(WIDE, provider=provider))
    assert not caught.value.retryable


async def test_timeouts_and_dropped_connections_are_unavailable(
    api: respx.MockRouter, provider: GeminiProvider
) -> None:
    call = route(api)
    call.side_effect = httpx.ReadTimeout("read timed out")
    with pytest.raises(Unavailable, match="did not answer in time"):
        await provider.generate(make_request(WIDE, provider=provider))
    call.side_effect = httpx.ConnectError("connection refused")
    with pytest.raises(Unavailable, match="could not reach gemini"):
        await provider.generate(make_request(WIDE, provider=provider))


async def test_the_key_never_leaks(
    api: respx.MockRouter, provider: GeminiProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = [repr(provider), str(vars(provider))]
    call = route(api)
    failures: list[Any] = [
        httpx.Response(400, json=google_error(400, "INVALID_ARGUMENT", f"bad key {KEY} given")),
        httpx.Response(403, json=google_error(403, "PERMISSION_DENIED", f"key {KEY} denied")),
        httpx.Response(429, json=google_error(429, "RESOURCE_EXHAUSTED", KEY, retry_detail("9999s"))),
        httpx.Response(503, json=google_error(503, "UNAVAILABLE", f"overloaded for {KEY}")),
        httpx.Response(404, json=google_error(404, "NOT_FOUND", KEY)),
        httpx.Response(502, text=f"<html>{KEY}</html>"),
        httpx.Response(200, json=answer({"text": f"no image for {KEY}"}, finish="IMAGE_SAFETY")),
        httpx.Response(200, json=answer({"text": f"text {KEY}"}, finish="NO_IMAGE")),
        httpx.Response(200, json={"promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": KEY}}),
        httpx.ReadTimeout(f"timed out {KEY}"),
        httpx.ConnectError(f"refused {KEY}"),
    ]
    for failure in failures:
        call.side_effect = [failure]
        with pytest.raises(ProviderError) as caught:
            await provider.generate(make_request(WIDE, provider=provider))
        err = caught.value
        seen += [str(err), err.message, repr(err), str(vars(err))]
    call.side_effect = None
    call.respond(json=answer(image_part(image_bytes((1200, 896)))))
    out = await provider.generate(make_request(Ratio(7, 5), provider=provider, transparent=True))
    seen += [*out.notes, repr(out.usage), str(out.request_id)]
    seen.append(caplog.text)
    assert all(KEY not in text for text in seen)
    assert any("[redacted]" in text for text in seen)  # Google's echo was scrubbed, not dropped


async def test_an_injected_client_is_used_and_not_closed(api: respx.MockRouter, settings: Settings) -> None:
    route(api).respond(json=answer(image_part(image_bytes((1376, 768)))))
    async with httpx.AsyncClient() as client:
        injected = GeminiProvider(settings, client=client)
        out = await injected.generate(make_request(WIDE, provider=injected))
        assert size_of(out.data) == (1376, 768)
        await injected.aclose()
        assert not client.is_closed
    assert api.calls.last.request.headers["x-goog-api-key"] == KEY


# --- a real round trip to the fake server --------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeGemini, str]]:
    server = FakeGemini()
    async with serve_asgi(server) as origin:
        yield server, origin


async def test_a_1k_draft_and_a_2k_upgrade_over_loopback(
    fake: tuple[FakeGemini, str], tmp_path: Path
) -> None:
    server, origin = fake
    settings = make_settings(
        tmp_path, gemini_api_key=SecretStr(FAKE_GEMINI_KEY), gemini_base_url=f"{origin}/v1beta"
    )
    provider = GeminiProvider(settings)
    try:
        draft = await provider.generate(make_request(WIDE, Tier.EXPLORE, provider=provider))
        assert size_of(draft.data) == (1376, 768)  # not the 256² thought image
        assert draft.request_id == "fake-1"
        assert draft.usage["candidatesTokenCount"] == 1120 and draft.usage["thoughtImages"] == 1

        review = await provider.generate(
            make_request(WIDE, Tier.REVIEW, provider=provider, references=(draft.data,))
        )
        assert size_of(review.data) == (2752, 1536)
        sent = server.requests[-1]
        assert sent.headers["x-goog-api-key"] == FAKE_GEMINI_KEY
        assert sent.image_config == {"aspectRatio": "16:9", "imageSize": "2K"}
        assert sent.references == [("image/png", draft.data)]
        assert sent.prompt.endswith(UPGRADE_INSTRUCTION)

        # the upgrade keeps the composition: scaled back down, it is the draft
        with Image.open(io.BytesIO(draft.data)) as a, Image.open(io.BytesIO(review.data)) as b:
            small = b.convert("RGB").resize(a.size, Image.Resampling.BICUBIC)
            diff = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), small)).mean
        assert max(diff) < 3

        # and the generator's fitting keeps the table size as it is
        target = provider.target_size(WIDE, Tier.REVIEW)
        fitted = prepare(review.data, target, ImageFormat.JPEG, Tier.REVIEW, max_pixels=64_000_000)
        assert fitted.encoded.size == target and fitted.fit.action == "none"
    finally:
        await provider.aclose()


async def test_faults_and_refusals_over_loopback(fake: tuple[FakeGemini, str], tmp_path: Path) -> None:
    server, origin = fake
    settings = make_settings(
        tmp_path, gemini_api_key=SecretStr(FAKE_GEMINI_KEY), gemini_base_url=f"{origin}/v1beta"
    )
    provider = GeminiProvider(settings)
    request = make_request(SQUARE, Tier.EXPLORE, provider=provider)
    try:
        server.fail_next(
            faults.rate_limited(),
            faults.overloaded(),
            faults.model_not_found(),
            faults.bad_base64(),
            faults.no_image(),
            faults.wrong_size(),
            faults.html_error(),
        )
        with pytest.raises(RateLimited) as limited:
            await provider.generate(request)
        assert limited.value.retry_after == 2
        with pytest.raises(Unavailable, match="overloaded"):
            await provider.generate(request)
        with pytest.raises(ModelNotFound, match="GEMINI_IMAGE_MODEL"):
            await provider.generate(request)
        with pytest.raises(BadOutput, match="base64"):
            await provider.generate(request)
        with pytest.raises(BadOutput, match="NO_IMAGE"):
            await provider.generate(request)
        with pytest.raises(BadOutput, match="1024×1024 for 16:9"):
            await provider.generate(make_request(WIDE, Tier.EXPLORE, provider=provider))
        with pytest.raises(Unavailable, match="502"):
            await provider.generate(request)

        with pytest.raises(Refused) as refused:
            await provider.generate(make_request(SQUARE, provider=provider, prompt="a forbidden thing"))
        assert (refused.value.category, refused.value.stage) == ("IMAGE_SAFETY", "output")
        assert "may violate our policies" in refused.value.message
        with pytest.raises(Refused) as blocked:
            await provider.generate(make_request(SQUARE, provider=provider, prompt="some contraband"))
        assert (blocked.value.category, blocked.value.stage) == ("PROHIBITED_CONTENT", "input")

        out = await provider.generate(request)  # the queue is empty again
        assert size_of(out.data) == (1024, 1024)
    finally:
        await provider.aclose()


async def test_the_fake_checks_the_key_and_the_size_spelling(
    fake: tuple[FakeGemini, str], tmp_path: Path
) -> None:
    server, origin = fake
    wrong = GeminiProvider(make_settings(tmp_path, gemini_base_url=f"{origin}/v1beta"))  # KEY, not the fake's
    try:
        with pytest.raises(ProviderError, match="refused the API key") as caught:
            await wrong.generate(make_request(WIDE, provider=wrong))
        assert not caught.value.retryable
    finally:
        await wrong.aclose()
    async with httpx.AsyncClient(base_url=origin, trust_env=False) as http:
        body = {
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "generationConfig": {"imageConfig": {"aspectRatio": "16:9", "imageSize": "1k"}},
        }
        response = await http.post(
            "/v1beta/models/gemini-3-pro-image:generateContent",
            json=body,
            headers={"x-goog-api-key": server.api_key},
        )
        assert response.status_code == 400  # lowercase k, as Google rejects it
