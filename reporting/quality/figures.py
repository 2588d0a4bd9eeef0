"""Figures in a text, normalised so that what a reader takes as equal compares equal.

A figure is a number, a percentage, an amount of money, a year, a date, a time of day, or an
identifier holding digits (p99, us-east-1, Q3, v7, EJB-8). Normalisation:

- numbers: "1,200" = "1200", "nine" = "9", "twenty-one" = "21", "one hundred and twelve" = "112",
  "71k" = "71 thousand" = "71,000", "1.84M" = "1.84 million"; the sign is ignored ("-5%" = "5%");
- percentages: "12%" = "12 percent" = "12 per cent" = "12 percentage points";
- money: "$71k" = "$71,000" = "71 thousand dollars" = "USD 71,000" (the currency is kept: "€71k"
  is not "$71k");
- dates: "3 November 2026" = "2026-11-03" = "November 3, 2026" = "3rd of Nov 2026"; a month
  ("December 2021") and a day without a year ("22 July") are dates too, only less precise;
- times: "07:39" = "7:39" (am/pm is not converted);
- units are not part of a figure: "2.4 s", "2.4 seconds" and "2.4" are the same figure 2.4, and
  a conversion ("210 ms" written as "0.21 s") is not recognised. A unit changes nothing a reader
  checks against the facts more often than it misleads, and converting units is guesswork;
- identifiers are compared without case, hyphens and underscores ("SEV-1" = "sev1").

Support (`FigureIndex.supports`): a bare number or year is found in any given figure of that
value (a percentage's, an amount's or a date's year too: "80% complete" supports "80"); a
percentage needs a given percentage, an amount the same amount (in its currency, or bare); a date
a given date saying at least as much, or the same day and month with its year given elsewhere.

Not figures: list numbering at a line's start ("1." "2)"), section numbers ("section 2.1",
"sections 2 and 3", "§3"), citation markers ("[2]", "[1, 3]"), URLs, code, ordinal words
("first"), and the word "one" standing alone, which is far more often a pronoun ("the one risk")
than a count.

Written here rather than taken from a library: `number-parser` finds and converts number words
in running text but costs about 90 ms per 1,000 words (the checks have 5 ms), `word2number`
converts a span someone else has found and was last released in 2017, and `dateparser` and
`python-dateutil` parse a string already known to be a date; finding the spans is the work here,
and a few regular expressions do it in well under a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal, cast

Kind = Literal["number", "year", "percent", "money", "date", "time", "identifier"]

# A date as (year, month, day); the year or the day may be unknown ("22 July", "December 2021").
DateKey = tuple[int | None, int, int | None]


@dataclass(frozen=True)
class Figure:
    """One figure of a text: its kind, its normalised value, and where it stands."""

    kind: Kind
    value: Decimal | DateKey | tuple[int, int] | str
    text: str  # as written
    start: int
    end: int
    currency: str = ""  # money only: "$", "€", "£", "¥"

    @property
    def shown(self) -> str:
        """The figure as a message shows it: as written, on one line."""
        return " ".join(self.text.split())


_UNITS = {
    "zero": 0,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "one": 1,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {
    "hundred": 100,
    "thousand": 1_000,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_SUFFIX_SCALES = {"k": 1_000, "K": 1_000, "M": 10**6, "mn": 10**6, "B": 10**9, "bn": 10**9}
_CURRENCY_WORDS = {
    "dollar": "$",
    "dollars": "$",
    "usd": "$",
    "us$": "$",
    "$": "$",
    "euro": "€",
    "euros": "€",
    "eur": "€",
    "€": "€",
    "pound": "£",
    "pounds": "£",
    "gbp": "£",
    "£": "£",
    "yen": "¥",
    "jpy": "¥",
    "¥": "¥",
}
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}

_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
_WORD_RUN = rf"(?:{_NUMBER_WORD})(?:(?:[ \t]+and[ \t]+|[ \t]*-[ \t]*|[ \t]+)(?:{_NUMBER_WORD}))*"
# Capitalised month names only: "may" and "march" are verbs too.
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|2\d\d\d)"

# Spans that hold digits but no figure, blanked before figures are looked for.
_LIST_NUMBER = re.compile(
    r"^[ \t]*(?:>[ \t]*)*(?:[-*+][ \t]+)?(?:\*\*|__)?\(?\d{1,3}[.)](?=[ \t]|\*\*|__|$)", re.M
)
_SECTION_NUMBER = re.compile(
    r"\b[Ss]ections?[ \t]+\d+(?:\.\d+)*(?:(?:[ \t]*,[ \t]*|[ \t]+(?:and|to|or)[ \t]+)"
    r"\d+(?:\.\d+)*)*|§+[ \t]*\d+(?:\.\d+)*"
)
_CITATION = re.compile(r"\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\](?!\()")
_IGNORED = re.compile(r"`[^`\n]*`|\bhttps?://\S+|\bwww\.\S+")
# A token of letters and digits, possibly joined by - _ . / (us-east-1, v1.2, EJB-8, B01).
# Only tokens with a digit and a letter are looked at (the lookaheads keep Python out of the loop).
_TOKEN = re.compile(
    r"(?<![\w$€£¥])(?=[A-Za-z0-9_./-]*[0-9])(?=[A-Za-z0-9_./-]*[A-Za-z])"
    r"[A-Za-z0-9]+(?:[-_./][A-Za-z0-9]+)*"
)
# A number with a unit or scale attached, which is a number, not an identifier: 210ms, 2.4s, 71k.
_NUMBER_WITH_UNIT = re.compile(
    r"\d+(?:\.\d+)?(?:ms|s|secs?|min|mins|h|hrs?|d|x|k|K|M|B|bn|mn|m|kb|KB|MB|GB|TB|PB|Mbps|Gbps"
    r"|GHz|MHz|st|nd|rd|th|pp|bps?)"
)
# The lookahead lets the engine skip every position that cannot start a date.
_DATES = re.compile(
    rf"(?=[0-9JFMASOND])(?:(?P<iso>\b(?P<iy>{_YEAR})-(?P<im>[01]\d)-(?P<id>[0-3]\d)\b)"
    rf"|(?P<dmy>\b(?P<dd>[0-3]?\d){_ORDINAL}(?:[ \t]+of)?[ \t]+(?P<dm>{_MONTH})(?![A-Za-z])"
    rf"(?:,?[ \t]+(?P<dy>{_YEAR})\b)?)"
    rf"|(?P<mdy>\b(?P<mm>{_MONTH})[ \t]+(?P<md>[0-3]?\d){_ORDINAL}\b(?!:)"
    rf"(?:,?[ \t]+(?P<my>{_YEAR})\b)?)"
    rf"|(?P<month_year>\b(?P<ym>{_MONTH})[ \t]+(?P<yy>{_YEAR})\b))"
)
_TIME = re.compile(r"(?<![\d:.])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::[0-5]\d)?(?![\d:])")
_PERCENT = (
    r"(?P<pct>[ \t]?%|[ \t]+per[ \t]?cent\b|[ \t]+percent(?:age[ \t]+points?)?\b"
    r"|[ \t]+percentage[ \t]+points?\b|[ \t]*pp\b)"
)
_CURRENCY_AFTER = r"(?:[ \t]+(?P<curword>dollars?|euros?|pounds?|yen|USD|EUR|GBP|JPY)\b)"
_NUMBERS = re.compile(
    rf"(?:(?<![\w.])(?<!\d,)(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?:(?P<suffix>[kKMB]|bn|mn|m)(?![A-Za-z])"
    rf"|[ \t]*-?[ \t]*(?P<scale>thousand|million|billion|trillion)\b)?"
    # The lookahead on first letters lets the engine skip most words at once.
    rf"|(?P<words>\b(?=(?i:ze|on|tw|th|fo|fi|si|se|ei|ni|te|el|fi|hu|mi|bi|tr))"
    rf"(?i:{_WORD_RUN})\b))"
    rf"{_PERCENT}?{_CURRENCY_AFTER}?"
)
_YEAR_NUMBER = re.compile(_YEAR)
# A currency before a number: "$71k", "US$ 5", "EUR 30".
_CURRENCY_BEFORE = re.compile(r"(?:US\$|[$€£¥]|\b(?:USD|EUR|GBP|JPY))[ \t]?$")


def _blank(match: re.Match[str]) -> str:
    """The same number of spaces (newlines kept), so later offsets still hold."""
    found = match.group(0)
    return " " * len(found) if "\n" not in found else re.sub(r"[^\n]", " ", found)


def _decimal(text: str) -> Decimal:
    """A written number ("1,200", "2.40") as a Decimal."""
    return Decimal(text.replace(",", ""))


def words_to_numbers(run: str) -> list[tuple[int, int, int]]:
    """The numbers a run of number words says, each with its span in the run.

    "twenty-one" is 21, "one hundred and twelve" 112, "two or three" and "five twenty" two
    numbers each; "one" standing alone is left out (a pronoun far more often than a count).
    """
    numbers: list[tuple[int, int, int]] = []
    total = current = 0
    first = last_end = -1
    last = ""
    words: list[str] = []

    def close() -> None:
        if first >= 0 and words != ["one"]:
            numbers.append((total + current, first, last_end))

    for match in re.finditer(r"[A-Za-z]+", run):
        word = match.group(0).lower()
        if word == "and":
            if last not in _SCALES:  # "one and two" is two numbers; "hundred and twelve" one
                close()
                total, current, first, words = 0, 0, -1, []
            last = word
            continue
        value = _UNITS.get(word, _TENS.get(word, 0))
        # "five twenty" or "twenty thirty" starts a new number; "twenty five" does not.
        follows_tens = last in _TENS and word in _UNITS and value < 10
        joins = word in _SCALES or last in _SCALES or last == "and" or follows_tens
        if first >= 0 and not joins:
            close()
            total, current, first, words = 0, 0, -1, []
        if first < 0:
            first = match.start()
        if word in _SCALES:
            current = max(current, 1)
            if _SCALES[word] == 100:
                current *= 100
            else:
                total += current * _SCALES[word]
                current = 0
        else:
            current += value
        words.append(word)
        last, last_end = word, match.end()
    close()
    return numbers


def _dates(text: str, found: list[Figure]) -> str:
    """Add the dates of a text to `found`; return the text with them blanked."""

    def date(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "iso":
            key: DateKey = (int(match["iy"]), int(match["im"]), int(match["id"]))
        elif kind == "dmy":
            year = int(match["dy"]) if match["dy"] else None
            key = (year, _MONTHS[match["dm"][:3].lower()], int(match["dd"]))
        elif kind == "mdy":
            year = int(match["my"]) if match["my"] else None
            key = (year, _MONTHS[match["mm"][:3].lower()], int(match["md"]))
        else:
            key = (int(match["yy"]), _MONTHS[match["ym"][:3].lower()], None)
        if (key[2] is not None and not 1 <= key[2] <= 31) or not 1 <= key[1] <= 12:
            return match.group(0)
        found.append(Figure("date", key, match.group(0), match.start(), match.end()))
        return _blank(match)

    return _DATES.sub(date, text)


def _identifier(token: str) -> bool:
    """Whether a token with letters and digits names something (p99, EJB-8) or is a number."""
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    parts = re.split(r"[-_./]", token)
    if all(_NUMBER_WITH_UNIT.fullmatch(p) or p.isdigit() or p.isalpha() for p in parts):
        # "3-day", "210ms", "2.4s": a number and words; but "EJB-8", "us-east-1" name things.
        return not parts[0][0].isdigit()
    return True


def identifier_key(token: str) -> str:
    """An identifier compared loosely: no case, hyphens or underscores."""
    return re.sub(r"[-_]", "", token.casefold())


def extract(text: str, *, structure: bool = False) -> list[Figure]:
    """Every figure of a text, in order; `structure` keeps list and section numbers as figures."""
    found: list[Figure] = []
    # Each pass only where its text can be: most texts have no code, URL or section number.
    if "`" in text or "http" in text or "www." in text:
        text = _IGNORED.sub(_blank, text)
    if "[" in text:
        text = _CITATION.sub(_blank, text)
    if not structure:
        text = _LIST_NUMBER.sub(_blank, text)
        if "ection" in text or "§" in text:
            text = _SECTION_NUMBER.sub(_blank, text)
    text = _dates(text, found)

    def time(match: re.Match[str]) -> str:
        value = (int(match["h"]), int(match["m"]))
        found.append(Figure("time", value, match.group(0), match.start(), match.end()))
        return _blank(match)

    if ":" in text:
        text = _TIME.sub(time, text)

    def token(match: re.Match[str]) -> str:
        if not _identifier(match.group(0)):
            return match.group(0)
        key = identifier_key(match.group(0))
        found.append(Figure("identifier", key, match.group(0), match.start(), match.end()))
        return _blank(match)

    text = _TOKEN.sub(token, text)
    for match in _NUMBERS.finditer(text):
        found.extend(_numbers(match))
    found.sort(key=lambda figure: figure.start)
    return found


def _numbers(match: re.Match[str]) -> Iterator[Figure]:
    """The figures of one number match: one for digits, one or more for a run of words."""
    text = match.string
    start = match.start()
    before = _CURRENCY_BEFORE.search(text, max(0, start - 5), start)
    currency_text = (before.group(0) if before else "") or match["curword"] or ""
    currency = _CURRENCY_WORDS.get(currency_text.strip().lower(), "")
    percent = bool(match["pct"])
    if before:
        start = before.start()
    written = text[start : match.end()].strip()
    if match["num"]:
        try:
            value = _decimal(match["num"])
        except InvalidOperation:  # pragma: no cover - the pattern only admits valid numbers
            return
        suffix = match["suffix"]
        if suffix and (suffix != "m" or currency):
            value *= _SUFFIX_SCALES.get(suffix, 10**6)
        if match["scale"]:
            value *= _SCALES[match["scale"]]
        plain_year = not (suffix or match["scale"] or percent or currency or "," in match["num"])
    else:
        base = match.start("words")  # a currency before words ("$ five") is left aside
        spans = words_to_numbers(match["words"])
        for number, (amount, first, last) in enumerate(spans):
            ends_match = number == len(spans) - 1
            kind: Kind = "money" if currency else "percent" if percent and ends_match else "number"
            suffixed = ends_match and (percent or match["curword"])
            end = match.end() if suffixed else base + last
            shown = match.string[base + first : end].strip()
            yield Figure(kind, Decimal(amount), shown, base + first, end, currency)
        return
    kind = "money" if currency else "percent" if percent else "number"
    if plain_year and _YEAR_NUMBER.fullmatch(match["num"]):
        kind = "year"
    yield Figure(kind, value, written, start, match.end(), currency)


@lru_cache(maxsize=512)
def text_figures(text: str) -> tuple[Figure, ...]:
    """The figures of a text a call wrote (cached: the next phase is given the same text)."""
    return tuple(extract(text))


@lru_cache(maxsize=512)
def given_figures(text: str) -> tuple[Figure, ...]:
    """The figures of a text a call was given, list and section numbers included (cached).

    A section's brief, points and sources are given to each of its phases, a source often to
    several sections, and each phase's text to the next: each is read once per build.
    """
    return tuple(extract(text, structure=True))


@dataclass
class FigureIndex:
    """The figures of what a call was given, indexed for the question "is this one there?"."""

    values: set[Decimal] = field(default_factory=set)  # every number, percent, amount, year
    plain: set[Decimal] = field(default_factory=set)  # numbers and years only
    percents: set[Decimal] = field(default_factory=set)
    money: set[tuple[str, Decimal]] = field(default_factory=set)
    dates: set[DateKey] = field(default_factory=set)
    times: set[tuple[int, int]] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)
    figures: list[Figure] = field(default_factory=list)

    @classmethod
    def of(cls, texts: Iterable[str]) -> FigureIndex:
        """Index the figures of every text; list and section numbers count here, generously."""
        index = cls()
        for text in texts:
            for figure in given_figures(text):
                index.add(figure)
        return index

    def add(self, figure: Figure) -> None:
        """Index one figure."""
        self.figures.append(figure)
        value = figure.value
        if figure.kind == "date":
            date = cast(DateKey, value)
            self.dates.add(date)
            if date[0] is not None:
                self.values.add(Decimal(date[0]))
                self.plain.add(Decimal(date[0]))
        elif figure.kind == "time":
            self.times.add(cast(tuple[int, int], value))
        elif figure.kind == "identifier":
            self.identifiers.add(cast(str, value))
        else:
            value = cast(Decimal, value)
            self.values.add(value)
            if figure.kind == "percent":
                self.percents.add(value)
            elif figure.kind == "money":
                self.money.add((figure.currency, value))
            else:
                self.plain.add(value)

    def supports(self, figure: Figure) -> bool:
        """Whether a reader would find this figure in what was given."""
        value = figure.value
        if figure.kind in ("number", "year"):
            return value in self.values
        if figure.kind == "percent":
            return value in self.percents
        if figure.kind == "money":
            return (figure.currency, value) in self.money or value in self.plain
        if figure.kind == "time":
            return value in self.times
        if figure.kind == "identifier":
            return value in self.identifiers
        return self._has_date(cast(DateKey, value))

    def _has_date(self, key: DateKey) -> bool:
        """A date is given when a given date says at least as much, or its year is given apart."""
        year, month, day = key
        for given_year, given_month, given_day in self.dates:
            if given_month != month or (day is not None and given_day != day):
                continue
            if year is None or given_year == year:
                return True
            if given_year is None and Decimal(year) in self.plain:
                return True
        return False

    def like(self, figure: Figure) -> list[Figure]:
        """Given figures of the same kind, which a message offers as what the facts say."""
        kinds = {"number", "year"} if figure.kind in ("number", "year") else {figure.kind}
        return [given for given in self.figures if given.kind in kinds]
