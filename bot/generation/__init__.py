"""The jobs that make and publish images."""

from bot.generation.making import Generator, Prepared, prepare

__all__ = ["Generator", "Prepared", "prepare"]
