"""Composers for plausible catalogue and patron text: titles, authors, ISBNs, call numbers,
names and addresses. Each takes a ``random.Random`` so the seed decides everything."""
from __future__ import annotations

import functools
import random
import string
import unicodedata

from . import words as W

FIRST_NAMES = W.FIRST_FEMALE + W.FIRST_MALE
FRENCH_PHRASES = ("La Maison", "Le Jardin", "La Rivière", "La Nuit", "La Mémoire", "La Lumière", "La Mer",
                  "L'Ombre", "Le Voyage", "Le Silence", "L'Exil", "Le Royaume", "La Promesse", "Le Souffle")
FRENCH_NONFICTION = ("Introduction à la théologie", "Histoire du protestantisme", "Éthique et société",
                     "Lire la Bible aujourd'hui", "La Réforme en Europe", "Théologie et philosophie",
                     "Calvin et son temps", "Dictionnaire de la foi chrétienne", "Les Pères de l'Église",
                     "Herméneutique biblique", "Luther et la liberté", "Une histoire des huguenots")


def isbn13(n: int) -> str:
    """A valid ISBN-13 (978 prefix, correct check digit), distinct for every n below 10**9."""
    body = f"978{(n * 387_420_489 + 123_456_789) % 1_000_000_000:09d}"  # 3**18: a bijection mod 10**9
    digits = [ord(c) - 48 for c in body]
    total = sum(digits[0::2]) + 3 * sum(digits[1::2])
    return body + str((10 - total % 10) % 10)


def isbn13_is_valid(isbn: str) -> bool:
    digits = isbn.replace("-", "")
    if len(digits) != 13 or not digits.isdigit():
        return False
    return sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0


@functools.lru_cache(maxsize=4096)
def ascii_fold(text: str) -> str:
    """"García O'Brien" -> "garciaobrien": for userids and e-mail addresses."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def author_name(k: int) -> str:
    """The k-th author of the seed's imaginary world: "Surname, First" or "Surname, First M."."""
    mixed = (k * 2654435761 + 97) % 4294967296
    first = FIRST_NAMES[mixed % len(FIRST_NAMES)]
    surname = W.SURNAMES[(mixed // len(FIRST_NAMES)) % len(W.SURNAMES)]
    middle = (mixed // 65536) % 40
    if middle < 26 and middle % 3 == 0:
        return f"{surname}, {first} {chr(65 + middle)}."
    return f"{surname}, {first}"


def pick_author(rng: random.Random, pool: int) -> str:
    """Authors are skewed: a few write many titles, most write one or two."""
    return author_name(int(pool * rng.random() ** 2))


@functools.lru_cache(maxsize=512)
def _fields(pattern: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(pattern) if name)


_SOURCES = {
    "noun": W.TITLE_NOUNS, "noun2": W.TITLE_NOUNS, "noun3": W.TITLE_NOUNS, "adj": W.TITLE_ADJECTIVES,
    "place": W.PLACES, "place2": W.PLACES, "name": FIRST_NAMES, "surname": W.SURNAMES, "n": (5, 7, 10, 12, 50, 100),
}


def _fill(rng: random.Random, pattern: str, topic: str = "") -> str:
    """Fill a pattern's fields ({noun}, {adj}, {place}...), drawing only the fields it has."""
    values = {"topic": topic}
    for name in _fields(pattern):
        if name != "topic":
            source = _SOURCES[name]
            values[name] = source[int(rng.random() * len(source))]
    return pattern.format_map(values)


FICTION_PATTERNS = (
    "The {adj} {noun}", "The {noun} of {place}", "A {noun} in {place}", "The {noun}'s {noun2}",
    "{adj} {noun}", "The Last {noun} of {place}", "{name}'s {noun}", "Before the {noun}",
    "After the {noun}", "Under the {adj} {noun}", "Beyond the {noun}", "The {noun} and the {noun2}",
    "What the {noun} Knew", "A {noun} of {noun2} and {noun3}", "The {adj} {noun} of {place}",
    "Letters from {place}", "The {noun} at the End of the {noun2}", "{noun} Road", "The {noun}keeper",
)
NONFICTION_PATTERNS = (
    "An Introduction to {topic}", "The History of {topic}", "{topic} for Beginners",
    "Understanding {topic}", "The Little Book of {topic}", "{topic} in {place}", "A Short History of {topic}",
    "The Art of {topic}", "{topic}: The Basics", "Thinking about {topic}", "{topic} and the {noun}",
    "The {noun} of {topic}", "Everyday {topic}", "The {adj} Guide to {topic}",
)
JUVENILE_PATTERNS = (
    "{name} and the {adj} {noun}", "The {noun} Who Lost Its {noun2}", "Where Is {name}?",
    "The Little {noun}", "{name} Goes to {place}", "Goodnight, {noun}", "The {adj} {noun} Club",
)
REFERENCE_PATTERNS = ("Encyclopedia of {topic}", "Dictionary of {topic}", "The {place} Atlas",
                      "Handbook of {topic}", "The Oxford Companion to {topic}", "Who's Who in {topic}")
SET_PATTERNS = ("The Complete {topic}", "A History of {place}", "The {adj} {noun} Saga",
                "Encyclopedia of {topic}", "Studies in {topic}")


def fiction_title(rng: random.Random) -> str:
    return _fill(rng, rng.choice(FICTION_PATTERNS))


def nonfiction_title(rng: random.Random, topic: str) -> str:
    return _fill(rng, rng.choice(NONFICTION_PATTERNS), topic)


def juvenile_title(rng: random.Random) -> str:
    return _fill(rng, rng.choice(JUVENILE_PATTERNS))


def reference_title(rng: random.Random, topic: str) -> str:
    return _fill(rng, rng.choice(REFERENCE_PATTERNS), topic)


def set_title(rng: random.Random, topic: str) -> str:
    return _fill(rng, rng.choice(SET_PATTERNS), topic)


def film_title(rng: random.Random) -> str:
    return _fill(rng, rng.choice(W.FILM_PATTERNS))


def magazine_title(rng: random.Random, topic: str) -> str:
    return _fill(rng, rng.choice(W.MAGAZINE_PATTERNS), topic)


def french_title(rng: random.Random, nonfiction: bool) -> str:
    if nonfiction:
        return rng.choice(FRENCH_NONFICTION)
    phrase = rng.choice(FRENCH_PHRASES)
    form = rng.randrange(3)
    if form == 0:
        return f"{phrase} de {rng.choice(W.PLACES)}"
    if form == 1:
        other = rng.choice(FRENCH_PHRASES)
        return f"{phrase} et {other[0].lower()}{other[1:]}" if other != phrase else phrase
    return phrase


def subtitle(rng: random.Random, fiction: bool) -> str:
    return _fill(rng, rng.choice(W.SUBTITLE_FICTION if fiction else W.SUBTITLE_NONFICTION))


def series(rng: random.Random, topic: str) -> str:
    return f"{_fill(rng, rng.choice(W.SERIES_PATTERNS), topic)} ; {rng.randint(1, 12)}"


def summary(rng: random.Random, fiction: bool, topic: str) -> str:
    noun, noun2, place = rng.choice(W.TITLE_NOUNS).lower(), rng.choice(W.TITLE_NOUNS).lower(), rng.choice(W.PLACES)
    name = rng.choice(FIRST_NAMES)
    if fiction:
        return rng.choice((
            f"A {rng.choice(W.TITLE_ADJECTIVES).lower()} story of {noun} and {noun2}, set in {place}.",
            f"When a {noun} arrives in {place}, {name} must choose between the {noun2} and home.",
            f"{name} returns to {place} to settle a debt and finds the {noun} unchanged.",
        ))
    return rng.choice((
        f"A clear, illustrated account of {topic.lower()} for the general reader.",
        f"Explains the ideas of {topic.lower()} through examples from {place}.",
        f"Twelve chapters on {topic.lower()}, with exercises, a glossary and an index.",
    ))


def surname_key(author: str | None, fallback: str) -> str:
    base = ascii_fold((author or fallback).split(",")[0])
    return (base[:3] or "xxx").upper()


def publication_year(rng: random.Random, this_year: int) -> int:
    """Skewed to recent years, as a public library's collection is."""
    return this_year - int(70 * rng.random() ** 2.5)
