"""The `/draft` command text: ``<prompt> for <destination>`` or ``<destination>: <prompt>``, plus options.

/draft a matte black water bottle, dramatic side light for mobile cover --n 6 --seed 42
/draft poster: a jazz night in a rainy city
/draft a cake for a birthday --ratio 4:5        (a ratio alone is enough; no destination needed)
/draft a lighthouse at dusk for poster --vote 2h (voting closes by itself in two hours)
/draft help
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta

from bot.destinations import (
    CATALOG,
    SUGGEST_INPUT_LIMIT,
    Destination,
    ImageFormat,
    SafeZone,
    lookup,
    resolve,
)
from bot.durations import OFF_WORDS, parse_duration
from bot.errors import UnknownDestinationError, UserInputError
from bot.tiers import Ratio

# The one example of a /draft the README, the playground's banner and its page all suggest.
EXAMPLE = "a matte black water bottle, dramatic side light for mobile cover"
MAX_PROMPT_CHARS = 4000
MIN_VARIANTS, MAX_VARIANTS, DEFAULT_VARIANTS = 1, 8, 4
MAX_SEED = 2**31 - 1

HELP_WORDS = frozenset({"help", "--help", "-h", "?", "usage"})
OPTIONS = ("--n", "--ratio", "--seed", "--vote")

# `--name value` or `--name=value`; the name is letters only so that prompts like "a dash -- here" survive.
_OPTION_RE = re.compile(r"(?<!\S)--([A-Za-z][A-Za-z-]*)(?:=(\S*)|\s+(\S+))?")
_FOR_RE = re.compile(r"(?:^|\s+)for\s+", re.IGNORECASE)
_LEADING_DEST_RE = re.compile(r"^\s*([^:\n]{1,40}?)\s*:\s+(.+)$", re.DOTALL)
_TRANSPARENT_RE = re.compile(r"\btransparent\s+(?:background|bg|png)\b|\bno\s+background\b", re.IGNORECASE)


@dataclass(frozen=True)
class Subcommand:
    """`/draft status #12`, `/draft history @ann --since 7d`, `/draft spend --month 2026-11`,
    `/draft settings`: a word the listeners know, then its own arguments (each parses them)."""

    name: str
    args: str


@dataclass(frozen=True)
class HelpRequest:
    """`/draft help` (or `/draft` with nothing else, outside a modal-capable surface)."""


@dataclass(frozen=True)
class DraftRequest:
    prompt: str
    ratio: Ratio
    destination: Destination | None  # None when only --ratio was given
    n_variants: int = DEFAULT_VARIANTS
    seed: int | None = None
    format: ImageFormat = ImageFormat.JPEG
    hints: tuple[str, ...] = field(default=())
    # `--vote 2h`: voting closes by itself this long after the draft. None: the workspace's default
    # (DRAFTBOT_VOTE_WINDOW), unless `--vote off` asked for no deadline (``no_vote_deadline``).
    vote_window: timedelta | None = None
    no_vote_deadline: bool = False
    n_given: bool = True  # False: `--n` was not typed, so the channel's default number may apply

    def vote_window_or(self, default: timedelta | None) -> timedelta | None:
        """The voting window this draft gets, given the workspace's default."""
        if self.no_vote_deadline:
            return None
        return self.vote_window if self.vote_window is not None else default

    @property
    def destination_name(self) -> str:
        return self.destination.name if self.destination else f"custom {self.ratio}"

    @property
    def safe_zone(self) -> SafeZone:
        return self.destination.safe_zone if self.destination else SafeZone.TOP


def parse(
    text: str,
    *,
    default_variants: int = DEFAULT_VARIANTS,
    subcommands: Collection[str] = (),
    default_destination: Destination | None = None,
) -> DraftRequest | HelpRequest | Subcommand:
    """Turn `/draft` text into a request. Any problem raises :class:`UserInputError`, nothing else.

    ``subcommands``: the words that start a subcommand rather than a prompt, when they stand alone or are
    followed by its arguments (``#12``, ``@ann``, ``<#C1>``, ``--since``): "status report for slide" is a
    prompt. ``default_destination`` (the channel's) is where a prompt that names none goes; a "for …"
    that names no destination is still refused with the closest ones, so a typo is never sent there."""
    text = text.replace("\u00a0", " ").strip()
    if not text or text.lower() in HELP_WORDS:
        return HelpRequest()
    word, _, rest = text.partition(" ")
    if word.lower() in subcommands and (not rest.strip() or rest.lstrip()[0] in "#@<-"):
        return Subcommand(word.lower(), rest.strip())
    options, rest = _take_options(text)
    prompt, destination = _split_destination(
        rest, ratio_given="ratio" in options, default=default_destination
    )

    ratio = Ratio.parse(options["ratio"]) if "ratio" in options else None
    if ratio is None:
        if destination is None:  # _split_destination guarantees one of the two
            raise UserInputError("Tell me where the image will go: `/draft <prompt> for <destination>`.")
        ratio = destination.ratio
    n_variants = _int_option(options, "n", default_variants, MIN_VARIANTS, MAX_VARIANTS, "variants")
    seed = _int_option(options, "seed", None, 0, MAX_SEED, "seed") if "seed" in options else None
    vote_window = _vote_option(options["vote"]) if "vote" in options else None

    _check_prompt(prompt)
    transparent = bool(_TRANSPARENT_RE.search(prompt)) or (
        destination is not None and destination.format is ImageFormat.PNG
    )
    return DraftRequest(
        prompt=prompt,
        ratio=ratio,
        destination=destination,
        n_variants=n_variants,
        seed=seed,
        format=ImageFormat.PNG if transparent else ImageFormat.JPEG,
        hints=prompt_hints(prompt),
        vote_window=vote_window,
        no_vote_deadline="vote" in options and vote_window is None,
        n_given="n" in options,
    )


def form_prompt(prompt: str) -> str:
    """A prompt typed into a form (the `/draft` form, Edit prompt), checked by the command's rules; its
    error names the form's prompt field."""
    prompt = prompt.replace("\u00a0", " ").strip()
    try:
        _check_prompt(prompt)
    except UserInputError as err:
        raise UserInputError(err.message, field="prompt") from None
    return prompt


def from_form(prompt: str, destination_key: str, n_variants: int) -> DraftRequest:
    """The `/draft` modal's fields, checked by the same rules as the typed command."""
    prompt = form_prompt(prompt)
    destination = next((d for d in CATALOG if d.key == destination_key), None)
    if destination is None:
        raise UserInputError("Pick a destination from the list.", field="destination")
    if not MIN_VARIANTS <= n_variants <= MAX_VARIANTS:
        raise UserInputError(f"Choose between {MIN_VARIANTS} and {MAX_VARIANTS} variants.", field="variants")
    transparent = bool(_TRANSPARENT_RE.search(prompt)) or destination.format is ImageFormat.PNG
    return DraftRequest(
        prompt=prompt,
        ratio=destination.ratio,
        destination=destination,
        n_variants=n_variants,
        format=ImageFormat.PNG if transparent else ImageFormat.JPEG,
        hints=prompt_hints(prompt),
    )


def _take_options(text: str) -> tuple[dict[str, str], str]:
    options: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        name = match[1].lower()
        if f"--{name}" not in OPTIONS:
            raise UserInputError(
                f"I don't know the option `--{name[:20]}`. Options are "
                + ", ".join(f"`{o}`" for o in OPTIONS)
                + " (e.g. `--n 6 --ratio 4:5 --seed 42`)."
            )
        value = match[2] if match[2] is not None else match[3]
        if not value:
            raise UserInputError(f"`--{name}` needs a value, e.g. `{_EXAMPLE[name]}`.")
        if name in options:
            raise UserInputError(f"`--{name}` is given twice; keep one.")
        options[name] = value
        return " "

    rest = _OPTION_RE.sub(take, text)
    return options, re.sub(r"[ \t]{2,}", " ", rest).strip()


_EXAMPLE = {"n": "--n 4", "ratio": "--ratio 4:5", "seed": "--seed 42", "vote": "--vote 2h"}
_DURATION_RE = re.compile(r"(?:[0-9]{1,5}[dhms])+", re.IGNORECASE)


def _vote_option(raw: str) -> timedelta | None:
    """``--vote 2h``: the voting window; ``--vote off`` (or ``0``): no deadline at all."""
    if raw.lower() not in OFF_WORDS and not _DURATION_RE.fullmatch(raw):
        raise UserInputError(
            f"`--vote {raw[:20]}` is not a duration. Write how long voting stays open, like `--vote 2h`, "
            "`--vote 90m`, `--vote 1d` or `--vote 1h30m` (`--vote off` for no deadline)."
        )
    return parse_duration(raw, what="the voting window")


def _split_destination(
    text: str, *, ratio_given: bool, default: Destination | None = None
) -> tuple[str, Destination | None]:
    leading = _LEADING_DEST_RE.match(text)
    if leading and (dest := lookup(leading[1])) is not None:
        return leading[2].strip(), dest

    fors = list(_FOR_RE.finditer(text))
    if fors:
        # The last "for" names the destination: "a gift for my mother for mobile cover".
        prompt, asked = text[: fors[-1].start()], text[fors[-1].end() :]
        dest = lookup(asked)
        if dest is not None:
            return prompt.strip(), dest
        if ratio_given:  # "a cake for kids --ratio 1:1": the shape is known, the "for" is prose
            return text, None
        resolve(asked)  # raises UnknownDestinationError naming the closest ones
    if ratio_given:
        return text, None
    if default is not None:
        return text, default
    raise UserInputError(
        "Where will this image be used? End the prompt with `for <destination>`, e.g. "
        "`/draft a red bicycle at dawn for mobile cover`, or give the shape with `--ratio 4:5`. "
        "`/draft help` lists the destinations."
    )


def _int_option(
    options: dict[str, str], name: str, default: int | None, low: int, high: int, what: str
) -> int:
    raw = options.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"option {name} has no default")
        return default
    if not re.fullmatch(r"\d{1,12}", raw):
        raise UserInputError(f"`--{name}` takes a whole number, not `{raw[:20]}`.")
    value = int(raw)
    if not low <= value <= high:
        raise UserInputError(f"`--{name}` must be between {low} and {high} {what}; you asked for {value}.")
    return value


def _check_prompt(prompt: str) -> None:
    if not prompt.strip(" \t\n.,;:-"):
        raise UserInputError(f"The prompt is empty. Describe the image, e.g. `/draft {EXAMPLE}`.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UserInputError(_too_long(len(prompt)))


def _too_long(length: int) -> str:
    return (
        f"The prompt is {length:,} characters; the limit is {MAX_PROMPT_CHARS:,}. "
        "Keep the subject, light, composition and mood; drop the rest."
    )


def too_long_reason(text: str) -> str:
    """The refusal for `/draft` text too long to be worth parsing, counting what :func:`parse` would count:
    the prompt alone, without the destination and the options (a 5,000-character prompt is 5,000
    characters, not 5,011 with " for banner")."""
    rest = re.sub(r"[ \t]{2,}", " ", _OPTION_RE.sub(" ", text.replace("\u00a0", " "))).strip()
    leading = _LEADING_DEST_RE.match(rest)
    if leading and lookup(leading[1]) is not None:
        return _too_long(len(leading[2].strip()))
    fors = list(_FOR_RE.finditer(rest))
    asked = rest[fors[-1].end() :] if fors else ""
    if len(asked) <= SUGGEST_INPUT_LIMIT and lookup(asked) is not None:  # destination names are short
        rest = rest[: fors[-1].start()]
    return _too_long(len(rest.strip()))


_QUOTED_RE = re.compile(r"[\"“”'‘’]([^\"“”'‘’]{3,})[\"“”'‘’]")
_SMALL_TEXT_RE = re.compile(
    r"\b(?:small|tiny|fine)\s+(?:text|print|type|copy|labels?)\b|\bbody\s+copy\b|\bparagraphs?\b"
    r"|\bbullet\s+points?\b|\bterms\s+and\s+conditions\b|\bingredients\s+list\b|\bfull\s+menu\b"
    r"|\bdisclaimer\b",
    re.IGNORECASE,
)


def prompt_hints(prompt: str) -> tuple[str, ...]:
    """Advice from practice: image models render long copy badly; leave room and set words later."""
    hints: list[str] = []
    quoted_words = sum(len(q.split()) for q in _QUOTED_RE.findall(prompt))
    if quoted_words > 6:
        hints.append(
            f"The prompt asks for {quoted_words} words of copy; image models garble long text. "
            "Ask for an empty headline-safe area instead and add the words in your design tool."
        )
    if _SMALL_TEXT_RE.search(prompt):
        hints.append(
            "Small text and body copy rarely come out legible. Leave a clean zone for typography "
            "and set the exact words later."
        )
    return tuple(hints)


def usage_text() -> str:
    """The short answer to a bare `/draft` (the form opens beside it)."""
    return (
        "Describe the image and where it will be used: `/draft <prompt> for <destination>`, e.g. "
        "`/draft a matte black water bottle, dramatic side light for mobile cover`. "
        "Options: `--n 6`, `--ratio 4:5`, `--seed 42`, `--vote 2h`. `/draft help` lists every destination."
    )


def help_text() -> str:
    """The ephemeral answer to `/draft help`: grammar, options and the destination catalog."""
    lines = [
        "*Draft images with your team.* Explore at 1K, review at 2K, finals at 4K.",
        "",
        "*Usage*",
        "• `/draft <prompt> for <destination>` — e.g. `/draft a matte black water bottle, dramatic side "
        "light, empty title area for mobile cover`",
        "• `/draft <destination>: <prompt>` — e.g. `/draft poster: a jazz night in a rainy city`",
        "• `/draft` alone opens a form.",
        "• `/draft status [#12]` where a draft is and whom it waits on; "
        "`/draft history [@person | #channel] [--since 7d]` the latest drafts",
        "• `/draft spend [--month 2026-11]` this month's spend by channel and person, against the budgets",
        "• `/draft settings` the channel's approvers, defaults, brand notes and budget (admins and owners)",
        "",
        "*Options*",
        f"• `--n N` number of variants ({MIN_VARIANTS}–{MAX_VARIANTS}, default {DEFAULT_VARIANTS})",
        "• `--ratio W:H` exact shape (between 1:3 and 3:1), overrides the destination",
        "• `--seed S` repeatable results",
        "• `--vote 2h` voting closes by itself then and the winner goes to 2K (`90m`, `1d`; `off` for none)",
        "",
        "*Then* vote with :+1: on your favourite variant. The requester (or an approver) presses "
        "*Upgrade winner to 2K*. On the 2K review, *Request changes* makes the next version, *Reject* says "
        "why (or goes back to voting), and an approver's *Approve for 4K* makes the final; *Also as…* on "
        "the final makes it in other shapes. The bot's Home tab lists what waits for you.",
        "",
        "*Destinations*",
    ]
    for dest in CATALOG:
        also = f" (also: {', '.join(dest.synonyms[:3])})" if dest.synonyms else ""
        lines.append(f"• *{dest.name}* {dest.ratio} — {dest.why}{also}")
    lines += ["", "_Tip: long copy renders badly. Ask for a headline-safe zone and add the words later._"]
    return "\n".join(lines)


__all__ = [
    "DraftRequest",
    "HelpRequest",
    "UnknownDestinationError",
    "UserInputError",
    "from_form",
    "help_text",
    "parse",
    "prompt_hints",
]
