"""Google's Gemini native image generation ("Nano Banana") behind :class:`ImageProvider`.

One ``generateContent`` call per image (Gemini does not reliably honour counts). References (the winner to
upgrade, an image to explore from, the review to revise, the final to reshape) go as ``inlineData`` parts
after the text part, which carries the prompt and :func:`~bot.providers.base.reference_instruction`;
``imageConfig`` is always the request's own ratio and tier (for a reshape, the new shape).

Changes when the API does; what each model family can draw lives in :mod:`.catalogue`, how failures and
safety blocks become typed errors in :mod:`.errors`. Any 200 without a final image is :class:`BadOutput`,
never an empty success.

The API key travels only in the ``x-goog-api-key`` header. It is never part of a URL, a message, a note,
a log line or ``repr``; Google's own error messages are scrubbed of it before they are passed on.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import math
from dataclasses import dataclass, field
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
    ProviderError,
    edit_prompt,
    reference_notes,
)
from bot.providers.gemini.catalogue import GEMINI_3_PRO, SizePlan, known_capabilities, plan_size
from bot.providers.gemini.errors import PROVIDER, blocked_prompt, error_for, scrub, withheld_image
from bot.providers.gemini.wire import as_list, as_obj, as_str, shorten
from bot.providers.http import build_http_client, decode_base64_image, transport_errors
from bot.tiers import Ratio, Size, Tier

if TYPE_CHECKING:
    from bot.providers.base import ImageProvider

log = logging.getLogger("bot.providers.gemini")

# Appended to the prompt when a winner is regenerated at 2K or 4K with itself as the reference image.
UPGRADE_INSTRUCTION: Final = (
    "Regenerate this exact image at higher resolution. Preserve the composition, subject, lighting, "
    "colours and the empty headline-safe space; add detail only."
)

# Inline references above this are re-encoded as JPEG (Vertex documents 7 MB per inline file, and the
# whole request should stay under ~20 MB once base64 has added its third).
MAX_INLINE_REFERENCE_BYTES = 7_000_000
# An image this far from the expected long edge, or this far off the asked ratio, means ``imageConfig`` was
# ignored (a known failure: "4K" silently came back as 1K, 16:9 as 1024²). Retry rather than upscale it.
MIN_LONG_EDGE_FRACTION = 0.6
RATIO_MISMATCH_TOLERANCE = 0.03
_USAGE_FIELDS: Final = (
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
    "totalTokenCount",
)


class GeminiConfigError(ConfigurationError):
    """The gemini provider cannot be built from these settings (raised at start-up, not per image)."""


# The image types Gemini takes inline; a reference of any other type is re-encoded as JPEG first.
INLINE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})


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
        raise ProviderError("the reference image is not a readable image", provider=PROVIDER) from None
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

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        """:meth:`cost_estimate_usd`: Gemini prices by image size alone (there is no quality to choose)."""
        return self.cost_estimate_usd(tier)

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
            text = edit_prompt(request, upgrade=UPGRADE_INSTRUCTION)
            limit = self.capabilities.max_references
            if len(references) > limit:
                notes.append(
                    f"sent the first {limit} of {len(references)} reference images "
                    f"({self.model} takes {limit})"
                )
                references = references[:limit]
        parts.append({"text": text})
        for reference in references:
            mime, data = reference.content_type, reference.data
            if mime not in INLINE_TYPES or len(data) > MAX_INLINE_REFERENCE_BYTES:
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
        body = as_obj(payload)
        if "error" in body and "candidates" not in body:  # some gateways wrap errors in a 200
            raise self._error(response, body)
        model_version = as_str(body.get("modelVersion"))
        usage = {
            name: value
            for name in _USAGE_FIELDS
            if isinstance(value := as_obj(body.get("usageMetadata")).get(name), int)
            and not isinstance(value, bool)
        }
        candidates = as_list(body.get("candidates"))
        if not candidates:
            refusal = blocked_prompt(as_obj(body.get("promptFeedback")), key=self._key.get_secret_value())
            if refusal is not None:
                raise refusal
            raise BadOutput("Gemini answered with no candidates and no reason", provider=self.name)

        candidate = as_obj(candidates[0])
        finish = as_str(candidate.get("finishReason"))
        image: tuple[str, object] | None = None
        thoughts = 0
        texts: list[str] = []
        for raw in as_list(as_obj(candidate.get("content")).get("parts")):
            part = as_obj(raw)
            inline = as_obj(part.get("inlineData") or part.get("inline_data"))
            if part.get("thought") is True:
                thoughts += 1 if inline else 0
                continue
            if inline:
                mime = as_str(inline.get("mimeType") or inline.get("mime_type")) or "image/png"
                image = (mime, inline.get("data"))  # the last final image wins
            elif text := as_str(part.get("text")).strip():
                texts.append(text)

        if image is None:
            said = as_str(candidate.get("finishMessage")) or " ".join(texts)
            refusal = withheld_image(finish, said, key=self._key.get_secret_value())
            if refusal is not None:
                raise refusal
            why = f" (finishReason {finish})" if finish else ""
            extra = f": {shorten(self._scrub(said), 200)}" if said else ""
            raise BadOutput(f"Gemini answered without an image{why}{extra}", provider=self.name)

        mime, data = image
        return _Answer(
            image=decode_base64_image(data, provider=self.name),
            mime=mime,
            thought_images=thoughts,
            finish_reason=finish,
            model_version=model_version,
            response_id=as_str(body.get("responseId")),
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
        if request.references and request.reference_use == "upgrade":
            notes.append("regenerated with the previous winner as the reference image; expect some drift")
        notes.extend(reference_notes(request))
        if request.transparent:
            notes.append("Gemini cannot draw transparency: the background is opaque")
        if answer.finish_reason and answer.finish_reason != "STOP":
            notes.append(f"finishReason {answer.finish_reason}")
        return notes

    # --- errors ----------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Google's text with the key blanked out, should it ever echo it."""
        return scrub(text, self._key.get_secret_value())

    def _error(self, response: httpx.Response, body: dict[str, object] | None = None) -> ProviderError:
        return error_for(response, body, model=self.model, key=self._key.get_secret_value())


if TYPE_CHECKING:
    _protocol_check: ImageProvider = GeminiProvider(Settings())
