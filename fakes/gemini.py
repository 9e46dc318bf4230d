"""A small stand-in for Gemini's ``generateContent`` image API, served on loopback.

It speaks the documented wire shape (camelCase JSON, ``x-goog-api-key``, ``candidates[0].content.parts``),
draws real images with Pillow at the official pixel size for (aspectRatio, imageSize), and, like 3 Pro,
thinks out loud first: every answer starts with an interim ``"thought": true`` image that clients must
skip. With an inline reference it returns that reference resized to the asked size, so an upgrade keeps
its composition literally.

Behaviours to switch on:

* a prompt containing :attr:`FakeGemini.refuse_word` is refused like Google does, with HTTP 200 and
  ``finishReason: IMAGE_SAFETY``; one containing :attr:`FakeGemini.block_word` is blocked at the input
  (no candidates, ``promptFeedback.blockReason``);
* :attr:`FakeGemini.faults` (:mod:`fakes.faults`, target ``"generateContent"``) holds injected faults;
  :meth:`FakeGemini.fail_next` queues presets (:func:`rate_limited`, :func:`overloaded`...) that the next
  requests meet, one each.

Its pixel table is its own copy of Google's, not the provider's, so a wrong table in the provider shows.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fakes.faults import Fault, Faults

FAKE_GEMINI_KEY = "fake-gemini-key-5d1c0a7e"
PREFIX = "/v1beta"

# Google's official tables (ai.google.dev image generation): aspectRatio -> imageSize -> (w, h).
PRO_PIXELS: dict[str, dict[str, tuple[int, int]]] = {
    ratio: dict(zip(("1K", "2K", "4K"), sizes, strict=True))
    for ratio, sizes in {
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
    }.items()
}
FLASH_25_PIXELS: dict[str, dict[str, tuple[int, int]]] = {
    "1:1": {"1K": (1024, 1024)},
    "2:3": {"1K": (832, 1248)},
    "3:2": {"1K": (1248, 832)},
    "3:4": {"1K": (864, 1184)},
    "4:3": {"1K": (1184, 864)},
    "4:5": {"1K": (896, 1152)},
    "5:4": {"1K": (1152, 896)},
    "9:16": {"1K": (768, 1344)},
    "16:9": {"1K": (1344, 768)},
    "21:9": {"1K": (1536, 672)},
}
MODELS: dict[str, dict[str, dict[str, tuple[int, int]]]] = {
    "gemini-3-pro-image": PRO_PIXELS,
    "gemini-3-pro-image-preview": PRO_PIXELS,
    "gemini-2.5-flash-image": FLASH_25_PIXELS,
}


TARGET = "generateContent"
MODEL_NOT_FOUND = "model_not_found"
BAD_BASE64 = "bad_base64"
NO_IMAGE = "no_image"
WRONG_SIZE = "wrong_size"


# Presets: the faults Gemini is known to produce, for FakeGemini.fail_next.


def rate_limited() -> Fault:
    """429 RESOURCE_EXHAUSTED with a QuotaFailure and RetryInfo ``"2s"``."""
    return Fault(
        TARGET,
        status=429,
        error="RESOURCE_EXHAUSTED",
        message="You exceeded your current quota, please check your plan and billing details.",
        retry_after=2,
    )


def overloaded() -> Fault:
    """503 UNAVAILABLE "The model is overloaded"."""
    return Fault(
        TARGET, status=503, error="UNAVAILABLE", message="The model is overloaded. Please try again later."
    )


def model_not_found() -> Fault:
    """404 NOT_FOUND, as for a model that does not exist."""
    return Fault(TARGET, kind=MODEL_NOT_FOUND)


def bad_base64() -> Fault:
    """A final image part whose data is not base64."""
    return Fault(TARGET, kind=BAD_BASE64)


def no_image() -> Fault:
    """200, finishReason NO_IMAGE, text only."""
    return Fault(TARGET, kind=NO_IMAGE)


def wrong_size() -> Fault:
    """imageConfig ignored: a 1024×1024 image whatever was asked."""
    return Fault(TARGET, kind=WRONG_SIZE, size=(1024, 1024))


def html_error() -> Fault:
    """502 from a proxy, with an HTML body."""
    return Fault(
        TARGET,
        status=502,
        body=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        content_type="text/html",
    )


@dataclass(frozen=True)
class RecordedRequest:
    model: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def parts(self) -> list[dict[str, Any]]:
        return list(self.body["contents"][0]["parts"])

    @property
    def prompt(self) -> str:
        return " ".join(p["text"] for p in self.parts if "text" in p)

    @property
    def image_config(self) -> dict[str, str]:
        return dict(self.body.get("generationConfig", {}).get("imageConfig", {}))

    @property
    def references(self) -> list[tuple[str, bytes]]:
        return [
            (p["inlineData"]["mimeType"], base64.b64decode(p["inlineData"]["data"]))
            for p in self.parts
            if "inlineData" in p
        ]


def _error(code: int, status: str, message: str, *details: dict[str, Any]) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "status": status, "details": list(details)}}
    return JSONResponse(body, status_code=code)


def _fault_answer(fault: Fault) -> Response:
    """An injected failure in Google's error shape (``error.code/message/status/details``)."""
    status = fault.status or 500
    if fault.body is not None:
        return Response(fault.body, status, headers=fault.headers, media_type=fault.content_type)
    details: list[dict[str, Any]] = []
    if fault.error == "RESOURCE_EXHAUSTED":
        details.append({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []})
    if fault.retry_after is not None:
        retry = f"{fault.retry_after_header()}s"
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry})
    response = _error(status, fault.error or "INTERNAL", fault.message or "Internal error.", *details)
    response.headers.update(fault.headers)
    return response


def _encode(img: Image.Image, mime: str) -> bytes:
    buf = io.BytesIO()
    if mime == "image/jpeg":
        img.convert("RGB").save(buf, "JPEG", quality=88)
    else:
        img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def draw(prompt: str, size: tuple[int, int]) -> Image.Image:
    """A quick, deterministic picture: a colour from the prompt and a disc off-centre."""
    digest = hashlib.sha256(prompt.encode()).digest()
    background, disc = tuple(digest[:3]), tuple(255 - b for b in digest[:3])
    img = Image.new("RGB", size, background)
    w, h = size
    r = min(w, h) // 4
    cx, cy = w * 0.62, h * 0.6
    ImageDraw.Draw(img).ellipse((cx - r, cy - r, cx + r, cy + r), fill=disc)
    return img


def _render(prompt: str, size: tuple[int, int], reference: bytes | None, mime: str) -> tuple[bytes, bytes]:
    """(thought image, final image). CPU work: runs in a thread."""
    if reference is not None:
        with Image.open(io.BytesIO(reference)) as ref:
            final = ref.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    else:
        final = draw(prompt, size)
    thought = Image.new("RGB", (256, 256), (255, 0, 255))  # an interim sketch: never the answer
    return _encode(thought, "image/png"), _encode(final, mime)


class FakeGemini:
    """An ASGI app: ``POST {prefix}/models/{model}:generateContent``. Serve it with ``serve_asgi``."""

    def __init__(
        self,
        *,
        api_key: str = FAKE_GEMINI_KEY,
        refuse_word: str = "forbidden",
        block_word: str = "contraband",
        mime: str = "image/png",
        prefix: str = PREFIX,
    ) -> None:
        self.api_key = api_key
        self.refuse_word = refuse_word
        self.block_word = block_word
        self.mime = mime
        self.prefix = prefix
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        self.app = Starlette(
            routes=[Route(f"{prefix}/models/{{model}}:generateContent", self._generate, methods=["POST"])]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def fail_next(self, *faults: Fault) -> list[Fault]:
        """Queue ``faults`` (presets of this module, or any :class:`~fakes.faults.Fault`) in order."""
        return [self.faults.put(fault) for fault in faults]

    async def _generate(self, request: Request) -> Response:
        model = request.path_params["model"]
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        self.requests.append(RecordedRequest(model, dict(request.headers), body))

        key = request.headers.get("x-goog-api-key")
        if not key:
            return _error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        if key != self.api_key:
            return _error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            )
        fault = self.faults.take(TARGET)
        if fault is not None:
            await fault.wait()
        if model not in MODELS or (fault is not None and fault.kind == MODEL_NOT_FOUND):
            return _error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, "
                "or is not supported for generateContent.",
            )
        if fault is not None and fault.answers:
            return _fault_answer(fault)
        bend = fault.kind if fault is not None else None
        drawn = fault.size if fault is not None else None

        table = MODELS[model]
        config = body.get("generationConfig", {}).get("imageConfig", {})
        ratio, image_size = config.get("aspectRatio", "1:1"), config.get("imageSize", "1K")
        if ratio not in table:
            return _error(400, "INVALID_ARGUMENT", f"Unsupported aspect ratio: {ratio}")
        if image_size not in table[ratio]:  # case-sensitive, like Google: "1k" is rejected
            return _error(400, "INVALID_ARGUMENT", f"Unsupported image size: {image_size}")

        parts = body["contents"][0]["parts"]
        prompt = " ".join(p.get("text", "") for p in parts)
        usage = {"promptTokenCount": 12 + 258 * (len(parts) - 1), "totalTokenCount": 0}
        if self.block_word in prompt.lower():
            return JSONResponse(
                {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": usage}
            )
        if self.refuse_word in prompt.lower():
            candidate = {
                "finishReason": "IMAGE_SAFETY",
                "finishMessage": "Unable to show the generated image: it may violate our policies.",
                "index": 0,
            }
            return JSONResponse({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})
        if bend == NO_IMAGE:
            candidate = {
                "content": {"role": "model", "parts": [{"text": "I could not draw that."}]},
                "finishReason": "NO_IMAGE",
            }
            return JSONResponse({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})

        size = drawn if bend == WRONG_SIZE and drawn else table[ratio][image_size]
        inline = [p["inlineData"] for p in parts if "inlineData" in p]
        reference = base64.b64decode(inline[0]["data"]) if inline else None
        thought, final = await asyncio.to_thread(_render, prompt, size, reference, self.mime)
        final_data = "not*base64!" if bend == BAD_BASE64 else base64.b64encode(final).decode()
        out_tokens = 2000 if image_size == "4K" else 1120
        usage = {
            **usage,
            "candidatesTokenCount": out_tokens,
            "thoughtsTokenCount": 180,
            "totalTokenCount": usage["promptTokenCount"] + out_tokens + 180,
        }
        response_parts = [
            {"text": "Sketching the layout first.", "thought": True},
            {
                "inlineData": {"mimeType": "image/png", "data": base64.b64encode(thought).decode()},
                "thought": True,
            },
            {"text": "Here is your image."},
            {"inlineData": {"mimeType": self.mime, "data": final_data}, "thoughtSignature": "c2ln"},
        ]
        return JSONResponse(
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": response_parts},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": usage,
                "modelVersion": f"{model}-fake-001",
                "responseId": f"fake-{len(self.requests)}",
            }
        )
