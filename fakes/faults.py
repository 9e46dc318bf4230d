"""One fault-injection API for every fake: queue a :class:`Fault` for a target, the fake takes it.

A target is what a fake calls the thing a request reaches: a Slack Web API method (``"chat.postMessage"``)
or route (``"upload"``, ``"response_url"``), an OpenAI endpoint (``"generations"``, ``"edits"``), Gemini's
``"generateContent"``. ``"*"`` matches every target of the fake it is queued on.

A fault either *answers* the request itself (``status``, ``error``, ``body``: each fake renders them in its
own wire shape, e.g. Slack's ``{"ok": false, "error": ...}``, OpenAI's ``{"error": {...}}``), and/or makes
the answer late (``delay``), and/or names a misbehaviour of an otherwise good answer that only that fake
understands (``kind``: ``"malformed_base64"``, ``"wrong_size"``...). Provider-specific presets live beside
each fake (:func:`fakes.openai.FakeOpenAI.fail_next`, :mod:`fakes.gemini`'s ``rate_limited()``...).

With ``after=True`` the fake does what was asked and only then answers with the fault, so the caller cannot
tell that it happened: a 5xx, or (``kind="drop"``) a connection that breaks in the middle of the answer.

Faults are met in the order they were queued; each is used ``times`` times (``None``: forever).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

ANY = "*"


@dataclass
class Fault:
    """One injected failure. Only the fields a fault sets matter; the fake fills in the rest."""

    target: str = ANY
    status: int | None = None  # HTTP status of the answer
    error: str | None = (
        None  # the provider's error code (Slack ``error``, OpenAI ``code``, Gemini ``status``)
    )
    message: str | None = None  # a human message, for providers whose errors carry one
    retry_after: float | None = None  # seconds; each fake says it its own way (header, RetryInfo...)
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    body: bytes | None = None  # a raw body instead of the provider's error shape (a proxy's HTML page)
    content_type: str = "text/plain"  # of ``body``
    delay: float | None = None  # answer this many seconds late
    kind: str | None = None  # a fake-specific misbehaviour of a successful answer
    size: tuple[int, int] | None = None  # for ``kind="wrong_size"``: the size actually drawn
    after: bool = False  # do what was asked first, then answer with the fault (the outcome is hidden)
    times: int | None = 1
    hits: int = 0
    released: bool = False  # see release()
    _waiting: list[asyncio.Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    @property
    def answers(self) -> bool:
        """Whether the fault replaces the answer (rather than only delaying or bending it)."""
        return self.status is not None or self.error is not None or self.body is not None

    def retry_after_header(self) -> str | None:
        """``retry_after`` as an HTTP ``Retry-After`` value (whole seconds when it is whole)."""
        if self.retry_after is None:
            return None
        whole = int(self.retry_after)
        return str(whole) if whole == self.retry_after else str(self.retry_after)

    async def wait(self) -> None:
        """Sleep ``delay`` seconds (if any), or until :meth:`release`: call before answering."""
        if self.delay and not self.released:
            event = asyncio.Event()
            self._waiting.append(event)
            try:
                await asyncio.wait_for(event.wait(), self.delay)
            except TimeoutError:
                pass
            finally:
                self._waiting.remove(event)

    def release(self) -> None:
        """End the delay now, for the requests it holds and any later ones (a test that held a request
        to act at that moment lets it go, rather than leave it open until the server stops)."""
        self.released = True
        for event in self._waiting:
            event.set()


class Faults:
    """The queue of faults of one fake."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(
        self,
        target: str = ANY,
        *,
        status: int | None = None,
        error: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "text/plain",
        delay: float | None = None,
        kind: str | None = None,
        size: tuple[int, int] | None = None,
        after: bool = False,
        times: int | None = 1,
    ) -> Fault:
        """Queue a fault for ``target`` and return it (``fault.hits`` counts the requests it met)."""
        return self.put(
            Fault(
                target,
                status=status,
                error=error,
                message=message,
                retry_after=retry_after,
                headers=dict(headers or {}),
                body=body,
                content_type=content_type,
                delay=delay,
                kind=kind,
                size=size,
                after=after,
                times=times,
            )
        )

    def put(self, fault: Fault) -> Fault:
        """Queue a copy of a ready-made fault (a preset), unused; return the copy."""
        if not fault.answers and fault.delay is None and fault.kind is None:
            raise ValueError("a fault needs a status, an error, a body, a delay or a kind")
        queued = replace(fault, headers=dict(fault.headers), hits=0, released=False, _waiting=[])
        self._faults.append(queued)
        return queued

    def take(self, target: str) -> Fault | None:
        """The first unused fault for ``target`` (or ``"*"``), counting the hit; None when there is none."""
        for fault in self._faults:
            if fault.target in (target, ANY) and not fault.exhausted:
                fault.hits += 1
                return fault
        return None

    def clear(self, target: str | None = None) -> None:
        """Drop the faults of ``target`` (all of them when None)."""
        self._faults = [f for f in self._faults if target is not None and f.target != target]

    def pending(self) -> list[Fault]:
        """Faults not used up yet, in queue order."""
        return [f for f in self._faults if not f.exhausted]
