"""The OpenAI provider: wire mapping (respx, documented shapes), size policy, errors, and one real round
trip over loopback against :class:`fakes.openai.FakeOpenAI`."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
import respx
from PIL import Image, ImageChops, ImageStat

from bot import imaging
from bot.config import Settings
from bot.destinations import ImageFormat
from bot.errors import ConfigurationError
from bot.generation import prepare
from bot.providers.base import (
    BadOutput,
    GeneratedImage,
    GenerationRequest,
    ModelNotFound,
    ProviderError,
    RateLimited,
    Reference,
    Refused,
    Unavailable,
)
from bot.providers.openai import (
    MODELS,
    UPGRADE_INSTRUCTION,
    OpenAIConfigError,
    OpenAIProvider,
    is_legal_custom_size,
    model_spec,
    plan_size,
)
from bot.tiers import RATIO_TOLERANCE, Ratio, Size, Tier, local_size
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI, parse_multipart

BASE = "https://api.openai.test/v1"
KEY = "sk-test-draftbot-5d41402abc4b2a76b9719d911017c592"
WIDE, TALL, SQUARE, ULTRA = Ratio(16, 9), Ratio(9, 16), Ratio(1, 1), Ratio(21, 9)
PROMPT = "matte black headphones on a concrete plinth, dramatic rim light"


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_IMAGE_MODEL",
        "OPENAI_IMAGE_QUALITY",
        "DRAFTBOT_PRICES",
        "DRAFTBOT_PROVIDER_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"openai_api_key": KEY, "openai_base_url": BASE, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def make_provider() -> AsyncIterator[Callable[..., OpenAIProvider]]:
    made: list[OpenAIProvider] = []

    def build(**overrides: Any) -> OpenAIProvider:
        provider = OpenAIProvider(make_settings(**overrides))
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.aclose()


def request(
    ratio: Ratio = WIDE,
    tier: Tier = Tier.EXPLORE,
    *,
    prompt: str = PROMPT,
    references: tuple[bytes, ...] = (),
    transparent: bool = False,
) -> GenerationRequest:
    return GenerationRequest(
        prompt=prompt,
        ratio=ratio,
        tier=tier,
        seed=7,
        size=local_size(ratio, tier),
        references=tuple(Reference.of(data) for data in references),
        transparent=transparent,
    )


def encoded(
    size: tuple[int, int] = (64, 36), fmt: str = "JPEG", colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def images_response(data: bytes | None = None, **extra: Any) -> dict[str, Any]:
    """The documented success shape: ``{created, data: [{b64_json}], usage, ...}``."""
    return {
        "created": 1_790_000_000,
        "data": [{"b64_json": base64.b64encode(data or encoded()).decode()}],
        "background": "opaque",
        "output_format": "jpeg",
        "quality": "medium",
        "size": "1024x1024",  # the echo is typed to the standard sizes only: never trusted
        "usage": {
            "input_tokens": 50,
            "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
            "output_tokens": 1056,
            "output_tokens_details": {"image_tokens": 1056, "text_tokens": 0},
            "total_tokens": 1106,
        },
        **extra,
    }


def openai_error(
    message: str, code: str | None = None, type_: str = "invalid_request_error", **extra: Any
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code, **extra}}


def multipart_of(
    req: httpx.Request,
) -> tuple[dict[str, str], list[tuple[str, str | None, str | None, bytes]]]:
    parts = parse_multipart(req.content, req.headers["content-type"])
    fields = {p.name: p.data.decode() for p in parts if p.filename is None}
    files = [(p.name, p.filename, p.content_type, p.data) for p in parts if p.filename is not None]
    return fields, files


# --- construction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_key_is_a_configuration_error(key: str | None) -> None:
    with pytest.raises(OpenAIConfigError, match="OPENAI_API_KEY is not set") as caught:
        OpenAIProvider(make_settings(openai_api_key=key))
    assert isinstance(caught.value, ConfigurationError)


async def test_model_is_configuration_and_repr_has_no_key(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    provider = make_provider(openai_model="gpt-image-2-2026-04-21")
    assert provider.name == "openai"
    assert provider.model == "gpt-image-2-2026-04-21"
    assert provider.spec is MODELS["gpt-image-2"]
    assert KEY not in repr(provider)
    assert "gpt-image-2-2026-04-21" in repr(provider)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-image-2", "gpt-image-2"),
        ("gpt-image-2-2026-04-21", "gpt-image-2"),
        ("gpt-image-2.5-flare", "gpt-image-2"),  # unknown gpt-image-2*: like gpt-image-2
        ("gpt-image-1.5", "gpt-image-1.5"),
        ("gpt-image-1.5-2025-12-16", "gpt-image-1.5"),
        ("gpt-image-1", "gpt-image-1"),
        ("gpt-image-1-mini", "gpt-image-1-mini"),
        ("GPT-Image-1-Mini", "gpt-image-1-mini"),
        ("chatgpt-image-latest", "unknown"),
    ],
)
def test_model_table_lookup(model: str, family: str) -> None:
    spec = model_spec(model)
    assert spec.family == family
    if family == "unknown":  # the fixed sizes every GPT image model takes, and no risky parameters
        assert spec.sizes == "fixed"
        assert not spec.input_fidelity


# --- size policy ------------------------------------------------------------------------------------

GPT2 = MODELS["gpt-image-2"]


@pytest.mark.parametrize(
    ("ratio", "tier", "wire", "note"),
    [
        (
            WIDE,
            Tier.EXPLORE,
            "1280x720",
            "generated at 1280×720 (the smallest 16:9 size the model accepts), resized to 1024×576",
        ),
        (TALL, Tier.EXPLORE, "720x1280", "resized to 576×1024"),
        (ULTRA, Tier.EXPLORE, "1344x576", "resized to 1008×432"),
        (SQUARE, Tier.EXPLORE, "1024x1024", None),
        (WIDE, Tier.REVIEW, "2048x1152", None),
        (Ratio(3, 2), Tier.REVIEW, "2048x1360", None),  # the target itself when it is legal
        (
            WIDE,
            Tier.FINAL,
            "3840x2160",
            "generated at 3840×2160 (the model's largest for 16:9), upscaled locally to 4096×2304",
        ),
        (
            SQUARE,
            Tier.FINAL,
            "2880x2880",
            "generated at 2880×2880 (the model's largest for 1:1), upscaled locally to 4096×4096",
        ),
        (ULTRA, Tier.FINAL, "3808x1632", "upscaled locally to 4096×1760"),
    ],
)
def test_gpt_image_2_sizes(ratio: Ratio, tier: Tier, wire: str, note: str | None) -> None:
    plan = plan_size(GPT2, ratio, local_size(ratio, tier))
    assert plan.wire == wire
    assert plan.target == local_size(ratio, tier)
    if note is None:
        assert plan.note is None
    else:
        assert plan.note is not None and note in plan.note


def test_gpt_image_2_matches_the_references_1k_and_4k_table() -> None:
    """Where the tier's size is illegal, the reference's derived table (§2) is what we ask for."""
    table = {
        (1, 1): ("1024x1024", "2880x2880"),
        (3, 2): (None, "3504x2336"),
        (4, 3): ("1024x768", "3264x2448"),
        (16, 9): ("1280x720", "3840x2160"),
        (21, 9): ("1344x576", "3808x1632"),
    }
    for (w, h), (one_k, four_k) in table.items():
        for ratio, swap in ((Ratio(w, h), False), (Ratio(h, w), True)):
            for tier, expected in ((Tier.EXPLORE, one_k), (Tier.FINAL, four_k)):
                if expected is None:
                    continue
                if swap:
                    a, b = expected.split("x")
                    expected = f"{b}x{a}"
                assert plan_size(GPT2, ratio, local_size(ratio, tier)).wire == expected, (ratio, tier)


@pytest.mark.parametrize(
    "ratio",
    [
        Ratio(w, h)
        for w, h in [
            (1, 1),
            (3, 2),
            (4, 3),
            (5, 4),
            (16, 9),
            (21, 9),
            (2, 1),
            (3, 1),
            (17, 9),
            (13, 7),
            (1, 3),
            (4, 5),
            (9, 16),
            (997, 1000),
            (1000, 999),
            (239, 100),
        ]
    ],
)
def test_every_planned_gpt_image_2_size_is_legal_and_keeps_the_ratio(ratio: Ratio) -> None:
    for tier in Tier:
        plan = plan_size(GPT2, ratio, local_size(ratio, tier))
        assert is_legal_custom_size(plan.request), (ratio, tier, plan)
        assert abs(plan.request.width / plan.request.height / ratio.value - 1) <= RATIO_TOLERANCE
        assert (plan.note is None) == (plan.request == plan.target)


@pytest.mark.parametrize(
    ("ratio", "tier", "wire", "note"),
    [
        (
            WIDE,
            Tier.EXPLORE,
            "1536x1024",
            "generated at 1536×1024 (the model's fixed landscape size), "
            "cropped to 16:9 and resized to 1024×576",
        ),
        (WIDE, Tier.FINAL, "1536x1024", "cropped to 16:9 and upscaled locally to 4096×2304"),
        (TALL, Tier.EXPLORE, "1024x1536", "cropped to 9:16 and resized to 576×1024"),
        (Ratio(4, 5), Tier.REVIEW, "1024x1536", "cropped to 4:5 and upscaled locally to 1632×2048"),
        (SQUARE, Tier.EXPLORE, "1024x1024", None),
        (
            SQUARE,
            Tier.REVIEW,
            "1024x1024",
            "generated at 1024×1024 (the model's fixed square size), upscaled locally to 2048×2048",
        ),
    ],
)
def test_fixed_size_family(ratio: Ratio, tier: Tier, wire: str, note: str | None) -> None:
    for model in ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5"):
        plan = plan_size(MODELS[model], ratio, local_size(ratio, tier))
        assert plan.wire == wire
        assert plan.note == note if note is None else (plan.note is not None and note in plan.note)


def test_notes_say_what_the_generators_fit_will_do() -> None:
    """The note's verbs match bot.imaging.fit's own report for the same sizes."""
    for spec in (GPT2, MODELS["gpt-image-1.5"]):
        for ratio in (WIDE, TALL, SQUARE, ULTRA, Ratio(3, 2), Ratio(4, 5)):
            for tier in Tier:
                plan = plan_size(spec, ratio, local_size(ratio, tier))
                if plan.note is None:
                    continue
                # every size here is a multiple of 16: a 16× smaller fit makes the same decisions, fast
                img = Image.new("RGB", (plan.request.width // 16, plan.request.height // 16))
                _, report = imaging.fit(img, Size(plan.target.width // 16, plan.target.height // 16))
                assert ("cropped" in plan.note) == (report.action == "cropped"), (spec, ratio, tier)
                assert ("upscaled" in plan.note) == ("upscaled" in report.describe()), (spec, ratio, tier)


# --- generations ------------------------------------------------------------------------------------


@respx.mock(base_url=BASE, assert_all_called=True)
async def test_generation_request_and_response(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    image = encoded((1280, 720))
    route = respx_mock.post("/images/generations").respond(
        200, json=images_response(image), headers={"x-request-id": "req_abc123"}
    )
    provider = make_provider()
    out = await provider.generate(request(WIDE, Tier.EXPLORE))

    sent = route.calls.last.request
    assert sent.url == f"{BASE}/images/generations"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {
        "model": "gpt-image-2",
        "prompt": PROMPT,
        "n": 1,
        "size": "1280x720",
        "quality": "medium",
        "output_format": "jpeg",
        "moderation": "auto",
    }
    assert isinstance(out, GeneratedImage)
    assert out.data == image
    assert (out.provider, out.model, out.request_id) == ("openai", "gpt-image-2", "req_abc123")
    assert out.notes == (
        "generated at 1280×720 (the smallest 16:9 size the model accepts), resized to 1024×576",
    )
    assert out.usage == {
        "input_tokens": 50,
        "input_image_tokens": 40,
        "input_text_tokens": 10,
        "output_tokens": 1056,
        "output_image_tokens": 1056,
        "output_text_tokens": 0,
        "total_tokens": 1106,
    }
    # an estimate: $0.053 per 1024² at medium, scaled by the pixels asked for
    assert out.cost_estimate_usd == pytest.approx(0.053 * 1280 * 720 / 1024**2, abs=1e-3)


@respx.mock(base_url=BASE)
async def test_transparent_generation_asks_for_png_with_a_transparent_background(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    route = respx_mock.post("/images/generations").respond(200, json=images_response(encoded(fmt="PNG")))
    await make_provider(openai_quality="high").generate(request(SQUARE, transparent=True))
    body = json.loads(route.calls.last.request.content)
    assert body["output_format"] == "png"
    assert body["background"] == "transparent"
    assert body["quality"] == "high"
    assert body["size"] == "1024x1024"


@respx.mock(base_url=BASE)
async def test_4k_square_is_asked_at_the_models_largest_and_says_so(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    route = respx_mock.post("/images/generations").respond(200, json=images_response())
    out = await make_provider().generate(request(SQUARE, Tier.FINAL))
    assert json.loads(route.calls.last.request.content)["size"] == "2880x2880"
    assert out.notes == (
        "generated at 2880×2880 (the model's largest for 1:1), upscaled locally to 4096×4096",
    )


@respx.mock(base_url=BASE)
async def test_fixed_size_model_picks_the_orientation_and_notes_the_crop(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    route = respx_mock.post("/images/generations").respond(200, json=images_response())
    provider = make_provider(openai_model="gpt-image-1.5")
    out = await provider.generate(request(WIDE))
    assert json.loads(route.calls.last.request.content)["size"] == "1536x1024"
    assert out.notes == (
        "generated at 1536×1024 (the model's fixed landscape size), cropped to 16:9 and resized to 1024×576",
    )
    await provider.generate(request(TALL))
    assert json.loads(route.calls.last.request.content)["size"] == "1024x1536"


@respx.mock(base_url=BASE)
async def test_configured_prices_win_over_the_estimate(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    respx_mock.post("/images/generations").respond(200, json=images_response())
    provider = make_provider(prices={"1K": 0.07, "4K": 0.5})
    assert (await provider.generate(request(WIDE, Tier.EXPLORE))).cost_estimate_usd == 0.07
    unpriced = make_provider(openai_quality="low")
    assert (await unpriced.generate(request(SQUARE))).cost_estimate_usd == pytest.approx(0.006)


@respx.mock(base_url=BASE)
async def test_usage_is_optional(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    body = images_response()
    del body["usage"]
    respx_mock.post("/images/generations").respond(200, json=body)
    out = await make_provider().generate(request(SQUARE))
    assert out.usage == {}
    assert out.request_id is None


# --- edits (2K / 4K upgrades) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fidelity", "size"),
    [
        ("gpt-image-2", None, "2048x1152"),
        ("gpt-image-1.5", "high", "1536x1024"),
        ("gpt-image-1", "high", "1536x1024"),
        ("gpt-image-1-mini", None, "1536x1024"),
    ],
)
@respx.mock(base_url=BASE)
async def test_upgrades_are_multipart_edits_with_the_winner_as_image(
    respx_mock: respx.MockRouter,
    make_provider: Callable[..., OpenAIProvider],
    model: str,
    fidelity: str | None,
    size: str,
) -> None:
    winner = encoded((1024, 576))
    route = respx_mock.post("/images/edits").respond(
        200, json=images_response(), headers={"x-request-id": "req_e"}
    )
    out = await make_provider(openai_model=model).generate(request(WIDE, Tier.REVIEW, references=(winner,)))

    sent = route.calls.last.request
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    fields, files = multipart_of(sent)
    expected = {
        "model": model,
        "prompt": f"{PROMPT}\n\n{UPGRADE_INSTRUCTION}",
        "n": "1",
        "size": size,
        "quality": "medium",
        "output_format": "jpeg",
    }
    if fidelity:
        expected["input_fidelity"] = fidelity
    assert fields == expected
    assert files == [("image[]", "reference-1.jpg", "image/jpeg", winner)]
    assert out.request_id == "req_e"


@respx.mock(base_url=BASE)
async def test_reference_content_type_is_sniffed_from_the_bytes(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    route = respx_mock.post("/images/edits").respond(200, json=images_response())
    png, webp = encoded(fmt="PNG"), encoded(fmt="WEBP")
    await make_provider().generate(request(SQUARE, Tier.FINAL, references=(png, webp), transparent=True))
    fields, files = multipart_of(route.calls.last.request)
    assert [(name, ctype) for name, _, ctype, _ in files] == [
        ("image[]", "image/png"),
        ("image[]", "image/webp"),
    ]
    assert fields["background"] == "transparent"
    assert fields["output_format"] == "png"
    assert fields["size"] == "2880x2880"


async def test_a_reference_that_is_not_an_image_fails_before_any_request(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.post("/images/edits")
        with pytest.raises(ProviderError, match="not a PNG, JPEG or WEBP") as caught:
            await make_provider().generate(request(references=(b"GIF89a...",)))
        assert not caught.value.retryable
        assert not route.called


# --- errors -----------------------------------------------------------------------------------------


async def fail_with(
    provider: OpenAIProvider, response: httpx.Response | Exception, req: GenerationRequest | None = None
) -> ProviderError:
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("/images/generations")
        if isinstance(response, Exception):
            route.side_effect = response
        else:
            route.return_value = response
        with pytest.raises(ProviderError) as caught:
            await provider.generate(req or request())
    return caught.value


MODERATION = openai_error(
    "Your request was rejected by the safety system. If you believe this is an error, contact us at "
    "help.openai.com and include the request ID req_123. safety_violations=[sexual].",
    "moderation_blocked",
    "image_generation_user_error",
    moderation_details={"moderation_stage": "output", "categories": ["sexual", "violence"]},
)


async def test_moderation_block_is_a_refusal_with_category_and_stage(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    err = await fail_with(make_provider(), httpx.Response(400, json=MODERATION))
    assert isinstance(err, Refused)
    assert err.category == "sexual, violence"
    assert err.stage == "output"
    assert err.message.startswith("Your request was rejected by the safety system.")
    assert err.provider == "openai"
    assert not err.retryable


async def test_legacy_content_policy_violation_is_a_refusal(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    body = openai_error(
        "Your request was rejected as a result of our safety system.", "content_policy_violation"
    )
    err = await fail_with(make_provider(), httpx.Response(400, json=body))
    assert isinstance(err, Refused)
    assert (err.category, err.stage) == ("", "")


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ],
)
async def test_429_is_rate_limited_with_the_hint(
    make_provider: Callable[..., OpenAIProvider], headers: dict[str, str], wait: float
) -> None:
    body = openai_error(
        "Rate limit reached for gpt-image-2 on images per minute.", "rate_limit_exceeded", "requests"
    )
    err = await fail_with(make_provider(), httpx.Response(429, json=body, headers=headers))
    assert isinstance(err, RateLimited)
    assert err.retryable
    assert err.retry_after == pytest.approx(wait)
    assert "images per minute" in err.message


async def test_429_wait_is_read_from_the_message_without_a_header(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    body = openai_error(
        "Rate limit reached. Please try again after 51.84 seconds.", "rate_limit_exceeded", "requests"
    )
    err = await fail_with(make_provider(), httpx.Response(429, json=body))
    assert isinstance(err, RateLimited)
    assert err.retry_after == pytest.approx(51.84)


async def test_a_600_second_hint_is_not_retried(make_provider: Callable[..., OpenAIProvider]) -> None:
    err = await fail_with(
        make_provider(), httpx.Response(429, json=openai_error("slow down"), headers={"retry-after": "600"})
    )
    assert not isinstance(err, RateLimited)
    assert not err.retryable
    assert "600s" in err.message


async def test_x_should_retry_false_is_honoured(make_provider: Callable[..., OpenAIProvider]) -> None:
    err = await fail_with(
        make_provider(), httpx.Response(503, json=openai_error("busy"), headers={"x-should-retry": "false"})
    )
    assert not err.retryable
    assert "asked not to retry" in err.message


async def test_out_of_quota_429_is_not_a_rate_limit(make_provider: Callable[..., OpenAIProvider]) -> None:
    body = openai_error(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )
    err = await fail_with(make_provider(), httpx.Response(429, json=body))
    assert not err.retryable
    assert "billing" in err.message


@pytest.mark.parametrize("status", [408, 409])
async def test_408_and_409_are_retryable(make_provider: Callable[..., OpenAIProvider], status: int) -> None:
    err = await fail_with(make_provider(), httpx.Response(status, json=openai_error("conflict")))
    assert isinstance(err, RateLimited)


async def test_503_is_unavailable(make_provider: Callable[..., OpenAIProvider]) -> None:
    body = openai_error("The server is overloaded.", None, "server_error")
    err = await fail_with(make_provider(), httpx.Response(503, json=body, headers={"retry-after": "3"}))
    assert isinstance(err, Unavailable)
    assert err.retryable
    assert err.retry_after == 3.0
    assert "overloaded" in err.message


@pytest.mark.parametrize(
    ("status", "content", "kind", "expected"),
    [
        (
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>",
            Unavailable,
            "502 Bad Gateway",
        ),
        (500, b"", Unavailable, "HTTP 500"),
        (400, b"<html><body><p>Bad   request</p></body></html>", ProviderError, "Bad request"),
        (500, b"\xff\xfe not json", Unavailable, "HTTP 500"),
    ],
)
async def test_non_json_error_bodies_are_handled(
    make_provider: Callable[..., OpenAIProvider],
    status: int,
    content: bytes,
    kind: type[ProviderError],
    expected: str,
) -> None:
    err = await fail_with(
        make_provider(), httpx.Response(status, content=content, headers={"content-type": "text/html"})
    )
    assert type(err) is kind
    assert expected in err.message
    assert "<" not in err.message


async def test_404_is_model_not_found_naming_the_setting(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    body = openai_error(
        "The model `gpt-image-9` does not exist or you do not have access to it.", "model_not_found"
    )
    err = await fail_with(make_provider(openai_model="gpt-image-9"), httpx.Response(404, json=body))
    assert isinstance(err, ModelNotFound)
    assert not err.retryable
    assert (
        err.message == "OpenAI does not know the model 'gpt-image-9'; set OPENAI_IMAGE_MODEL to a current one"
    )
    html = await fail_with(make_provider(), httpx.Response(404, text="404 page not found"))
    assert isinstance(html, ModelNotFound)
    assert "OPENAI_BASE_URL" in html.message


async def test_other_400s_carry_openais_message_truncated(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    long = "Invalid size '1024x576'. The total number of pixels must be at least 655360. " + "x" * 1000
    err = await fail_with(make_provider(), httpx.Response(400, json=openai_error(long, "invalid_value")))
    assert type(err) is ProviderError
    assert not err.retryable
    assert "HTTP 400, invalid_value" in err.message
    assert "at least 655360" in err.message
    assert len(err.message) < 400


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_named_without_the_key(
    make_provider: Callable[..., OpenAIProvider], status: int
) -> None:
    body = openai_error(f"Incorrect API key provided: {KEY[:8]}***{KEY[-4:]}.", "invalid_api_key")
    err = await fail_with(make_provider(), httpx.Response(status, json=body))
    assert type(err) is ProviderError
    assert not err.retryable
    assert err.message.startswith("OpenAI refused the API key (check OPENAI_API_KEY")
    assert KEY[:8] not in err.message


@pytest.mark.parametrize(
    "body",
    [
        {"created": 1, "data": [{"b64_json": "%%% not base64 %%%"}]},
        {"created": 1, "data": []},
        {"created": 1, "data": [{"url": "https://example.test/x.png"}]},
        {"created": 1},
        {"created": 1, "data": [{"b64_json": base64.b64encode(b"plain text, not an image").decode()}]},
    ],
)
async def test_a_200_without_a_usable_image_is_bad_output(
    make_provider: Callable[..., OpenAIProvider], body: dict[str, Any]
) -> None:
    err = await fail_with(make_provider(), httpx.Response(200, json=body))
    assert isinstance(err, BadOutput)
    assert err.retryable


async def test_a_200_that_is_not_json_is_bad_output(make_provider: Callable[..., OpenAIProvider]) -> None:
    err = await fail_with(make_provider(), httpx.Response(200, text="<html>captive portal</html>"))
    assert isinstance(err, BadOutput)


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("eof")],
)
async def test_transport_failures_are_unavailable(
    make_provider: Callable[..., OpenAIProvider], failure: Exception
) -> None:
    err = await fail_with(make_provider(), failure)
    assert isinstance(err, Unavailable)
    assert err.retryable


async def test_the_key_never_leaks(
    make_provider: Callable[..., OpenAIProvider], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = make_provider()
    texts = [repr(provider), str(provider)]
    failures: list[httpx.Response | Exception] = [
        httpx.Response(401, json=openai_error(f"Incorrect API key provided: {KEY}.", "invalid_api_key")),
        httpx.Response(403, json=openai_error(f"Key {KEY} may not use this model.")),
        httpx.Response(400, json=openai_error(f"The key {KEY} was echoed by a proxy.", "invalid_value")),
        httpx.Response(429, json=openai_error(f"quota for {KEY}"), headers={"retry-after": "900"}),
        httpx.Response(500, text=f"<html><title>upstream {KEY} failed</title></html>"),
        httpx.Response(
            400, json={**MODERATION, "error": {**MODERATION["error"], "message": f"blocked {KEY}"}}
        ),
        httpx.Response(404, json=openai_error("no such model")),
        httpx.Response(200, json={"data": [{"b64_json": "not*base64"}]}),
        httpx.ReadTimeout(f"timed out talking to {BASE}"),
        httpx.ConnectError("refused"),
    ]
    for failure in failures:
        err = await fail_with(provider, failure)
        texts += [str(err), repr(err), err.message, *(str(a) for a in err.args)]
        if isinstance(err, Refused):
            texts += [err.category, err.stage]
    with respx.mock(base_url=BASE) as mock:
        mock.post("/images/generations").respond(200, json=images_response())
        ok = await provider.generate(request(WIDE, Tier.FINAL))
    texts += [*ok.notes, repr(ok.usage), str(ok.request_id), caplog.text]
    leaked = [text for text in texts if KEY in text or KEY[3:20] in text]
    assert not leaked


# --- clients ----------------------------------------------------------------------------------------


async def test_an_injected_client_is_not_closed_and_gets_the_key_per_request() -> None:
    async with httpx.AsyncClient() as client:
        provider = OpenAIProvider(make_settings(), client=client)
        with respx.mock(base_url=BASE) as mock:
            route = mock.post("/images/generations").respond(200, json=images_response())
            await provider.generate(request(SQUARE))
        assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
        await provider.aclose()
        assert not client.is_closed


async def test_an_owned_client_is_closed() -> None:
    provider = OpenAIProvider(make_settings())
    await provider.aclose()
    assert provider._client.is_closed


# --- over loopback, through the real httpx path -----------------------------------------------------


@pytest.fixture
async def fake_openai() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    async with serve_asgi(fake) as origin:
        yield fake, f"{origin}/v1"


def measure(data: bytes) -> Size:
    with Image.open(io.BytesIO(data)) as img:
        return Size(*img.size)


async def test_generate_then_upgrade_against_the_fake_over_loopback(
    fake_openai: tuple[FakeOpenAI, str],
) -> None:
    fake, base_url = fake_openai
    provider = OpenAIProvider(make_settings(openai_api_key=fake.api_key, openai_base_url=base_url))
    try:
        draft = await provider.generate(request(WIDE, Tier.EXPLORE))
        assert measure(draft.data) == Size(1280, 720)  # asked at the legal size...
        assert draft.request_id and draft.request_id.startswith("req_fake")
        assert draft.usage["output_tokens"] > 0
        prepared = prepare(draft.data, Size(1024, 576), ImageFormat.JPEG, Tier.EXPLORE, max_pixels=64_000_000)
        assert prepared.encoded.size == Size(1024, 576)  # ...and the generator's fit delivers the tier's size
        assert prepared.fit.action == "resized"

        winner = prepared.encoded.data
        review = await provider.generate(request(WIDE, Tier.REVIEW, references=(winner,)))
        assert measure(review.data) == Size(2048, 1152)
        assert review.notes == ()
        # the fake redraws the reference at the new size: the composition is literally preserved
        original = Image.open(io.BytesIO(winner)).convert("RGB").resize((2048, 1152))
        upgraded = Image.open(io.BytesIO(review.data)).convert("RGB")
        assert sum(ImageStat.Stat(ImageChops.difference(original, upgraded)).mean) / 3 < 4
    finally:
        await provider.aclose()

    generation, edit = fake.requests
    assert (generation.endpoint, generation.status, generation.fields["size"]) == (
        "generations",
        200,
        "1280x720",
    )
    assert edit.endpoint == "edits" and edit.status == 200
    assert edit.fields["size"] == "2048x1152"
    assert "input_fidelity" not in edit.fields  # gpt-image-2 would reject it
    assert [(p.name, p.content_type, p.data) for p in edit.images] == [("image[]", "image/jpeg", winner)]
    assert edit.fields["prompt"].endswith(UPGRADE_INSTRUCTION)


async def test_faults_from_the_fake_over_loopback(fake_openai: tuple[FakeOpenAI, str]) -> None:
    fake, base_url = fake_openai
    provider = OpenAIProvider(make_settings(openai_api_key=fake.api_key, openai_base_url=base_url))
    try:
        with pytest.raises(Refused) as refused:
            await provider.generate(request(prompt="a forbidden poster"))
        assert (refused.value.category, refused.value.stage) == ("violence", "input")

        fake.fail_next(429, retry_after="2", code="rate_limit_exceeded")
        with pytest.raises(RateLimited) as limited:
            await provider.generate(request())
        assert limited.value.retry_after == 2.0

        fake.fail_next(502, html=True)
        with pytest.raises(Unavailable, match="502 Bad Gateway"):
            await provider.generate(request())

        fake.malformed_next()
        with pytest.raises(BadOutput):
            await provider.generate(request())

        fake.wrong_size_next(1024, 1024)  # the echoed size says 1280x720; only measuring tells
        odd = await provider.generate(request())
        assert measure(odd.data) == Size(1024, 1024)
    finally:
        await provider.aclose()

    wrong_model = OpenAIProvider(
        make_settings(openai_api_key=fake.api_key, openai_base_url=base_url, openai_model="gpt-image-9")
    )
    wrong_key = OpenAIProvider(
        make_settings(openai_api_key="sk-not-the-right-key-at-all-0000", openai_base_url=base_url)
    )
    try:
        with pytest.raises(ModelNotFound, match="OPENAI_IMAGE_MODEL"):
            await wrong_model.generate(request())
        with pytest.raises(ProviderError, match="refused the API key") as denied:
            await wrong_key.generate(request())
        assert "sk-not" not in str(denied.value)
    finally:
        await wrong_model.aclose()
        await wrong_key.aclose()


async def test_fake_rejects_input_fidelity_for_gpt_image_2(fake_openai: tuple[FakeOpenAI, str]) -> None:
    """The fake holds the provider to the wire rules: gpt-image-1.5 sends input_fidelity and is accepted."""
    fake, base_url = fake_openai
    provider = OpenAIProvider(
        make_settings(openai_api_key=fake.api_key, openai_base_url=base_url, openai_model="gpt-image-1.5")
    )
    try:
        out = await provider.generate(request(TALL, Tier.REVIEW, references=(encoded((576, 1024)),)))
        assert measure(out.data) == Size(1024, 1536)
        assert fake.requests[-1].fields["input_fidelity"] == "high"
    finally:
        await provider.aclose()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base_url}/images/edits",
            headers={"Authorization": f"Bearer {fake.api_key}"},
            data={"model": "gpt-image-2", "prompt": "x", "size": "1024x1024", "input_fidelity": "high"},
            files=[("image[]", ("a.jpg", encoded(), "image/jpeg"))],
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input_fidelity_model"


@respx.mock(base_url=BASE)
async def test_the_estimate_before_a_call_is_what_the_call_says_it_cost(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    """Budgets refuse on the estimate; the audit records the call's figure: they must agree."""
    respx_mock.post("/images/generations").respond(200, json=images_response())
    provider = make_provider()
    for ratio in (WIDE, TALL, SQUARE):
        for tier in Tier:
            out = await provider.generate(request(ratio, tier))
            assert provider.estimate_usd(ratio, tier) == out.cost_estimate_usd > 0, (ratio, tier)


@respx.mock(base_url=BASE)
async def test_a_drafts_own_quality_is_asked_for_and_priced(
    respx_mock: respx.MockRouter, make_provider: Callable[..., OpenAIProvider]
) -> None:
    route = respx_mock.post("/images/generations").respond(200, json=images_response())
    provider = make_provider(openai_quality="medium")
    out = await provider.generate(replace(request(SQUARE), quality="low"))
    assert json.loads(route.calls.last.request.content)["quality"] == "low"
    assert out.cost_estimate_usd == pytest.approx(0.006) == provider.estimate_usd(SQUARE, Tier.EXPLORE, "low")
    assert provider.estimate_usd(SQUARE, Tier.EXPLORE) == pytest.approx(0.053)
