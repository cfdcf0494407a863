"""Typo tolerance: domain words misspelt or abbreviated are corrected towards the catalogue.

"chekout p95?" reads as "checkout p95?", and the perceived state shows ``"chekout" -> "checkout"``.
Only the domain's own words are targets (services, resources, metrics, the verbs of the domain,
``catalogue.domain_words``), matched with rapidfuzz: an edit distance with transpositions (OSA) of
at most 1, or 2 for words of seven letters or more, and an indel similarity of at least 80 for
shorthand that drops letters ("srch"). A word is left alone when it is ordinary English (a word
that is spelt right is never "corrected" into a domain word: "date" is not "data"), when two
domain words are equally close, and always inside free text: quoted text, what follows "titled",
"saying", "message" and the like (incident titles, messages, file contents), file names, URLs.

rapidfuzz is imported on first use (it is a compiled extension; a request without a candidate
word never loads it).
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib import catalogue

# Ordinary words that look like a domain word with one letter changed, and words operators use
# that must be read as written. Kept short: only words within reach of a domain word matter.
_ENGLISH = frozenset(
    """
a an the and or but if then else when what which who whom whose where why how is are was were be
been being do does did done have has had its it this that these those there here them they their our
your my me we us you i he she his her for from into onto with without within over under above below
after before again also any all each every some most more less many much few last past next first
second third quarter half double triple twice per once only just very list lists show shows tell
give get gets got make made take takes took find found look see check checks run runs ran open opens
opened close closed data date dates date rate rates late later latest state states stats status stat
rest test tests text next sent send sends lend mail main mean means meant mock rock lock lick link
line lines fine line time times tier tiers team teams term terms tell sell seal deal real read reads
ready head heads held hold hosts host most cost costs post posts past paste case cases save saves
safe same sure pure word words work works worked world would could should shall will with wish list
least last lost loss less lens eyes else error errors request requests search service services
report reports deploy deploys deployed release released version versions region regions owner owners
owns own incident incidents issue issues outage outages value values total totals number numbers
count counts counted match metric metrics latency median minute minutes hour hours second seconds
day days week weeks month months year years today daily hourly note notes node nodes code codes mode
modes file files name named names call calls called note sync send sent sends page pages ping pings
part parts level levels limit limits budget steps step only read write writes wrote file files into
onto about above region zone zones user users role roles host hosts port ports path paths root disk
disks memory cache caches job jobs task tasks queue queues event events alert alerts alarm alarms up
down ok okay fast slow high low sum sums add adds plus minus times over divide divided multiply
multiplied subtract from less minus average mean percent percentage share square squared cube cubed
root power halve half percentile percentiles compare compared resolve resolves falls fall fell drop drops
dropped rise rises rose climb climbs goes went going doing gone exactly nearly about around roughly
""".split()
)


@lru_cache(maxsize=1)
def _read_as_written() -> frozenset[str]:
    """Ordinary English, and every word the estate reader and the catalogue's comparisons read as they
    are: a word MAOO reads is never "corrected" into another ("falls below" is not "calls below")."""
    from chalicelib.perception import estate

    phrases = [*estate.lexicon(), *catalogue.COMPARATOR_WORDS]
    return _ENGLISH | frozenset(w for phrase in phrases for w in phrase.split() if w.isalpha())


# Markers after which the rest of a clause is free text the user wrote: never corrected.
_FREE_TEXT_MARKERS = (
    "titled",
    "title",
    "saying",
    "says",
    "message",
    "content",
    "contents",
    "text",
    "named",
    "called",
    "note",
    "reading",
    "sql",
    "query:",
    "select",
    ":",
)


@lru_cache(maxsize=1)
def _targets() -> tuple[str, ...]:
    """The catalogue's domain words and the estate reader's names of fields, tables and aggregates
    ("regoin" is "region", "smalest" is "smallest")."""
    from chalicelib.perception import estate

    return tuple(dict.fromkeys([*catalogue.domain_words(), *estate.names()]))


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    found = {
        alias: s.name for s in catalogue.SERVICES for alias in s.aliases if len(alias) >= 4 or alias == "srch"
    }
    found.update(
        {
            "err": "error",
            "errs": "errors",
            "reqs": "requests",
            "req": "requests",
            "rte": "rate",
            "lat": "latency",
            "calc": "calculate",
            "incs": "incidents",
            "inc": "incident",
            "svc": "service",
            "svcs": "services",
            "deps": "deployments",
            "avg": "average",
            "pct": "percent",
        }
    )
    return found


def _limit(word: str) -> int:
    return 2 if len(word) >= 7 else 1


def _best(word: str) -> str | None:
    """The one domain word ``word`` is a typo of, or None (no close word, or two equally close)."""
    from rapidfuzz.distance import OSA, Indel

    scored: list[tuple[int, float, str]] = []
    for target in _targets():
        if abs(len(target) - len(word)) > 3:
            continue
        if target.rstrip("s") == word.rstrip("s") or target.removesuffix("es") == word:
            return None  # the same word, singular or plural: spelt right, never "corrected"
        distance = OSA.distance(word, target)
        similarity = Indel.normalized_similarity(word, target) * 100
        close = distance <= _limit(word) and (len(word) >= 4 or len(target) <= 4)
        shorthand = (
            len(word) >= 4
            and similarity >= 80
            and target.startswith(word[0])
            and _is_subsequence(word, target)
        )
        if close or shorthand:
            scored.append((distance, -similarity, target))
    if not scored:
        return None
    scored.sort()
    if (
        len(scored) > 1
        and scored[0][:2] == scored[1][:2]
        and scored[0][2].rstrip("s") != scored[1][2].rstrip("s")
    ):
        return None  # two domain words equally close: not guessed
    return scored[0][2]


def _is_subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(ch in letters for ch in short)


def _candidate(token: str) -> bool:
    return token.isalpha() and token.islower() and len(token) >= 3 and token not in _read_as_written()


def correct(text: str) -> tuple[str, list[str]]:
    """``text`` with domain-word typos corrected, and each correction as ``'"chekout" -> "checkout"'``."""
    out: list[str] = []
    corrections: list[str] = []
    free = False
    quote: str | None = None
    for chunk in _chunks(text):
        if quote:
            quote = None if chunk == quote else quote
            out.append(chunk)
            continue
        if chunk in ("'", '"') and not (out and out[-1].isalpha()):
            quote = chunk
            out.append(chunk)
            continue
        lowered = chunk.lower()
        if lowered in _FREE_TEXT_MARKERS and not (lowered == ":" and _only_constraints("".join(out))):
            free = True  # ("dry run: open a sev2 inc for search": what follows a constraint is read)
        alias = None if free else _aliases().get(lowered)  # shorthand: "inc", "svc", "reqs"
        if alias is None and (free or not _candidate(lowered) or lowered in _targets()):
            out.append(chunk)
            continue
        fixed = alias or _best(lowered)
        if fixed and fixed != lowered:
            corrections.append(f'"{chunk}" -> "{fixed}"')
            out.append(fixed)
        else:
            out.append(chunk)
    return "".join(out), corrections


def _only_constraints(text: str) -> bool:
    from chalicelib.perception.rules.constraints import strip_constraints

    return bool(text.strip()) and not strip_constraints(text).strip(" ,.;:")


def _chunks(text: str) -> list[str]:
    """Words (letters, or a run without spaces holding a dot, slash or digit) and everything between."""
    chunks: list[str] = []
    i = 0
    while i < len(text):
        j = i
        if text[i].isspace():
            while j < len(text) and text[j].isspace():
                j += 1
        elif text[i].isalpha():
            while j < len(text) and (
                text[j].isalnum() or text[j] in "._/-@:" and j + 1 < len(text) and not text[j + 1].isspace()
            ):
                j += 1
        else:
            j += 1
        chunks.append(text[i:j])
        i = j
    return chunks
