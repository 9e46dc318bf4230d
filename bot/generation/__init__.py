"""The jobs that make and publish images."""

from bot.generation.making import Generator, JobKind, Prepared, move_draft, prepare

__all__ = ["Generator", "JobKind", "Prepared", "move_draft", "prepare"]
