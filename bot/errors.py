"""Errors a user can cause. Each carries a message fit to show them as it is."""

from __future__ import annotations


class DraftbotError(Exception):
    """Base of draftbot's own errors."""


class UserInputError(DraftbotError):
    """Something a person typed or clicked cannot be done; ``str(err)`` is the friendly explanation.

    Never raised for developer mistakes: those raise ordinary exceptions, loudly.
    """

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = (), field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions
        self.field = field  # which form field it is about, where there is a form


class UnknownDestinationError(UserInputError):
    """The text after ``for`` names no destination in the catalog."""

    def __init__(self, asked: str, suggestions: tuple[str, ...]) -> None:
        hint = (
            "Did you mean " + ", ".join(f"*{s}*" for s in suggestions) + "?"
            if suggestions
            else "Try `/draft help` for the list of destinations."
        )
        super().__init__(
            f"I don't know the destination “{asked}”. {hint} "
            "You can also give the shape directly with `--ratio W:H`.",
            suggestions=suggestions,
        )
        self.asked = asked
