"""Google's Gemini native image generation ("Nano Banana") behind :class:`ImageProvider`.

One ``generateContent`` call per image (Gemini does not reliably honour counts). The model id is
configuration (``GEMINI_IMAGE_MODEL``); what each model family can draw (ratios, image sizes, the official
per-ratio pixel table, an approximate price, how many reference images it takes) lives in
:data:`MODELS`, with pattern-based defaults for ids we have not seen yet.

Size policy, in short:

* A ratio the model has is requested as ``aspectRatio`` and delivered at the table's pixel size
  (3 Pro 16:9 is 1376×768 / 2752×1536 / 5504×3072 at 1K / 2K / 4K).
* A ratio it lacks (7:5, 1:2, ...) is requested at the nearest ratio it has (by log-ratio distance) and the
  target is the asked ratio at the table's long edge, so the generator centre-crops; a note says so.
* A tier it lacks (2.5 Flash draws 1K only) is requested at its largest size and upscaled locally; a note
  says so, because an upscale adds no detail.

Safety blocks arrive as HTTP 200 (``promptFeedback.blockReason`` or a safety ``finishReason``) and become
:class:`Refused`; any other 200 without a final image is :class:`BadOutput`, never an empty success.

The API key travels only in the ``x-goog-api-key`` header. It is never part of a URL, a message, a note,
a log line or ``repr``; Google's own error messages are scrubbed of it before they are passed on.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import io
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

import httpx
from PIL import Image, UnidentifiedImageError
from pydantic import SecretStr

from bot.config import Settings
from bot.errors import ConfigurationError
from bot.providers.base import (
    BadOutput,
    GeneratedImage,
    GenerationRequest,
    ModelNotFound,
    ProviderError,
    RateLimited,
    Refused,
    Unavailable,
)
from bot.providers.http import (
    build_http_client,
    decode_base64_image,
    parse_duration,
    retry_after,
    too_long_to_wait,
    transport_errors,
)
from bot.tiers import Ratio, Size, Tier, exact_size

if TYPE_CHECKING:
    from bot.providers.base import ImageProvider

log = logging.getLogger(__name__)

PROVIDER = "gemini"

# Appended to the prompt when a winner is regenerated at 2K or 4K with itself as the reference image.
UPGRADE_INSTRUCTION: Final = (
    "Regenerate this exact image at higher resolution. Preserve the composition, subject, lighting, "
    "colours and the empty headline-safe space; add detail only."
)

# Google's error text is passed on, but short: it ends up in Slack notices and the audit trail.
MAX_MESSAGE_CHARS = 300
# Inline references above this are re-encoded as JPEG (Vertex documents 7 MB per inline file, and the
# whole request should stay under ~20 MB once base64 has added its third).
MAX_INLINE_REFERENCE_BYTES = 7_000_000
# An image this far from the expected long edge, or this far off the asked ratio, means ``imageConfig`` was
# ignored (a known failure: "4K" silently came back as 1K, 16:9 as 1024²). Retry rather than upscale it.
MIN_LONG_EDGE_FRACTION = 0.6
RATIO_MISMATCH_TOLERANCE = 0.03

IMAGE_SIZES: Final = ("1K", "2K", "4K")  # Gemini's imageSize values; the K must be uppercase
_SIZE_FACTOR: Final = {"1K": 1, "2K": 2, "4K": 4}

BLOCK_REASONS: Final = frozenset({"SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY"})
SAFETY_FINISH_REASONS: Final = frozenset(
    {
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
    }
)
_OVERLOADED_STATUSES: Final = frozenset(
    {"UNAVAILABLE", "INTERNAL", "MODEL_CAPACITY_EXHAUSTED", "DEADLINE_EXCEEDED"}
)
_USAGE_FIELDS: Final = (
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "totalTokenCount",
)


class GeminiConfigError(ConfigurationError):
    """The gemini provider cannot be built from these settings (raised at start-up, not per image)."""


# --- what each model family can do ----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCapabilities:
    """What a Gemini image model family accepts and costs. Prices are approximate, per image, in USD."""

    family: str
    # aspectRatio value -> imageSize -> the pixel size Gemini returns
    pixels: Mapping[str, Mapping[str, Size]]
    price_usd: Mapping[str, float]  # by imageSize actually requested
    max_references: int
    pixels_documented: bool = True  # False: our estimate; the measured size decides

    @cached_property
    def ratios(self) -> tuple[Ratio, ...]:
        return tuple(Ratio(*(int(side) for side in name.split(":"))) for name in self.pixels)

    @cached_property
    def image_sizes(self) -> tuple[str, ...]:
        sizes = {size for row in self.pixels.values() for size in row}
        return tuple(size for size in IMAGE_SIZES if size in sizes)

    def nearest_ratio(self, ratio: Ratio) -> Ratio:
        """``ratio`` itself when the model has it, else the closest one by log-ratio distance."""
        return min(self.ratios, key=lambda r: abs(math.log(r.value) - math.log(ratio.value)))


def _table(rows: Mapping[str, Sequence[tuple[int, int]]], sizes: Sequence[str]) -> dict[str, dict[str, Size]]:
    return {
        ratio: {s: Size(w, h) for s, (w, h) in zip(sizes, row, strict=True)} for ratio, row in rows.items()
    }


# Official pixel tables (ai.google.dev image-generation docs, late 2025). Trust them, and measure anyway.
_PRO_PIXELS = _table(
    {
        "1:1": ((1024, 1024), (2048, 2048), (4096, 4096)),
        "2:3": ((848, 1264), (1696, 2528), (3392, 5056)),
        "3:2": ((1264, 848), (2528, 1696), (5056, 3392)),
        "3:4": ((896, 1200), (1792, 2400), (3584, 4800)),
        "4:3": ((1200, 896), (2400, 1792), (4800, 3584)),
        "4:5": ((928, 1152), (1856, 2304), (3712, 4608)),
        "5:4": ((1152, 928), (2304, 1856), (4608, 3712)),
        "9:16": ((768, 1376), (1536, 2752), (3072, 5504)),
        "16:9": ((1376, 768), (2752, 1536), (5504, 3072)),
        "21:9": ((1584, 672), (3168, 1344), (6336, 2688)),
    },
    IMAGE_SIZES,
)
_FLASH_25_PIXELS = _table(
    {
        "1:1": ((1024, 1024),),
        "2:3": ((832, 1248),),
        "3:2": ((1248, 832),),
        "3:4": ((864, 1184),),
        "4:3": ((1184, 864),),
        "4:5": ((896, 1152),),
        "5:4": ((1152, 896),),
        "9:16": ((768, 1344),),
        "16:9": ((1344, 768),),
        "21:9": ((1536, 672),),
    },
    ("1K",),
)
# 3.1 Flash Image: no official per-ratio pixel table was found. Assumed like 3 Pro for the shared ratios;
# the extra ratios are estimates at about 1 MP per "1K". The measured size is what we record.
_FLASH_31_PIXELS = {
    **_PRO_PIXELS,
    **_table(
        {
            "1:4": ((512, 2048), (1024, 4096), (2048, 8192)),
            "4:1": ((2048, 512), (4096, 1024), (8192, 2048)),
            "1:8": ((368, 2944), (736, 5888), (1472, 11776)),
            "8:1": ((2944, 368), (5888, 736), (11776, 1472)),
        },
        IMAGE_SIZES,
    ),
}
_LITE_PIXELS = {ratio: {"1K": row["1K"]} for ratio, row in _PRO_PIXELS.items()}  # assumed: 1K only

GEMINI_3_PRO = ModelCapabilities(
    family="Gemini 3 Pro Image",
    pixels=_PRO_PIXELS,
    price_usd={"1K": 0.134, "2K": 0.134, "4K": 0.24},
    max_references=14,
)
GEMINI_25_FLASH = ModelCapabilities(
    family="Gemini 2.5 Flash Image",
    pixels=_FLASH_25_PIXELS,
    price_usd={"1K": 0.039},  # $30/1M output tokens × 1290 tokens
    max_references=3,  # "works best with at most 3 inputs"
)
GEMINI_31_FLASH = ModelCapabilities(
    family="Gemini 3.1 Flash Image",
    pixels=_FLASH_31_PIXELS,
    # 1K is quoted; 2K and 4K scale it by the documented output tokens (1120 / 1680 / 2520).
    price_usd={"1K": 0.067, "2K": 0.101, "4K": 0.151},
    max_references=14,
    pixels_documented=False,
)
GEMINI_31_FLASH_LITE = ModelCapabilities(
    family="Gemini 3.1 Flash-Lite Image",
    pixels=_LITE_PIXELS,
    price_usd={"1K": 0.067},  # no price found: 3.1 Flash's, as an upper bound
    max_references=3,
    pixels_documented=False,
)

# Ids we know, then patterns for the ones that will appear next (first match wins).
MODELS: Final[Mapping[str, ModelCapabilities]] = {
    "gemini-3-pro-image": GEMINI_3_PRO,
    "gemini-3-pro-image-preview": GEMINI_3_PRO,
    "gemini-2.5-flash-image": GEMINI_25_FLASH,
    "gemini-2.5-flash-image-preview": GEMINI_25_FLASH,
    "gemini-3.1-flash-image": GEMINI_31_FLASH,
    "gemini-3.1-flash-image-preview": GEMINI_31_FLASH,
    "gemini-3.1-flash-lite-image": GEMINI_31_FLASH_LITE,
}
MODEL_PATTERNS: Final[tuple[tuple[str, ModelCapabilities], ...]] = (
    ("*flash-lite*", GEMINI_31_FLASH_LITE),
    ("*2.5-flash*", GEMINI_25_FLASH),
    ("*3.1-flash*", GEMINI_31_FLASH),
    ("gemini-3*", GEMINI_3_PRO),
    ("*pro-image*", GEMINI_3_PRO),
)


def known_capabilities(model: str) -> ModelCapabilities | None:
    """The capabilities for ``model`` by id or by a family pattern; None when the id says nothing."""
    name = model.strip().lower().removeprefix("models/")
    if name in MODELS:
        return MODELS[name]
    for pattern, caps in MODEL_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return caps
    return None


def capabilities_for(model: str) -> ModelCapabilities:
    """Like :func:`known_capabilities`, assuming 3 Pro Image (the current flagship) for unknown ids."""
    return known_capabilities(model) or GEMINI_3_PRO


# --- the size plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizePlan:
    """What we ask Gemini for and what we deliver, for one ratio at one tier."""

    ratio: Ratio  # asked
    tier: Tier
    api_ratio: Ratio  # sent as imageConfig.aspectRatio
    image_size: str  # sent as imageConfig.imageSize
    expected: Size  # what Gemini should return, from the table
    target: Size  # what the generator fits the image to
    upscale: int = 1  # > 1 when the model lacks the tier and we upscale locally

    @property
    def remapped(self) -> bool:
        return self.api_ratio != self.ratio


def plan_size(caps: ModelCapabilities, ratio: Ratio, tier: Tier) -> SizePlan:
    api_ratio = caps.nearest_ratio(ratio)
    sizes = caps.image_sizes
    image_size = tier.value if tier.value in sizes else sizes[-1]
    expected = caps.pixels[str(api_ratio)][image_size]
    upscale = max(1, _SIZE_FACTOR[tier.value] // _SIZE_FACTOR[image_size])
    scaled = Size(expected.width * upscale, expected.height * upscale)
    target = scaled if api_ratio == ratio else _crop_target(ratio, scaled)
    return SizePlan(ratio, tier, api_ratio, image_size, expected, target, upscale)


def _crop_target(ratio: Ratio, frame: Size) -> Size:
    """The largest ``ratio`` size a centre crop of ``frame`` gives, so a crop never needs an upscale.

    When ``ratio`` is more extreme than the frame (7:5 from 4:3) the long edge is kept: 1200×896 gives
    1200×864. When it is less extreme (6:5 from 5:4) the short edge bounds it: 1152×928 gives 1104×928.
    """
    if ratio.width >= ratio.height:
        long_edge = min(frame.width, frame.height * ratio.value)
    else:
        long_edge = min(frame.height, frame.width / ratio.value)
    return exact_size(ratio, math.floor(long_edge))


# --- small JSON helpers (the wire is untrusted: never assume a shape) -------------------------------------


def _obj(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if not text or text[-1] in ".!?…" else text + "."


def sniff_mime(data: bytes) -> str | None:
    """The MIME type of image bytes Gemini accepts inline, from their magic numbers."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"mif1", b"msf1", b"heif"):
            return "image/heif"
    return None


def _reencode_reference(data: bytes) -> tuple[str, bytes]:
    """A reference Gemini would not take as it is (unknown format, too big) as JPEG. CPU work: thread."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
            else:
                flat = img.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ProviderError(
            "the reference image for this upgrade is not a readable image", provider=PROVIDER
        ) from None
    buf = io.BytesIO()
    flat.save(buf, "JPEG", quality=90)
    return "image/jpeg", buf.getvalue()


@dataclass
class _Answer:
    """The parts of a 200 response we use."""

    image: bytes
    mime: str
    thought_images: int
    finish_reason: str
    model_version: str
    response_id: str
    usage: dict[str, int] = field(default_factory=dict)


class GeminiProvider:
    """:class:`~bot.providers.base.ImageProvider` for Gemini's ``generateContent`` image models."""

    name = PROVIDER

    def __init__(self, settings: Settings, *, client: httpx.AsyncClient | None = None) -> None:
        key = settings.gemini_api_key.get_secret_value().strip() if settings.gemini_api_key else ""
        if not key:
            raise GeminiConfigError(
                "GEMINI_API_KEY is not set: the gemini provider needs a Gemini API key "
                "(or set DRAFTBOT_PROVIDER=local to draw offline)."
            )
        model = settings.gemini_model.strip().removeprefix("models/")
        if not model:
            raise GeminiConfigError("GEMINI_IMAGE_MODEL is empty: name a Gemini image model.")
        self.model = model
        self._key = SecretStr(key)
        known = known_capabilities(model)
        self.capabilities = known or GEMINI_3_PRO
        self._assumed_capabilities = known is None
        self._prices = dict(settings.prices)
        self._url = (
            f"{settings.gemini_base_url.rstrip('/')}/models/{quote(model, safe='-._~')}:generateContent"
        )
        self._owns_client = client is None
        self._client = (
            client
            if client is not None
            else build_http_client(
                settings.gemini_base_url, timeout=settings.provider_timeout_seconds, headers={}
            )
        )

    def __repr__(self) -> str:
        return f"GeminiProvider(model={self.model!r}, family={self.capabilities.family!r})"

    # --- ImageProvider ---------------------------------------------------------------------------------

    def plan(self, ratio: Ratio, tier: Tier) -> SizePlan:
        return plan_size(self.capabilities, ratio, tier)

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return self.plan(ratio, tier).target

    def cost_estimate_usd(self, tier: Tier) -> float:
        """``DRAFTBOT_PRICES`` for the tier when set, else the table's approximate price for the call made."""
        if tier.value in self._prices:
            return self._prices[tier.value]
        return self.capabilities.price_usd.get(self.image_size_for(tier), 0.0)

    def image_size_for(self, tier: Tier) -> str:
        """The ``imageSize`` requested for ``tier``: the tier itself, or the model's largest size."""
        return plan_size(self.capabilities, Ratio(1, 1), tier).image_size

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        plan = self.plan(request.ratio, request.tier)
        notes: list[str] = []
        body = await self._body(request, plan, notes)
        async with transport_errors(self.name):
            response = await self._client.post(
                self._url, json=body, headers={"x-goog-api-key": self._key.get_secret_value()}
            )
        header_id = response.headers.get("x-goog-request-id") or response.headers.get("x-request-id")
        if response.status_code != 200:
            raise self._error(response)
        answer = self._parse(response)
        measured = self._measure(answer.image, plan)
        notes[:0] = self._notes(request, plan, answer, measured)
        usage = dict(answer.usage)
        if answer.thought_images:
            usage["thoughtImages"] = answer.thought_images
        if request.references:
            usage["referenceImages"] = min(len(request.references), self.capabilities.max_references)
        request_id = header_id or answer.response_id or None
        log.info(
            "gemini %s drew %s %s (%s) request_id=%s usage=%s",
            self.model,
            plan.api_ratio,
            plan.image_size,
            measured,
            request_id,
            usage,
        )
        return GeneratedImage(
            data=answer.image,
            provider=self.name,
            model=self.model,
            cost_estimate_usd=self.cost_estimate_usd(request.tier),
            request_id=request_id,
            notes=tuple(notes),
            usage=usage,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- request ---------------------------------------------------------------------------------------

    async def _body(self, request: GenerationRequest, plan: SizePlan, notes: list[str]) -> dict[str, object]:
        text = request.prompt
        parts: list[dict[str, object]] = []
        references = request.references
        if references:
            text = f"{text}\n\n{UPGRADE_INSTRUCTION}"
            limit = self.capabilities.max_references
            if len(references) > limit:
                notes.append(
                    f"sent the first {limit} of {len(references)} reference images "
                    f"({self.model} takes {limit})"
                )
                references = references[:limit]
        parts.append({"text": text})
        for data in references:
            mime = sniff_mime(data)
            if mime is None or len(data) > MAX_INLINE_REFERENCE_BYTES:
                before = len(data)
                mime, data = await asyncio.to_thread(_reencode_reference, data)
                notes.append(
                    f"re-encoded the reference image as JPEG for Gemini ({before:,} → {len(data):,} bytes)"
                )
            parts.append({"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode("ascii")}})
        return {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": {
                "responseModalities": ["TEXT", "IMAGE"],
                "imageConfig": {"aspectRatio": str(plan.api_ratio), "imageSize": plan.image_size},
            },
        }

    # --- response --------------------------------------------------------------------------------------

    def _parse(self, response: httpx.Response) -> _Answer:
        try:
            payload: object = response.json()
        except ValueError:
            raise BadOutput("Gemini answered 200 with a body that is not JSON", provider=self.name) from None
        body = _obj(payload)
        if "error" in body and "candidates" not in body:  # some gateways wrap errors in a 200
            raise self._error(response, body)
        model_version = _str(body.get("modelVersion"))
        usage = {
            name: value
            for name in _USAGE_FIELDS
            if isinstance(value := _obj(body.get("usageMetadata")).get(name), int)
            and not isinstance(value, bool)
        }
        candidates = _list(body.get("candidates"))
        if not candidates:
            feedback = _obj(body.get("promptFeedback"))
            reason = _str(feedback.get("blockReason"))
            if reason and reason != "BLOCKED_REASON_UNSPECIFIED":
                detail = _str(feedback.get("blockReasonMessage"))
                message = _sentence(_shorten(self._scrub(detail))) if detail else "Gemini blocked the prompt."
                if reason not in BLOCK_REASONS:
                    log.warning("gemini blocked a prompt with an unknown blockReason %r", reason)
                raise Refused(message, provider=self.name, category=reason, stage="input")
            raise BadOutput("Gemini answered with no candidates and no reason", provider=self.name)

        candidate = _obj(candidates[0])
        finish = _str(candidate.get("finishReason"))
        image: tuple[str, object] | None = None
        thoughts = 0
        texts: list[str] = []
        for raw in _list(_obj(candidate.get("content")).get("parts")):
            part = _obj(raw)
            inline = _obj(part.get("inlineData") or part.get("inline_data"))
            if part.get("thought") is True:
                thoughts += 1 if inline else 0
                continue
            if inline:
                mime = _str(inline.get("mimeType") or inline.get("mime_type")) or "image/png"
                image = (mime, inline.get("data"))  # the last final image wins
            elif text := _str(part.get("text")).strip():
                texts.append(text)

        if image is None:
            said = _str(candidate.get("finishMessage")) or " ".join(texts)
            if finish in SAFETY_FINISH_REASONS:
                message = (
                    _sentence(_shorten(self._scrub(said)))
                    if said
                    else "Gemini's safety filters withheld the image."
                )
                raise Refused(message, provider=self.name, category=finish, stage="output")
            why = f" (finishReason {finish})" if finish else ""
            extra = f": {_shorten(self._scrub(said), 200)}" if said else ""
            raise BadOutput(f"Gemini answered without an image{why}{extra}", provider=self.name)

        mime, data = image
        return _Answer(
            image=decode_base64_image(data, provider=self.name),
            mime=mime,
            thought_images=thoughts,
            finish_reason=finish,
            model_version=model_version,
            response_id=_str(body.get("responseId")),
            usage=usage,
        )

    def _measure(self, data: bytes, plan: SizePlan) -> tuple[Size, str]:
        """The image's real size and format, from its header; BadOutput when ``imageConfig`` was ignored."""
        try:
            with Image.open(io.BytesIO(data)) as img:
                size, fmt = Size(*img.size), (img.format or "unknown").lower()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise BadOutput("Gemini's image data is not a readable image", provider=self.name) from None
        if size.width <= 0 or size.height <= 0:
            raise BadOutput(f"Gemini returned an empty {size} image", provider=self.name)
        expected, asked = plan.expected, plan.api_ratio
        off_ratio = abs(math.log((size.width / size.height) / asked.value)) > RATIO_MISMATCH_TOLERANCE
        long_edge, expected_long = max(size.width, size.height), max(expected.width, expected.height)
        if off_ratio or long_edge < MIN_LONG_EDGE_FRACTION * expected_long:
            raise BadOutput(
                f"Gemini returned {size} for {asked} at {plan.image_size} (expected {expected}); "
                "it probably ignored the requested size",
                provider=self.name,
            )
        return size, fmt

    def _notes(
        self, request: GenerationRequest, plan: SizePlan, answer: _Answer, measured: tuple[Size, str]
    ) -> list[str]:
        size, fmt = measured
        version = f" ({answer.model_version})" if answer.model_version else ""
        declared = answer.mime.removeprefix("image/").lower()
        same = declared == fmt or {declared, fmt} <= {"jpeg", "jpg"}
        what = answer.mime if same else f"{answer.mime}, actually {fmt.upper()}"
        notes = [
            f"{self.capabilities.family} {self.model}{version} drew aspectRatio {plan.api_ratio}, "
            f"imageSize {plan.image_size}: {size} {what}; it carries Google's invisible SynthID watermark"
        ]
        if self._assumed_capabilities:
            notes.append(
                f"{self.model} is not a model we know: sizes and prices assumed like Gemini 3 Pro Image"
            )
        if plan.remapped:
            notes.append(
                f"Gemini has no {plan.ratio}; generated at {plan.api_ratio} ({size}) "
                f"and cropped to {plan.ratio}"
            )
        if plan.upscale > 1:
            notes.append(
                f"{self.model} draws {plan.image_size} at most; generated at {size} and upscaled locally "
                f"×{plan.upscale} to {plan.target} for {plan.tier}: no new detail"
            )
        if size != plan.expected:
            notes.append(
                f"Gemini returned {size}, not the {plan.expected} "
                f"{'the table lists' if self.capabilities.pixels_documented else 'we estimated'} "
                f"for {plan.api_ratio} at {plan.image_size}"
            )
        if request.references:
            notes.append("regenerated with the previous winner as the reference image; expect some drift")
        if request.transparent:
            notes.append("Gemini cannot draw transparency: the background is opaque")
        if answer.finish_reason and answer.finish_reason != "STOP":
            notes.append(f"finishReason {answer.finish_reason}")
        return notes

    # --- errors ----------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Google's text with the key blanked out, should it ever echo it."""
        return text.replace(self._key.get_secret_value(), "[redacted]")

    def _error(self, response: httpx.Response, body: dict[str, object] | None = None) -> ProviderError:
        code = response.status_code
        if body is None:
            try:
                payload: object = response.json()
            except ValueError:
                payload = None
            if isinstance(payload, list) and payload:  # some endpoints wrap the error in a list
                payload = payload[0]
            body = _obj(payload)
        error = _obj(body.get("error"))
        if code == 200 and isinstance(wrapped := error.get("code"), int):
            code = wrapped
        status = _str(error.get("status"))
        details = [_obj(d) for d in _list(error.get("details"))]
        google = _shorten(self._scrub(_str(error.get("message"))))
        if not google:
            kind = response.headers.get("content-type", "").split(";")[0] or "no"
            google = (
                f"HTTP {code} with {kind} body" if response.content else f"HTTP {code} with an empty body"
            )
        label = f"{status}: {google}" if status else google
        reasons = {_str(d.get("reason")) for d in details}
        hint = retry_info(details)
        if hint is None:
            hint = retry_after(response.headers)

        if code == 404 or status == "NOT_FOUND":
            elsewhere = "" if error else " (the 404 did not come from Gemini's API: check GEMINI_BASE_URL)"
            return ModelNotFound(
                f"Gemini does not know the model {self.model!r}; set GEMINI_IMAGE_MODEL to a current one"
                + elsewhere,
                provider=self.name,
            )
        if (
            code in (401, 403)
            or status in ("UNAUTHENTICATED", "PERMISSION_DENIED")
            or "API_KEY_INVALID" in reasons
        ):
            return ProviderError(
                f"Gemini refused the API key (check GEMINI_API_KEY): {google}", provider=self.name
            )
        overloaded = "MODEL_CAPACITY_EXHAUSTED" in reasons or status in _OVERLOADED_STATUSES
        if overloaded or code >= 500 or code == 408:
            return too_long_to_wait(
                Unavailable(f"Gemini is unavailable ({label})", provider=self.name, retry_after=hint)
            )
        if code == 429 or status == "RESOURCE_EXHAUSTED":
            if quota_used_up(details, google):
                return ProviderError(
                    f"Gemini's quota for {self.model} is used up for the day or is 0 for this API key "
                    f"(image models need billing enabled) ({label})",
                    provider=self.name,
                )
            limited = RateLimited(
                f"Gemini's rate limit was reached ({label})", provider=self.name, retry_after=hint
            )
            return too_long_to_wait(limited)
        return ProviderError(f"Gemini rejected the request ({label})", provider=self.name)


def quota_used_up(details: Sequence[Mapping[str, object]], message: str) -> bool:
    """A 429 no retry will fix: a quota of 0 (the free tier has no image quota) or a per-day cap."""
    if "limit: 0" in message:
        return True
    for detail in details:
        if not _str(detail.get("@type")).endswith("google.rpc.QuotaFailure"):
            continue
        for raw in _list(detail.get("violations")):
            violation = _obj(raw)
            if str(violation.get("quotaValue")) == "0" or "PerDay" in _str(violation.get("quotaId")):
                return True
    return False


def retry_info(details: Sequence[Mapping[str, object]]) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "53s"``), if there is one."""
    for detail in details:
        if _str(detail.get("@type")).endswith("google.rpc.RetryInfo"):
            return parse_duration(detail.get("retryDelay"))
    return None


if TYPE_CHECKING:
    _protocol_check: ImageProvider = GeminiProvider(Settings())
