"""The jobs that make and publish images: provider -> imaging -> blob store -> publisher.

:mod:`~bot.generation.making` makes and stores an image, :mod:`~bot.generation.posting` publishes it and
settles the draft, :mod:`~bot.generation.failures` is the failure policy, and
:class:`~bot.generation.generator.Generator` maps each job kind to its handler.
"""

from bot.generation.generator import Generator
from bot.generation.making import Prepared, prepare

__all__ = ["Generator", "Prepared", "prepare"]
