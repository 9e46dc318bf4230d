"""OpenAI's Images API (gpt-image-2 and the gpt-image-1 family) behind :class:`ImageProvider`.

- 1K variants: ``POST {base}/images/generations`` (JSON), one request per variant.
- 2K/4K upgrades: ``POST {base}/images/edits`` (multipart) with the winner as the reference image.

Sizes: we always deliver :func:`bot.tiers.local_size` (``target_size``). What we *ask* OpenAI for is that
size when the model accepts it, otherwise the nearest size it does accept, with an honest note saying what
the generator's fit will do about the difference (see :func:`plan_size`).

Retrying is the job runner's work; this module only classifies failures (see :mod:`bot.providers.http`).
The API key lives in the client's Authorization header and nowhere else: error messages are built from
status codes and OpenAI's messages with anything key-shaped removed.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import SecretStr

from bot.config import Settings
from bot.errors import ConfigurationError
from bot.providers.base import (
    BadOutput,
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    ModelNotFound,
    ProviderError,
    RateLimited,
    Refused,
    Unavailable,
)
from bot.providers.http import (
    build_http_client,
    decode_base64_image,
    retry_after,
    too_long_to_wait,
    transport_errors,
)
from bot.tiers import RATIO_TOLERANCE, Ratio, Size, Tier, local_size

log = logging.getLogger(__name__)

UPGRADE_INSTRUCTION = (
    "Regenerate this exact image at higher resolution. Preserve the composition, subject, lighting, "
    "colours and the empty headline-safe space; add detail only."
)

MAX_PROMPT_CHARS = 32_000  # GPT image models
MAX_REFERENCES = 16  # image[] parts per edit
MAX_REFERENCE_BYTES = 50 * 1024 * 1024  # per image part
_MESSAGE_CHARS = 300  # OpenAI's messages are quoted, truncated to this

# --- models ------------------------------------------------------------------------------------------

SizePolicy = Literal["custom", "fixed"]


@dataclass(frozen=True)
class ModelSpec:
    """What draftbot needs to know about one image model. The model *name* is configuration
    (``OPENAI_IMAGE_MODEL``); this is how we treat it.

    Prices are rough estimates in USD for one 1024×1024 output image at each quality, scaled by the pixels
    actually generated. They ignore input-image tokens (edits cost more) and change often: set
    ``DRAFTBOT_PRICES`` for real budgeting.
    """

    family: str
    sizes: SizePolicy  # "custom": any legal WxH (gpt-image-2); "fixed": 1024², 1536×1024, 1024×1536
    input_fidelity: bool  # edits accept input_fidelity=high
    usd_low: float
    usd_medium: float
    usd_high: float

    def estimate_usd(self, quality: str, size: Size) -> float:
        """Approximate cost of one image of ``size``; ``auto`` is estimated as ``high`` (the dearest)."""
        per_image = {"low": self.usd_low, "medium": self.usd_medium}.get(quality, self.usd_high)
        return round(per_image * size.pixels / (1024 * 1024), 4)


# gpt-image-2: the reference page's §5 (secondary pages quoting OpenAI, May 2026). The gpt-image-1 family:
# OpenAI's published per-image prices for 1024² as last seen (gpt-image-1.5 matches the reference's
# $0.009–$0.20 range). All approximate.
MODELS: Mapping[str, ModelSpec] = {
    "gpt-image-2": ModelSpec("gpt-image-2", "custom", False, 0.006, 0.053, 0.211),
    "gpt-image-1.5": ModelSpec("gpt-image-1.5", "fixed", True, 0.009, 0.034, 0.133),
    "gpt-image-1": ModelSpec("gpt-image-1", "fixed", True, 0.011, 0.042, 0.167),
    "gpt-image-1-mini": ModelSpec("gpt-image-1-mini", "fixed", False, 0.005, 0.011, 0.036),
}
# An unknown model that is not a gpt-image-2 variant: the standard sizes every GPT image model takes, and
# no input_fidelity (a parameter a model rejects fails every upgrade; a missing one only lowers fidelity).
_UNKNOWN_MODEL = ModelSpec("unknown", "fixed", False, 0.011, 0.042, 0.167)


def model_spec(model: str) -> ModelSpec:
    """The table row for ``model``: the exact id, else a known id it extends (a dated snapshot such as
    ``gpt-image-1.5-2025-12-16``), else any ``gpt-image-2*`` as gpt-image-2, else the fixed-size family."""
    name = model.strip().lower()
    if name in MODELS:
        return MODELS[name]
    prefixes = [key for key in MODELS if name.startswith(key) and not name[len(key) : len(key) + 1].isdigit()]
    if prefixes:
        return MODELS[max(prefixes, key=len)]
    if name.startswith("gpt-image-2"):
        return MODELS["gpt-image-2"]
    return _UNKNOWN_MODEL


# --- sizes -------------------------------------------------------------------------------------------

# gpt-image-2's custom sizes (OpenAI SDK docstrings; pixel and edge limits as mirrored by gateways).
CUSTOM_STEP = 16
CUSTOM_MIN_PIXELS = 655_360
CUSTOM_MAX_PIXELS = 8_294_400  # 3840×2160
CUSTOM_MAX_EDGE = 3840
CUSTOM_MIN_RATIO, CUSTOM_MAX_RATIO = 1 / 3, 3.0
# Where the model needs a different size, one with exactly the asked ratio is preferred (the fit is then
# a pure resize) unless it costs this many times the pixels of the nearest size within 1%.
_EXACT_RATIO_PREFERENCE = 1.5
# bot.imaging.fit resizes away ratio differences up to 0.5% and crops beyond that; notes say the same.
_FIT_CROPS_BEYOND = 0.005

FIXED_SIZES = {"landscape": Size(1536, 1024), "portrait": Size(1024, 1536), "square": Size(1024, 1024)}


def is_legal_custom_size(size: Size) -> bool:
    """Whether gpt-image-2 accepts ``size`` as ``WxH``."""
    w, h = size.width, size.height
    return (
        w > 0
        and h > 0
        and w % CUSTOM_STEP == 0
        and h % CUSTOM_STEP == 0
        and CUSTOM_MIN_RATIO <= w / h <= CUSTOM_MAX_RATIO
        and max(w, h) <= CUSTOM_MAX_EDGE
        and CUSTOM_MIN_PIXELS <= size.pixels <= CUSTOM_MAX_PIXELS
    )


@lru_cache(maxsize=64)
def _custom_candidates(ratio: Ratio) -> tuple[tuple[Size, float], ...]:
    """Every legal gpt-image-2 size within 1% of ``ratio``, with its ratio error, smallest first."""
    found: dict[Size, float] = {}
    for h in range(CUSTOM_STEP, CUSTOM_MAX_EDGE + 1, CUSTOM_STEP):
        exact_w = h * ratio.value
        for w in {
            math.floor(exact_w / CUSTOM_STEP) * CUSTOM_STEP,
            math.ceil(exact_w / CUSTOM_STEP) * CUSTOM_STEP,
        }:
            size = Size(w, h)
            if w <= 0 or not is_legal_custom_size(size):
                continue
            exact = w * ratio.height == h * ratio.width  # integers: no float noise for exact ratios
            error = 0.0 if exact else abs((w / h) / ratio.value - 1)
            if error <= RATIO_TOLERANCE:
                found[size] = error
    return tuple(sorted(found.items(), key=lambda item: (item[0].pixels, item[1])))


@dataclass(frozen=True)
class SizePlan:
    """The size we ask the model for, the size we deliver, and what the generator's fit will do between."""

    request: Size
    target: Size
    note: str | None = None

    @property
    def wire(self) -> str:
        return f"{self.request.width}x{self.request.height}"


def plan_size(spec: ModelSpec, ratio: Ratio, target: Size) -> SizePlan:
    """Which size to ask for to deliver ``target`` (``ratio``).

    gpt-image-2 (custom): ``target`` itself when legal. Below the pixel minimum, the smallest legal size
    of the ratio (1K 16:9 → 1280×720, 21:9 → 1344×576); above the maximum, the largest (4K 16:9 →
    3840×2160, 1:1 → 2880×2880, 3:2 → 3504×2336), preferring an exact ratio (see
    ``_EXACT_RATIO_PREFERENCE``) and always within 1%.

    Fixed-size family: the standard size of the ratio's orientation; the fit crops (cover) and resizes.
    """
    if spec.sizes == "fixed":
        orientation = ratio.orientation
        request = FIXED_SIZES[orientation]
        why = f"the model's fixed {orientation} size"
    else:
        if is_legal_custom_size(target):
            return SizePlan(target, target)
        candidates = _custom_candidates(ratio)
        if not candidates:  # not for any ratio within 1:3..3:1, which is all Ratio.parse lets through
            raise ProviderError(f"gpt-image-2 has no size for the ratio {ratio}", provider="openai")
        if target.pixels < CUSTOM_MIN_PIXELS:
            request = _prefer_exact(candidates, smallest=True)
            why = f"the smallest {ratio} size the model accepts"
        elif target.pixels > CUSTOM_MAX_PIXELS or max(target.width, target.height) > CUSTOM_MAX_EDGE:
            request = _prefer_exact(candidates, smallest=False)
            why = f"the model's largest for {ratio}"
        else:  # in range but not on the 16-px grid or ratio limits
            request = min(candidates, key=lambda c: (abs(math.log(c[0].pixels / target.pixels)), c[1]))[0]
            why = "the nearest size the model accepts"
    if request == target:
        return SizePlan(request, target)
    return SizePlan(request, target, _fit_note(request, target, ratio, why))


def _prefer_exact(candidates: tuple[tuple[Size, float], ...], *, smallest: bool) -> Size:
    ordered = candidates if smallest else tuple(reversed(candidates))
    nearest = ordered[0][0]
    exact = next((size for size, error in ordered if error == 0.0), None)
    if exact is None:
        return nearest
    small, large = sorted((exact.pixels, nearest.pixels))
    return exact if large <= small * _EXACT_RATIO_PREFERENCE else nearest


def _fit_note(generated: Size, target: Size, ratio: Ratio, why: str) -> str:
    """Say what ``bot.imaging.fit`` (cover) will do to turn ``generated`` into ``target``."""
    gen_ratio, dst_ratio = generated.width / generated.height, target.width / target.height
    crops = abs(gen_ratio / dst_ratio - 1) > _FIT_CROPS_BEYOND
    kept = generated
    if crops:
        if gen_ratio > dst_ratio:
            kept = Size(round(generated.height * dst_ratio), generated.height)
        else:
            kept = Size(generated.width, round(generated.width / dst_ratio))
    verb = "upscaled locally" if target.pixels > kept.pixels else "resized"
    if crops:
        return f"generated at {generated} ({why}), cropped to {ratio} and {verb} to {target}"
    return f"generated at {generated} ({why}), {verb} to {target}"


# --- the provider ------------------------------------------------------------------------------------


class OpenAIConfigError(ConfigurationError):
    """The OpenAI provider cannot be built from these settings (raised at start-up)."""


class OpenAIProvider:
    """:class:`~bot.providers.base.ImageProvider` over OpenAI's Images API with raw httpx."""

    name = "openai"

    def __init__(self, settings: Settings, *, client: httpx.AsyncClient | None = None) -> None:
        key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
        if not key:
            raise OpenAIConfigError(
                "OPENAI_API_KEY is not set: the openai provider needs an API key "
                "(or use DRAFTBOT_PROVIDER=local)."
            )
        model = settings.openai_model.strip()
        if not model:
            raise OpenAIConfigError(
                "OPENAI_IMAGE_MODEL is empty: set it to an image model, e.g. gpt-image-2."
            )
        self.model = model
        self.spec = model_spec(model)
        self.quality: str = settings.openai_quality
        self.base_url = settings.openai_base_url.rstrip("/")
        self._prices = {tier.strip().upper(): usd for tier, usd in settings.prices.items()}
        self._key = SecretStr(key)
        self._owns_client = client is None
        self._client = (
            client
            if client is not None
            else build_http_client(
                self.base_url,
                timeout=settings.provider_timeout_seconds,
                headers={"Authorization": f"Bearer {key}"},
            )
        )

    def __repr__(self) -> str:
        return f"OpenAIProvider(model={self.model!r}, base_url={self.base_url!r}, quality={self.quality!r})"

    # --- sizes -------------------------------------------------------------------------------------

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return local_size(ratio, tier)

    def size_plan(self, ratio: Ratio, target: Size) -> SizePlan:
        """What we will ask this model for to deliver ``target``, and the note that explains it."""
        return plan_size(self.spec, ratio, target)

    def estimate_usd(self, tier: Tier, size: Size) -> float:
        """``DRAFTBOT_PRICES`` for ``tier`` when set, else the model table's rough estimate for ``size``."""
        configured = self._prices.get(str(tier))
        if configured is not None:
            return configured
        return self.spec.estimate_usd(self.quality, size)

    # --- generation --------------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        plan = self.size_plan(request.ratio, request.size)
        if request.references:
            response = await self._edit(request, plan)
        else:
            response = await self._generate(request, plan)
        body = _json_object(response)
        if body is None:
            raise BadOutput("OpenAI answered with a body that is not a JSON object", provider=self.name)
        data = _first_image(body)
        image = decode_base64_image(data.get("b64_json"), provider=self.name)
        if _sniff_image(image) is None:
            raise BadOutput("OpenAI's image data is not a PNG, JPEG or WEBP image", provider=self.name)
        notes = [plan.note] if plan.note else []
        return GeneratedImage(
            data=image,
            provider=self.name,
            model=self.model,
            cost_estimate_usd=self.estimate_usd(request.tier, plan.request),
            request_id=response.headers.get("x-request-id"),
            notes=tuple(notes),
            usage=_flatten_usage(body.get("usage")),
        )

    async def _generate(self, request: GenerationRequest, plan: SizePlan) -> httpx.Response:
        _check_prompt(request.prompt)
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": request.prompt,
            "n": 1,
            "size": plan.wire,
            "quality": self.quality,
            "output_format": _output_format(request),
            "moderation": "auto",
        }
        if request.transparent:
            payload["background"] = "transparent"
        return await self._post("generations", plan, json=payload)

    async def _edit(self, request: GenerationRequest, plan: SizePlan) -> httpx.Response:
        prompt = f"{request.prompt.rstrip()}\n\n{UPGRADE_INSTRUCTION}"
        _check_prompt(prompt)
        if len(request.references) > MAX_REFERENCES:
            raise ProviderError(
                f"OpenAI takes at most {MAX_REFERENCES} reference images, got {len(request.references)}",
                provider=self.name,
            )
        fields: dict[str, str] = {
            "model": self.model,
            "prompt": prompt,
            "n": "1",
            "size": plan.wire,
            "quality": self.quality,
            "output_format": _output_format(request),
        }
        if request.transparent:
            fields["background"] = "transparent"
        if self.spec.input_fidelity:
            fields["input_fidelity"] = "high"
        files = [
            ("image[]", _reference_part(number, data, provider=self.name))
            for number, data in enumerate(request.references, start=1)
        ]
        return await self._post("edits", plan, data=fields, files=files)

    async def _post(self, endpoint: str, plan: SizePlan, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        async with transport_errors(self.name):
            response = await self._client.post(
                f"{self.base_url}/images/{endpoint}", headers=self._auth_headers(), **kwargs
            )
        log.info(
            "openai images/%s model=%s size=%s: HTTP %s in %.1fs (request %s)",
            endpoint,
            self.model,
            plan.wire,
            response.status_code,
            time.monotonic() - started,
            response.headers.get("x-request-id", "-"),
        )
        if not response.is_success:
            raise self._error(response)
        return response

    def _auth_headers(self) -> dict[str, str]:
        """An injected client may come without our key (tests, a shared pool): add it per request."""
        if "authorization" in self._client.headers:
            return {}
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    # --- errors ------------------------------------------------------------------------------------

    def _error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        parsed = _ErrorInfo.parse(response)  # every text from the body is redacted before use
        info = replace(
            parsed,
            message=self._redact(parsed.message),
            code=self._redact(parsed.code),
            type=self._redact(parsed.type),
            categories=self._redact(parsed.categories),
            stage=self._redact(parsed.stage),
        )
        message = info.message or f"HTTP {status} with no error message"
        provider = self.name

        if info.code in ("moderation_blocked", "content_policy_violation") or info.type == (
            "content_policy_violation"
        ):
            return Refused(message, provider=provider, category=info.categories, stage=info.stage)
        if status == 401:
            return ProviderError("OpenAI refused the API key (check OPENAI_API_KEY)", provider=provider)
        if status == 403:
            return ProviderError(
                "OpenAI refused the API key (check OPENAI_API_KEY, and that its organization may use "
                f"{self.model!r}{_code_suffix(info.code)})",
                provider=provider,
            )
        if status == 404:
            hint = "" if info.is_openai else " (the answer was not OpenAI's: check OPENAI_BASE_URL too)"
            return ModelNotFound(
                f"OpenAI does not know the model {self.model!r}; "
                f"set OPENAI_IMAGE_MODEL to a current one{hint}",
                provider=provider,
            )
        if status == 429 and info.code in ("insufficient_quota", "billing_hard_limit_reached"):
            return ProviderError(
                f"OpenAI says the account is out of credit or quota (check billing): {message}",
                provider=provider,
            )
        wait = retry_after(response.headers)
        if wait is None:
            wait = _wait_from_message(info.message)
        error: ProviderError
        if status in (408, 409, 429):
            error = RateLimited(
                f"OpenAI is rate limiting us (HTTP {status}): {message}", provider=provider, retry_after=wait
            )
        elif status >= 500:
            error = Unavailable(
                f"OpenAI is unavailable (HTTP {status}): {message}", provider=provider, retry_after=wait
            )
        else:
            return ProviderError(
                f"OpenAI rejected the request (HTTP {status}{_code_suffix(info.code)}): {message}",
                provider=provider,
            )
        if response.headers.get("x-should-retry", "").strip().lower() == "false":
            return ProviderError(f"{error.message} (OpenAI asked not to retry)", provider=provider)
        return too_long_to_wait(error)

    def _redact(self, text: str) -> str:
        """OpenAI's messages can quote a (masked) key, e.g. for a wrong one: never pass one on."""
        key = self._key.get_secret_value()
        if key:
            text = text.replace(key, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


# --- helpers -----------------------------------------------------------------------------------------

_KEY_LIKE = re.compile(r"\b(?:sk|sess|org)-[A-Za-z0-9_*\-]{6,}")
_TAG = re.compile(r"<[^>]*>")
_WAIT_IN_MESSAGE = re.compile(r"try again (?:in|after) (\d+(?:\.\d+)?)\s*(ms|s\b|sec|second)", re.IGNORECASE)


@dataclass(frozen=True)
class _ErrorInfo:
    message: str
    code: str = ""
    type: str = ""
    categories: str = ""
    stage: str = ""
    is_openai: bool = False  # the body had OpenAI's {"error": {...}} shape

    @classmethod
    def parse(cls, response: httpx.Response) -> _ErrorInfo:
        """OpenAI's ``{"error": {"message", "type", "param", "code"}}``; proxies send HTML, text, nothing."""
        body = _json_object(response)
        error = body.get("error") if body is not None else None
        if isinstance(error, dict):
            details = error.get("moderation_details")
            details = details if isinstance(details, dict) else {}
            raw_categories = details.get("categories")
            categories = (
                [str(c) for c in raw_categories if isinstance(c, str | int)]
                if isinstance(raw_categories, list)
                else []
            )
            return cls(
                message=_clip(_text(error.get("message"))),
                code=_text(error.get("code")),
                type=_text(error.get("type")),
                categories=", ".join(categories),
                stage=_text(details.get("moderation_stage")),
                is_openai=True,
            )
        if isinstance(error, str):  # some gateways flatten it
            return cls(message=_clip(error))
        return cls(message=_clip(_plain_text(response)))


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    return body if isinstance(body, dict) else None


def _plain_text(response: httpx.Response) -> str:
    """A non-JSON error body as one short line: HTML pages (a proxy's 502) lose their tags."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    if "<" in text and ">" in text:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        text = title[1] if title else _TAG.sub(" ", text)
    return " ".join(text.split())


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1].rstrip() + "…"


def _code_suffix(code: str) -> str:
    return f", {code}" if code else ""


def _wait_from_message(message: str) -> float | None:
    """429 messages say e.g. "Please try again in 20s" or "try again after 51.84 seconds"."""
    match = _WAIT_IN_MESSAGE.search(message)
    if not match:
        return None
    value = float(match[1])
    return value / 1000 if match[2].lower() == "ms" else value


def _first_image(body: Mapping[str, Any]) -> Mapping[str, Any]:
    data = body.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise BadOutput("OpenAI's answer carried no image (no data[0])", provider="openai")
    first: dict[str, Any] = data[0]
    if not first.get("b64_json") and first.get("url"):
        raise BadOutput("OpenAI returned an image URL instead of base64 data", provider="openai")
    return first


def _flatten_usage(usage: object) -> dict[str, int]:
    """``{input_tokens, input_tokens_details: {image_tokens, text_tokens}, ...}`` →
    ``{input_tokens, input_image_tokens, input_text_tokens, ...}`` (integers only)."""
    flat: dict[str, int] = {}
    if not isinstance(usage, dict):
        return flat
    for key, value in usage.items():
        if isinstance(value, int) and not isinstance(value, bool):
            flat[str(key)] = value
        elif isinstance(value, dict):
            prefix = str(key).removesuffix("_details").removesuffix("_tokens")
            for sub, number in value.items():
                if isinstance(number, int) and not isinstance(number, bool):
                    flat[f"{prefix}_{sub}"] = number
    return flat


def _output_format(request: GenerationRequest) -> str:
    return "png" if request.transparent else "jpeg"


def _check_prompt(prompt: str) -> None:
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ProviderError(
            f"the prompt is {len(prompt):,} characters; OpenAI takes at most {MAX_PROMPT_CHARS:,}",
            provider="openai",
        )


_IMAGE_TYPES = {"png": ("image/png", "png"), "jpeg": ("image/jpeg", "jpg"), "webp": ("image/webp", "webp")}


def _sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _reference_part(number: int, data: bytes, *, provider: str) -> tuple[str, bytes, str]:
    """``(filename, bytes, content type)`` for one ``image[]`` part, typed from the bytes themselves."""
    kind = _sniff_image(data)
    if kind is None:
        raise ProviderError("the reference image is not a PNG, JPEG or WEBP file", provider=provider)
    if len(data) > MAX_REFERENCE_BYTES:
        raise ProviderError(
            f"the reference image is {len(data) / 1e6:.0f} MB; OpenAI takes at most 50 MB", provider=provider
        )
    content_type, extension = _IMAGE_TYPES[kind]
    return (f"reference-{number}.{extension}", data, content_type)


if TYPE_CHECKING:
    _protocol_check: ImageProvider = OpenAIProvider(Settings())
