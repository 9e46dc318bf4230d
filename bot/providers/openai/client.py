"""OpenAI's Images API (gpt-image-2 and the gpt-image-1 family) behind :class:`ImageProvider`.

- 1K variants: ``POST {base}/images/generations`` (JSON), one request per variant.
- 2K/4K upgrades: ``POST {base}/images/edits`` (multipart) with the winner as the reference image.
- 1K variants drafted from a reference (``reference_use="explore"``): ``images/edits`` with the reference
  as ``image[]`` and :data:`~bot.providers.base.EXPLORE_INSTRUCTION` (keep its structure).
- A review revised with feedback (``"revise"``): ``images/edits`` with the review as ``image[]`` and the
  change request as the instruction (:func:`~bot.providers.base.revise_instruction`).
- An approved final in another shape (``"reshape"``): ``images/edits`` with the final as ``image[]``, the new
  shape's size and :func:`~bot.providers.base.reshape_instruction` (recompose, don't stretch).

Changes when the API does. Which model takes which size lives in :mod:`.catalogue`; how error answers
become typed errors in :mod:`.errors`. The API key lives in the client's Authorization header and nowhere
else: error messages are built from status codes and OpenAI's messages with anything key-shaped removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from bot import imaging
from bot.config import Settings
from bot.errors import ConfigurationError
from bot.providers.base import (
    BadOutput,
    GeneratedImage,
    GenerationRequest,
    ImageProvider,
    ProviderError,
    Reference,
    edit_prompt,
    reference_notes,
)
from bot.providers.http import build_http_client, decode_base64_image, transport_errors
from bot.providers.openai.catalogue import SizePlan, model_spec, plan_size
from bot.providers.openai.errors import error_for, json_object
from bot.tiers import Ratio, Size, Tier, local_size

log = logging.getLogger("bot.providers.openai")

UPGRADE_INSTRUCTION = (
    "Regenerate this exact image at higher resolution. Preserve the composition, subject, lighting, "
    "colours and the empty headline-safe space; add detail only."
)

MAX_PROMPT_CHARS = 32_000  # GPT image models
MAX_REFERENCES = 16  # image[] parts per edit
MAX_REFERENCE_BYTES = 50 * 1024 * 1024  # per image part


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

    def cost_of(self, tier: Tier, size: Size, quality: str | None = None) -> float:
        """``DRAFTBOT_PRICES`` for ``tier`` when set, else the model table's rough estimate for ``size``."""
        configured = self._prices.get(str(tier))
        if configured is not None:
            return configured
        return self.spec.estimate_usd(quality or self.quality, size)

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        """What :meth:`generate` will say it cost: priced at the size it will ask the model for."""
        return self.cost_of(tier, self.size_plan(ratio, self.target_size(ratio, tier)).request, quality)

    # --- generation --------------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        plan = self.size_plan(request.ratio, request.size)
        if request.references:
            response = await self._edit(request, plan)
        else:
            response = await self._generate(request, plan)
        body = json_object(response)
        if body is None:
            raise BadOutput("OpenAI answered with a body that is not a JSON object", provider=self.name)
        data = _first_image(body)
        image = decode_base64_image(data.get("b64_json"), provider=self.name)
        if imaging.sniff(image) not in _IMAGE_TYPES:
            raise BadOutput("OpenAI's image data is not a PNG, JPEG or WEBP image", provider=self.name)
        notes = [plan.note] if plan.note else []
        notes.extend(reference_notes(request))
        return GeneratedImage(
            data=image,
            provider=self.name,
            model=self.model,
            cost_estimate_usd=self.cost_of(request.tier, plan.request, request.quality),
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
            "quality": request.quality or self.quality,
            "output_format": _output_format(request),
            "moderation": "auto",
        }
        if request.transparent:
            payload["background"] = "transparent"
        return await self._post("generations", plan, json=payload)

    async def _edit(self, request: GenerationRequest, plan: SizePlan) -> httpx.Response:
        prompt = edit_prompt(request, upgrade=UPGRADE_INSTRUCTION)
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
            "quality": request.quality or self.quality,
            "output_format": _output_format(request),
        }
        if request.transparent:
            fields["background"] = "transparent"
        if self.spec.input_fidelity:
            fields["input_fidelity"] = "high"
        files = [
            ("image[]", _reference_part(number, reference, provider=self.name))
            for number, reference in enumerate(request.references, start=1)
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

    def _error(self, response: httpx.Response) -> ProviderError:
        return error_for(response, model=self.model, key=self._key.get_secret_value())

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


# --- helpers -----------------------------------------------------------------------------------------


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


# The image types the Images API takes, with the file extension each part is named with.
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _reference_part(number: int, reference: Reference, *, provider: str) -> tuple[str, bytes, str]:
    """``(filename, bytes, content type)`` for one ``image[]`` part, typed by the reference's content type."""
    extension = _IMAGE_TYPES.get(reference.content_type)
    if extension is None:
        raise ProviderError("the reference image is not a PNG, JPEG or WEBP file", provider=provider)
    data = reference.data
    if len(data) > MAX_REFERENCE_BYTES:
        raise ProviderError(
            f"the reference image is {len(data) / 1e6:.0f} MB; OpenAI takes at most 50 MB", provider=provider
        )
    return (f"reference-{number}.{extension}", data, reference.content_type)


if TYPE_CHECKING:
    _protocol_check: ImageProvider = OpenAIProvider(Settings())
