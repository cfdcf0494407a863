"""The closed vocabulary perception reads, and the words of a clause outside it.

A clause read into sub-tasks must not hold a word no rule could have read: "notify legal by fax"
has a notify rule that matches, but "legal" and "fax" were never read, and running the rest would
report success for a request only partly done. So after a clause is read, its words are checked
against what MAOO knows: the catalogue's words, every word the perception rules' own patterns
contain, number words, and words that carry no action of their own (articles, pronouns,
prepositions, politeness, and the neutral verbs of a question such as "did search handle").
A word outside all of them stops the run with ``unsupported_request`` naming it.

Free text the user wrote (quoted, or after "titled", "saying", "that", "about" in a message or a
title), file names, URLs and numbers are not checked: they are carried, not read.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from chalicelib import catalogue

# Words that add no action or object of their own. Action verbs are deliberately absent: a verb
# MAOO has no rule for ("fax", "tweet", "print") must never be silently skipped.
FUNCTION_WORDS = frozenset(
    """
a an the this that these those it its it's them they their there here what which who whom whose
where when why how is are was were be been being am do does did done doing have has had having will
would could should can may might must shall of for from in on at by to into onto with within without
about over under above below across through between after before during since until per as than and
or but nor so also too either both each every all any some no not none only just very really quite
much many more most less least few several other another same such own me my mine we our ours us you
your i he she him her his hers one ones please kindly thanks thank hey hi hello ok okay now then
next first firstly second finally lastly afterwards after again still yet already currently right
now quick quickly briefly short brief little bit lot lots let lets want wants need needs like would
love go ahead just maybe perhaps possibly exactly roughly about approximately around total overall
whole entire is isn't aren't wasn't don't doesn't didn't can't cannot won't handle handled handles
handling serve served serves serving process processed processes receive received receives get got
gets getting see saw seen seeing log logged logs record recorded take took taken taking have seen
come came comes make made makes making happen happened happening recent recently latest last newest
current currently present now today so far yet tell know knowing let see show showing shown look
looking give giving find finding value values number numbers figure figures amount result results
answer answers output outputs thing things stuff everything anything something item items entry
entries row rows service services system systems platform app application api endpoint ms
millisecond milliseconds second seconds sec secs minute minutes min mins hour hours hr hrs day days
percent per cent pct pls plz gimme u ur r thx ty teh
""".split()
)


# the words of arithmetic the hand-written grammar and the whole-phrase forms read (they hold no regex to
# take them from)
ARITHMETIC_WORDS = frozenset(
    """
squared cubed square cube root roots sqrt twice double triple halve half halves third thirds quarter
quarters fifth fifths sixth tenth factorial power powers raised larger smaller bigger greater lesser higher
lower convert express increase increased decrease decreased change percent percentage share fraction
decimal whole number round rounded rounding nearest places place dp digits integer product quotient
ratio remainder modulo mod sum difference average mean minus plus times multiplied divided multiply
divide add subtract negate
""".split()
)


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Every word perception can read or may pass over."""
    words: set[str] = set(FUNCTION_WORDS) | ARITHMETIC_WORDS
    for phrase in _catalogue_phrases():
        words.update(_words(phrase))
    for module in _pattern_modules():
        for name, value in vars(module).items():
            if name.startswith("__"):  # a module's docstring is prose, not vocabulary
                continue
            for pattern in _patterns(value):
                words.update(_words(_unescaped(pattern)))
    return frozenset(words)


def _pattern_modules() -> list[ModuleType]:
    """The rule table's modules (its patterns hold the words its rules read) and the arithmetic reader."""
    from chalicelib.perception import arithmetic, arithmetic_grammar, fragments, rules

    table = [
        importlib.import_module(f"{rules.__name__}.{m.name}") for m in pkgutil.iter_modules(rules.__path__)
    ]
    return [fragments, *table, arithmetic, arithmetic_grammar]


def _catalogue_phrases() -> list[str]:
    phrases: list[str] = [
        *catalogue.SERVICE_NAMES,
        *catalogue.REGIONS,
        *catalogue.SERVICE_STATES,
        *catalogue.SEVERITIES,
        *catalogue.SEVERITY_WORDS,
        *catalogue.INCIDENT_STATES,
        *catalogue.DEPLOY_STATES,
        *catalogue.DOMAIN_VERBS,
        *catalogue.ERROR_RATE_WORDS,
        *catalogue.FILE_FORMATS,
    ]
    for service in catalogue.SERVICES:
        phrases += [service.owner, *service.aliases]
    for metric in catalogue.METRICS:
        phrases += list(metric.words)
    for window in catalogue.WINDOWS:
        phrases += list(window.words)
    for resource in catalogue.RESOURCES:
        phrases += [*resource.words, *resource.columns, *resource.filters]
    for channel in catalogue.CHANNELS:
        phrases += [channel.name, *channel.words]
    from chalicelib.perception.estate import lexicon

    phrases += list(lexicon())  # the estate reader's words: it accounts for each where it reads them
    return phrases


def _patterns(value: object) -> list[str]:
    """The pattern texts in a rule module's value: a compiled pattern, a string of alternatives, or tuples."""
    if hasattr(value, "pattern") and isinstance(value.pattern, str):
        return [value.pattern]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [k for k in value if isinstance(k, str)] + [v for v in value.values() if isinstance(v, str)]
    if isinstance(value, (tuple, list)):
        return [p for item in value for p in _patterns(item)]
    return []


def _unescaped(pattern: str) -> str:
    """A regex's text without its escapes (``\\b``, ``\\s``, ``\\d``): only the literal words remain."""
    out: list[str] = []
    skip = False
    for ch in pattern:
        if skip:
            skip = False
            out.append(" ")
            continue
        if ch == "\\":
            skip = True
            continue
        out.append(ch if ch.isalpha() else " ")
    return "".join(out)


def _words(text: str) -> list[str]:
    return [w for w in "".join(ch.lower() if ch.isalpha() else " " for ch in text).split() if len(w) >= 1]


def unknown_words(text: str) -> list[str]:
    """The words of ``text`` perception knows nothing of, in order (free text, names and numbers excluded)."""
    known = known_words()
    found: list[str] = []
    for token in _tokens(_without_free_text(text)):
        if (
            any(ch.isdigit() for ch in token)
            or any(ch in token for ch in "./:@#_=")
            or not any(ch.isalpha() for ch in token)
        ):
            continue
        for word in token.lower().replace("'s", "").replace("-", " ").replace("'", " ").split():
            if (
                word.isalpha()
                and not {word, word + "s", word.rstrip("s"), word.removesuffix("es")} & known
                and word not in found
            ):
                found.append(word)
    return found


_FREE_TEXT_MARKERS = (
    "titled",
    "saying",
    "that says",
    "with the message",
    "with message",
    "with title",
    "reading",
    "with the title",
    "message",
    "note",
)


def _without_free_text(text: str) -> str:
    """``text`` up to where free text starts: a quote, or a marker such as "titled" or "saying"."""
    lowered = f" {text.lower()} "
    cut = len(text)
    for quote in ("'", '"', "\u2018", "\u201c"):
        i = text.find(quote)
        if i >= 0 and not (i > 0 and text[i - 1].isalpha() and quote == "'"):
            cut = min(cut, i)
    for marker in _FREE_TEXT_MARKERS:
        i = lowered.find(f" {marker} ")
        if i >= 0:
            cut = min(cut, i)
    return text[:cut]


def _tokens(text: str) -> list[str]:
    return [t.strip(",;!?()[]{}") for t in text.split() if t.strip(",;!?()[]{}")]
