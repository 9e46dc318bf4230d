"""A stand-in for OpenAI's Images API, served on loopback (``fakes.asgi.serve_asgi``).

It speaks the documented wire shapes of ``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits``
(multipart/form-data, repeated ``image[]`` parts), checks the Bearer key, validates parameters the way
the real service does for the models it knows, and draws real images with Pillow at the *requested* size:
a gradient coloured by the prompt's hash for generations, the uploaded reference resized for edits (so
"composition preserved" is literally true).

Switchable behaviours: prompts containing :attr:`FakeOpenAI.refuse_marker` are refused with the
documented ``moderation_blocked`` 400, and :attr:`FakeOpenAI.faults` (:mod:`fakes.faults`, targets
``"generations"`` and ``"edits"``) holds injected faults; :meth:`FakeOpenAI.fail_next` and friends queue
the usual ones (429 with retry hints, 5xx, HTML error pages, malformed base64, a wrong-size image). Every
request is recorded in :attr:`FakeOpenAI.requests`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fakes.faults import Fault, Faults

DEFAULT_API_KEY = "sk-fake-draftbot-7f3a9c1e5b2d4680"
KNOWN_MODELS = frozenset(
    {"gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-1.5", "gpt-image-1", "gpt-image-1-mini"}
)
FIXED_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
NO_INPUT_FIDELITY = frozenset({"gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-1-mini"})

# Kinds of fault that bend a successful answer (see _serve).
MALFORMED_BASE64 = "malformed_base64"
NO_DATA = "no_data"
WRONG_SIZE = "wrong_size"


@dataclass
class Part:
    """One multipart part."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class RecordedRequest:
    endpoint: str  # "generations" or "edits"
    headers: dict[str, str]
    content_type: str
    fields: dict[str, Any]  # the JSON body, or the multipart text fields (repeated names: the last)
    files: list[Part] = field(default_factory=list)
    status: int = 0  # what the fake answered

    @property
    def images(self) -> list[Part]:
        return [p for p in self.files if p.name in ("image", "image[]")]


def error_body(message: str, *, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """All parts in order, repeated names kept (``image[]`` × n), with their content types."""
    boundary = ""
    for item in content_type.split(";")[1:]:
        key, _, value = item.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        return []
    parts: list[Part] = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name = filename = ctype = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-type":
                ctype = value.strip()
            elif key.strip().lower() == "content-disposition":
                for option in value.split(";")[1:]:
                    k, _, v = option.strip().partition("=")
                    if k == "name":
                        name = v.strip('"')
                    elif k == "filename":
                        filename = v.strip('"')
        if name is not None:
            parts.append(Part(name, data.removesuffix(b"\r\n"), filename, ctype))
    return parts


def _custom_size_problem(width: int, height: int) -> str | None:
    if width % 16 or height % 16:
        return "Width and height must both be divisible by 16."
    if not 1 / 3 <= width / height <= 3:
        return "The aspect ratio must be between 1:3 and 3:1."
    if max(width, height) > 3840:
        return "The longest edge must be at most 3840 pixels."
    if not 655_360 <= width * height <= 8_294_400:
        return "The total number of pixels must be between 655360 and 8294400."
    return None


class FakeOpenAI:
    """ASGI app (call it, or use :attr:`app`) for ``{origin}/v1``; the key it accepts is :attr:`api_key`."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        models: frozenset[str] = KNOWN_MODELS,
        refuse_marker: str = "forbidden",
    ) -> None:
        self.api_key = api_key
        self.models = models
        self.refuse_marker = refuse_marker
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/images/generations", self._generations, methods=["POST"]),
                Route("/v1/images/edits", self._edits, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # --- switchable behaviours ----------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        code: str | None = None,
        message: str | None = None,
        retry_after: str | None = None,
        retry_after_ms: str | None = None,
        should_retry: bool | None = None,
        html: bool = False,
    ) -> Fault:
        """Answer the next request with ``status`` and OpenAI's error shape (or an HTML page)."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        if html:
            page = (
                f"<html><head><title>{status} Bad Gateway</title></head><body><h1>{status}</h1></body></html>"
            )
            return self.faults.add(
                status=status, body=page.encode(), content_type="text/html", headers=headers
            )
        return self.faults.add(status=status, error=code, message=message, headers=headers)

    def malformed_next(self) -> Fault:
        """The next success carries ``b64_json`` that is not base64."""
        return self.faults.add(kind=MALFORMED_BASE64)

    def no_data_next(self) -> Fault:
        """The next success carries ``data: []``."""
        return self.faults.add(kind=NO_DATA)

    def wrong_size_next(self, width: int, height: int) -> Fault:
        """The next image is drawn at ``width``×``height`` while ``size`` echoes the request."""
        return self.faults.add(kind=WRONG_SIZE, size=(width, height))

    # --- endpoints ----------------------------------------------------------------------------------

    async def _generations(self, request: Request) -> Response:
        body = await request.body()
        try:
            fields = json.loads(body or b"null")
        except ValueError:
            fields = None
        record = self._record("generations", request, fields if isinstance(fields, dict) else {})
        if (denied := self._unauthorized(record)) is not None:
            return denied
        if not isinstance(fields, dict):
            return self._answer(
                record, 400, error_body("Invalid JSON body.", type_="invalid_request_error", code=None)
            )
        return await self._serve(record, reference=None)

    async def _edits(self, request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        parts = parse_multipart(body, content_type) if content_type.startswith("multipart/form-data") else []
        fields = {p.name: p.data.decode("utf-8", "replace") for p in parts if p.filename is None}
        record = self._record("edits", request, fields, [p for p in parts if p.filename is not None])
        if (denied := self._unauthorized(record)) is not None:
            return denied
        if not content_type.startswith("multipart/form-data"):
            return self._invalid(record, "Edits must be sent as multipart/form-data.", None)
        if not record.images:
            return self._invalid(record, "Missing required parameter: 'image'.", "missing_required_parameter")
        try:
            reference = Image.open(io.BytesIO(record.images[0].data))
            reference.load()
        except (OSError, SyntaxError, ValueError):
            return self._invalid(record, "Invalid image file or mode for image 1.", "invalid_image_format")
        return await self._serve(record, reference=reference)

    # --- shared ------------------------------------------------------------------------------------

    def _record(
        self, endpoint: str, request: Request, fields: dict[str, Any], files: list[Part] | None = None
    ) -> RecordedRequest:
        record = RecordedRequest(
            endpoint=endpoint,
            headers=dict(request.headers),
            content_type=request.headers.get("content-type", ""),
            fields=fields,
            files=files or [],
        )
        self.requests.append(record)
        return record

    def _answer(
        self,
        record: RecordedRequest,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> Response:
        record.status = status
        return JSONResponse(body, status, headers={"x-request-id": self._request_id(), **(headers or {})})

    def _invalid(
        self, record: RecordedRequest, message: str, code: str | None, param: str | None = None
    ) -> Response:
        return self._answer(
            record, 400, error_body(message, type_="invalid_request_error", code=code, param=param)
        )

    def _unauthorized(self, record: RecordedRequest) -> Response | None:
        """OpenAI's 401 for a wrong key, which quotes the key masked (``sk-fak***4680``)."""
        if record.headers.get("authorization") == f"Bearer {self.api_key}":
            return None
        shown = record.headers.get("authorization", "").removeprefix("Bearer ")
        masked = f"{shown[:6]}***{shown[-4:]}" if len(shown) > 12 else "***"
        return self._answer(
            record,
            401,
            error_body(
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                type_="invalid_request_error",
                code="invalid_api_key",
            ),
        )

    def _request_id(self) -> str:
        return f"req_fake{next(self._ids):06d}"

    async def _serve(self, record: RecordedRequest, *, reference: Image.Image | None) -> Response:
        fault = self.faults.take(record.endpoint)
        if fault is not None:
            await fault.wait()
            if fault.answers:
                return self._fault_answer(record, fault)
        fields = record.fields
        model = str(fields.get("model") or "")
        if model not in self.models:
            return self._answer(
                record,
                404,
                error_body(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    type_="invalid_request_error",
                    code="model_not_found",
                ),
            )
        prompt = str(fields.get("prompt") or "")
        if not prompt:
            return self._invalid(
                record, "Missing required parameter: 'prompt'.", "missing_required_parameter"
            )
        if len(prompt) > 32_000:
            return self._invalid(record, "The prompt is too long.", "string_above_max_length", "prompt")
        fmt = str(fields.get("output_format") or "png")
        if fmt not in ("png", "jpeg", "webp"):
            return self._invalid(record, f"Invalid output_format '{fmt}'.", "invalid_value", "output_format")
        if str(fields.get("quality") or "auto") not in ("low", "medium", "high", "auto"):
            return self._invalid(record, "Invalid quality.", "invalid_value", "quality")
        transparent = fields.get("background") == "transparent"
        if transparent and fmt == "jpeg":
            return self._invalid(
                record, "Transparent backgrounds need png or webp.", "invalid_value", "background"
            )
        if "input_fidelity" in fields and model in NO_INPUT_FIDELITY:
            return self._invalid(
                record,
                f"input_fidelity is not supported for model {model}.",
                "invalid_input_fidelity_model",
                "input_fidelity",
            )
        size_text = str(fields.get("size") or "auto")
        size = self._size(model, size_text)
        if isinstance(size, str):
            return self._invalid(record, f"Invalid size '{size_text}'. {size}", "invalid_value", "size")
        if self.refuse_marker and self.refuse_marker in prompt.lower():
            return self._answer(
                record,
                400,
                {
                    "error": {
                        "message": "Your request was rejected by the safety system. If you believe this is "
                        "an error, contact us at help.openai.com and include the request ID "
                        "req_fakemoderation. safety_violations=[violence].",
                        "type": "image_generation_user_error",
                        "param": None,
                        "code": "moderation_blocked",
                        "moderation_details": {"moderation_stage": "input", "categories": ["violence"]},
                    }
                },
            )

        drawn = fault.size if fault is not None and fault.kind == WRONG_SIZE and fault.size else size
        image = self._draw(prompt, drawn, reference, transparent)
        b64 = base64.b64encode(_encode(image, fmt)).decode()
        if fault is not None and fault.kind == MALFORMED_BASE64:
            b64 = "%%not-base64%%" + b64[:40]
        data = [] if fault is not None and fault.kind == NO_DATA else [{"b64_json": b64}]
        text_tokens = max(1, len(prompt) // 4)
        image_tokens = 0 if reference is None else 323 * len(record.images)
        output_tokens = max(1, size[0] * size[1] // 750)
        body = {
            "created": int(time.time()),
            "data": data,
            "background": "transparent" if transparent else "opaque",
            "output_format": fmt,
            "quality": fields.get("quality") or "auto",
            "size": size_text,
            "usage": {
                "input_tokens": text_tokens + image_tokens,
                "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
                "output_tokens": output_tokens,
                "total_tokens": text_tokens + image_tokens + output_tokens,
            },
        }
        return self._answer(record, 200, body)

    def _fault_answer(self, record: RecordedRequest, fault: Fault) -> Response:
        """An injected failure in OpenAI's error shape, unless the fault brings its own body."""
        status = fault.status or 500
        headers = {"x-request-id": self._request_id(), **fault.headers}
        retry_after = fault.retry_after_header()
        if retry_after is not None:
            headers.setdefault("retry-after", retry_after)
        record.status = status
        if fault.body is not None:
            return Response(fault.body, status, headers=headers, media_type=fault.content_type)
        kind = "requests" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
        text = fault.message or {429: "Rate limit reached for images per minute."}.get(
            status, f"Error {status}."
        )
        body = json.dumps(error_body(text, type_=kind, code=fault.error)).encode()
        return Response(body, status, headers=headers, media_type="application/json")

    def _size(self, model: str, text: str) -> tuple[int, int] | str:
        """The size to draw, or why ``text`` is not a size ``model`` accepts."""
        if model.startswith("gpt-image-2"):
            if text == "auto":
                return (1024, 1024)
            w, sep, h = text.partition("x")
            if not sep or not w.isdigit() or not h.isdigit():
                return "Use WIDTHxHEIGHT."
            problem = _custom_size_problem(int(w), int(h))
            return problem if problem else (int(w), int(h))
        if text not in FIXED_SIZES:
            return "Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."
        return (1024, 1024) if text == "auto" else (int(text.split("x")[0]), int(text.split("x")[1]))

    @staticmethod
    def _draw(
        prompt: str, size: tuple[int, int], reference: Image.Image | None, transparent: bool
    ) -> Image.Image:
        if reference is not None:
            image = reference.convert("RGBA" if transparent else "RGB")
            return image.resize(size, Image.Resampling.BICUBIC)
        digest = hashlib.sha256(prompt.encode()).digest()
        corners = Image.new("RGB", (2, 2))
        corners.putdata([tuple(digest[i : i + 3]) for i in (0, 3, 6, 9)])
        image = corners.resize(size, Image.Resampling.BILINEAR)
        if transparent:
            alpha = Image.linear_gradient("L").resize(size)
            image = image.convert("RGBA")
            image.putalpha(alpha)
        return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(buf, "JPEG", quality=90)
    elif fmt == "webp":
        image.save(buf, "WEBP", quality=90)
    else:
        image.save(buf, "PNG", compress_level=1)
    return buf.getvalue()
