"""The words perception recognises: patterns for intents, entities and constraints.

Kept apart from the matching logic (``_reader.py``, driven by ``request_reader.py``) and the arithmetic reader (``arithmetic.py``)
so that widening the vocabulary is an edit to one list.
"""

from __future__ import annotations

import re

from chalicelib import catalogue
from chalicelib.contracts import Comparator

KNOWN_SERVICES = catalogue.SERVICE_NAMES
WINDOWS_AVAILABLE = catalogue.WINDOW_NAMES

_I = re.IGNORECASE

# Words that start a new clause when they follow "and" or a comma. Unsupported actions are
# listed too, so that "check payments and restart it" splits and the restart is reported.
VERBS = (
    r"(?:fetch|get|grab|retrieve|pull|load|read|calculate|compute|evaluate|work out|figure out|determine|"
    r"summari[sz]e|sum up|recap|save|write|store|export|dump|persist|record|list|show|display|give|tell|"
    r"open|create|file|raise|declare|log|query|notify|alert|page|send|let|inform|ping|message|check|inspect|"
    r"find|look up|look at|what|what's|how|divide|multiply|add|subtract|sum|if|when|count|compare|see|verify|"
    r"report|return|print|post|restart|reboot|deploy|redeploy|roll back|rollback|scale|delete|drop|remove|"
    r"kill|shut down|stop|update|modify|close|resolve|acknowledge|ack|otherwise|else)\b"
)

SERVICE = re.compile(r"\b(?P<service>" + "|".join(KNOWN_SERVICES) + r")\b", _I)
ALL_SERVICES = re.compile(
    r"\b(?:all|every|each)\s+(?:of\s+the\s+|the\s+)?services\b|\bacross\s+(?:all\s+)?services\b", _I
)
PRONOUN = re.compile(r"\b(its|it|their|them|that service|the service|this service)\b", _I)
RESULT_PRONOUN = re.compile(
    r"^(?:it|them|that|this|those|these|everything|all of (?:it|them)|the (?:results?|output|answer|"
    r"values?|numbers?|data|findings|report|summary|list|rows|above|lot)|(?:the\s+)?(?:results?|output))$",
    _I,
)

# windows MAOO has data for; anything else that names a span of time is reported as missing
_LOOSE_WINDOW_FORMS = (  # per catalogue window, in order: the looser forms operators type
    r"|\b(?:5|five)[ -]?min(?:ute)?s?\b",
    r"|\b(?:last|past|this|previous)\s+(?:hour|60 minutes)\b|\b(?:1|one)[ -]?h(?:ou)?r?\b",
    r"|\b(?:last|past|previous)\s+(?:day|24 hours)\b|\b24[ -]?h(?:ours?|rs?)?\b|\b(?:1|one)[ -]?d(?:ay)?\b",
)
WINDOWS = tuple(  # the catalogue's words for each window, and the looser forms
    (
        re.compile(
            r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in window.words) + r")\b" + extra,
            _I,
        ),
        window.name,
    )
    for window, extra in zip(catalogue.WINDOWS, _LOOSE_WINDOW_FORMS, strict=True)
)
OTHER_WINDOW = re.compile(
    r"\b(?:(?:last|past|previous|this)\s+(?:\d+\s+|few\s+|couple of\s+)?(?:weeks?|months?|years?|quarter|days|hours|minutes)"
    r"|\d+\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?)|yesterday)\b",
    _I,
)
_PREP = r"(?:\s*\b(?:over|in|for|during|within|across|from|of)\s+(?:the\s+)?)?"
WINDOW_PHRASES = tuple(re.compile(_PREP + r"(?:" + pattern.pattern + r")", _I) for pattern, _ in WINDOWS)
SERVICE_PHRASE = re.compile(
    r"(?:\s*\b(?:of|for|from|in|on|at)\s+(?:the\s+)?)?\b(?:"
    + "|".join(KNOWN_SERVICES)
    + r")(?:'s)?(?:\s+service)?\b|\b(?:its|their|the service's)\b",
    _I,
)

DATABASE = re.compile(r"\b(?:ops\s+)?(?:database|db|sql|sqlite)\b|\bquery\b", _I)
MOCK_DATA = re.compile(r"\bmock[ -]?data\b|\bmock items\b|\bsample data\b", _I)
ERROR_RATE = re.compile(
    r"\berror[ -]?rates?\b|\bfailure[ -]?rates?\b|\berror percentage\b|\bpercent(?:age)? of (?:failed|failing) requests\b",
    _I,
)
METRICS = re.compile(
    r"\b(metrics|latency|latencies|p95|p50|traffic|request count|error count|throughput|numbers)\b", _I
)
SUMMARIZE = re.compile(
    r"\bsummar(?:y|ies|ize|ise|ising|izing)\b|\bsum (?:it |them |this |that |everything )?up\b|\brecap\b|\bbrief(?:ing)?\b|\btl;?dr\b|\boverview\b",
    _I,
)
SUMMARIZE_LEAD = re.compile(
    r"^(?:(?:and\s+)?(?:then\s+)?)?(?:summari[sz]e|sum up|recap|give (?:me )?(?:a |an )?(?:short |brief |quick )?(?:summary|recap|overview|brief) of|"
    r"write (?:me )?(?:a |an )?(?:short |brief |quick )?(?:summary|recap|overview) of|(?:a |an )?(?:short |brief |quick )?(?:summary|recap|overview) of|"
    r"give (?:me )?(?:a |an )?(?:short |brief |quick )?(?:summary|recap|overview)|(?:produce|make|create|prepare) (?:a |an )?(?:short |brief |quick )?(?:summary|recap|overview)(?: of)?)\s*",
    _I,
)

FILE_NAME = re.compile(
    r"['\"]?(?P<path>[^\s'\",;]+\.(?P<ext>[A-Za-z][A-Za-z0-9]{0,4}))['\"]?(?=$|[\s,;])", _I
)
# a save target written as a path without an extension ("to /etc/passwd", "into logs/today"): read
# as a path so the file tool's policy judges it (absolute, traversal), not asked for as "missing"
SLASH_PATH = re.compile(
    r"\b(?:to|in|into|as)\s+['\"]?(?P<path>(?:~|\.{1,2})?/[^\s'\",;]*|[\w.-]+/[^\s'\",;]*)['\"]?(?=$|[\s,;])",
    _I,
)
SAVE = re.compile(r"^(?:save|write|store|export|dump|persist|record|put|output|keep)\b", _I)
SAVE_ANYWHERE = re.compile(r"\b(?:save|write|store|export|dump|persist)\b.*?\b(?:to|as|in|into)\b", _I)
FORMATS = catalogue.FILE_FORMATS
FORMAT = re.compile(
    r"\b(?:as|in|to)\s+(?:an?\s+)?(?P<fmt>"
    + "|".join(re.escape(word) for word in sorted(FORMATS, key=len, reverse=True))
    + r")\b(?:\s+file)?",
    _I,
)
NAMED = re.compile(r"\b(?:called|named|titled)\s+['\"]?(?P<name>[\w][\w-]*)['\"]?", _I)
SAVE_TARGET = re.compile(
    r"\s*\b(?:to|as|in|into)\s+(?:a\s+|an\s+|the\s+)?(?:(?:markdown|md|plain text|text|txt|json|csv|log|spreadsheet)\s+)?(?:file\b|report\b|document\b)?"
    r"(?:\s*(?:called|named|titled)\s+\S+)?\s*(?:['\"]?[^\s'\"]+\.[A-Za-z]\w{0,4}['\"]?)?.*$|\s*\b(?:called|named)\s+\S+.*$",
    _I,
)

CREATE_INCIDENT = re.compile(
    r"\b(?:open|create|file|raise|declare|log|start|cut|report)\s+(?:(?:a|an|one|new|another|the)\s+)?(?:new\s+)?"
    r"(?:(?:sev[ -]?[1-4]|p[0-4]|critical|high|medium|moderate|low|major|minor|urgent)(?:[ -](?:severity|priority|sev))?\s+)?"
    r"incident\b(?!s)|\b(?:create|file|raise|declare|log)\s+(?:new\s+)?incidents\b",
    _I,
)
SEVERITY_WORDS = (
    (re.compile(r"\bsev[ -]?(?P<n>[1-4])\b|\bseverity[ -]?(?P<m>[1-4])\b|\bp(?P<p>[1-4])\b", _I), None),
    (re.compile(r"\b(?:critical|urgent|major|p0)\b", _I), "sev1"),
    (re.compile(r"\bhigh\b", _I), "sev2"),
    (re.compile(r"\b(?:medium|moderate)\b", _I), "sev3"),
    (re.compile(r"\b(?:low|minor)\b", _I), "sev4"),
)
# every word the catalogue has for a channel, longest first: "sre team" before "sre"
_CHANNEL = "|".join(
    sorted(
        (
            re.escape(w).replace(r"\ ", r"[- ]").replace(r"\-", r"[- ]")
            for c in catalogue.CHANNELS
            for w in (c.name, *c.words)
            if not w.startswith("the ")
        ),
        key=len,
        reverse=True,
    )
)
NOTIFY = re.compile(
    r"\b(?:notify|alert|page|ping|inform|message|email|e-mail|slack|tell(?!\s+(?:me|us)\b)|warn)\b(?:\s+(?:the\s+)?(?P<channel>"
    + _CHANNEL
    + r"|#[\w-]+)\b)?|\bsend\s+(?:a\s+|an\s+)?(?:notification|message|alert|page)\b"
    r"(?:\s+to\s+(?:the\s+)?(?P<channel2>" + _CHANNEL + r"|#[\w-]+))?|\blet\s+(?:the\s+)?"
    r"(?P<channel3>" + _CHANNEL + r")(?:\s+team)?\s+know\b",
    _I,
)
# where the free text of a message or an incident title starts: carried as written, never read
FREE_TEXT_TAIL = re.compile(
    r"\s+(?:that|saying|titled|called|named|with (?:the )?(?:message|title|text|note)|to say|reading)\s+|\s*[:'\"]",
    _I,
)
NOTIFY_REST = re.compile(r"\b(?:about|with|of|that)\s+(?P<rest>.+)$", _I)

INCIDENTS = re.compile(r"\bincidents?\b|\boutages?\b", _I)
OPEN_WORD = re.compile(r"\b(open|active|ongoing|current|unresolved)\b", _I)
RESOLVED_WORD = re.compile(r"\b(resolved|closed|past|fixed)\b", _I)
DEPLOYMENTS = re.compile(
    r"\b(deployments?|deploys|releases?|rollouts?|versions?|deployed)\b|\bdeploy history\b|\blast deploy\b",
    _I,
)
DEPLOY_STATUS = re.compile(r"\b(?P<status>failed|succeeded|successful|rolled[ -]back)\b", _I)
SERVICES_LIST = re.compile(r"\bservices\b|\bservice (?:list|catalog(?:ue)?|inventory)\b", _I)
SERVICE_STATUS_FILTER = re.compile(r"\b(?P<status>healthy|degraded|down|unhealthy)\b", _I)
STATUS = re.compile(
    r"\b(status|where|located|hosted|hosts|runs?|health|healthy|state|up|down|degraded|doing|ok|okay|owner|owns|tier|region|details?|info(?:rmation)?)\b",
    _I,
)
# any metric the catalogue knows, by any of its words: "how many requests did search serve"
METRIC_WORDS = re.compile(
    r"\b(?:" + "|".join(re.escape(w) for m in catalogue.METRICS for w in m.words) + r")\b", _I
)
CHECK = re.compile(r"\b(check|inspect|look at|look up|how is|how's|describe|examine|fetch|get|show)\b", _I)
COUNT = re.compile(r"\bhow many\b|\bcount\b|\bnumber of\b", _I)

COMPUTE_LEAD = re.compile(r"^(?:calculate|compute|evaluate|work out|figure out|determine|solve)\b", _I)
FILLER = re.compile(
    r"^(?:(?:please|kindly|now|also|and|then|first(?:ly)?|next|finally|lastly|afterwards|after that|ok(?:ay)?|hey|hi|maoo|"
    r"can you|could you|would you|will you|i want you to|i'd like you to|i would like you to|i need you to|i want to|i need to|"
    r"i'd like to|go ahead and|just|quickly|(?:and\s+)?then)[\s,:]+)+",
    _I,
)
FILLER_TAIL = re.compile(r"(?:[\s,]+(?:please|for me|thanks|thank you|as well|too|right now|now))+$", _I)

URL = re.compile(r"(?P<url>\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+)", _I)
URL_LEAD = re.compile(
    r"^(?:fetch|get|grab|retrieve|pull|load|read|download|open|call|request|query|hit|check|show)\b", _I
)
RAW_SQL = re.compile(
    r"(?:\b(?:run|execute|exec)\s+(?:the\s+|this\s+|a\s+|an\s+)?(?:following\s+)?(?:sql|query|statement|sql query|sql statement)"
    r"|\b(?:query|ask)\s+(?:the\s+)?(?:ops\s+)?(?:database|db)|\bsql)\s*:?\s*"
    r"(?P<sql>(?:select\b.+\bfrom\b|select\s+[\d'(*]|insert|update|delete|drop|create|alter|pragma|attach|detach|replace|with|vacuum|reindex)\b.*)$",
    _I | re.S,
)
RAW_EXPRESSION = re.compile(
    r"^(?:calculate|compute|evaluate|eval|solve)\s*:?\s*(?P<expr>.*[()\[\]'\"_=;{}].*)$", _I
)
REPEAT = re.compile(
    r"^(?:please\s+)?(?:(?:do|run|repeat|redo)\s+(?:the\s+same(?:\s+thing)?|that|it|this|the\s+last\s+(?:request|run|one|thing))"
    r"(?:\s+(?:again|as\s+(?:last\s+time|before)|one\s+more\s+time))?|(?:same|again|same\s+again|repeat(?:\s+the)?\s+last"
    r"(?:\s+(?:request|run))?))\s*[.!]*$",
    _I,
)

UNSUPPORTED_ACTION = re.compile(
    r"^(?P<verb>restart|reboot|deploy|redeploy|roll back|rollback|scale(?: up| down| out)?|delete|drop|remove|kill|shut down|"
    r"stop|update|modify|change|close|resolve|acknowledge|ack|migrate|upgrade|downgrade|patch|purge|truncate|reset|disable|"
    r"enable|terminate|book|buy|order|bake|cook|translate|play|write (?:a|me a) (?:poem|song|story|joke)|tell (?:me )?a joke)\b",
    _I,
)

# ---------------------------------------------------------------- conditions

COMPARATORS: dict[str, Comparator] = {
    "is greater than or equal to": ">=",
    "greater than or equal to": ">=",
    "is at least": ">=",
    "at least": ">=",
    "reaches": ">=",
    "is no less than": ">=",
    "is less than or equal to": "<=",
    "less than or equal to": "<=",
    "is at most": "<=",
    "at most": "<=",
    "is no more than": "<=",
    "above": ">",
    "over": ">",
    "greater than": ">",
    "more than": ">",
    "exceeds": ">",
    "exceed": ">",
    "higher than": ">",
    "bigger than": ">",
    "larger than": ">",
    "tops": ">",
    "below": "<",
    "under": "<",
    "less than": "<",
    "lower than": "<",
    "smaller than": "<",
    "fewer than": "<",
    "drops below": "<",
    "falls below": "<",
    "is not": "!=",
    "does not equal": "!=",
    "equals": "==",
    "is equal to": "==",
    "equal to": "==",
    ">=": ">=",
    "<=": "<=",
    ">": ">",
    "<": "<",
    "==": "==",
    "=": "==",
    "!=": "!=",
}
NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
_COMPARATOR = "|".join(sorted((re.escape(k) for k in COMPARATORS), key=len, reverse=True))
_NUMBER = r"-?\d+(?:\.\d+)?"
CONDITION_LEAD = re.compile(
    r"^(?:only\s+)?(?:if|when(?!\s+(?:was|were|did|does|do|is|will|has|had)\b)|whenever|in case|should|provided that)"
    r"\s+(?P<rest>.+)$",
    _I,
)
CONDITION_TRAIL = re.compile(
    r"^(?P<action>.+?),?\s+(?:but\s+)?(?:only\s+)?(?:if|when|whenever|in case|provided that)\s+(?P<cond>.+)$",
    _I,
)
COMPARISON = re.compile(
    r"^(?P<subject>.+?)\s+(?:is\s+|are\s+|was\s+|goes\s+|gets\s+|rises\s+|climbs\s+|stays\s+|has\s+(?:gone\s+)?|went\s+)?"
    r"(?P<op>"
    + _COMPARATOR
    + r")\s*(?P<value>"
    + _NUMBER
    + r")\s*(?P<unit>%|percent|per ?cent|ms|milliseconds?|errors?|requests?)?"
    r"(?:\s*(?:,\s*|\s+)(?:then\s+)?(?P<action>\S.*))?$",
    _I,
)
ANY_INCIDENTS = re.compile(
    r"^(?:there\s+(?:are|is)\s+(?:any\s+)?|(?P<service>\w+)\s+has\s+(?:any\s+)?)(?P<status>open|active|resolved|unresolved)?\s*"
    r"incidents?(?:\s+(?:for|on|in|against)\s+(?:the\s+)?(?P<service2>\w+)(?:\s+service)?)?"
    r"(?:\s*(?:,\s*|\s+)(?:then\s+)?(?P<action>\S.*))?$",
    _I,
)
INCIDENTS_HAS = re.compile(
    r"^(?P<service>\w+)\s+has\s+(?P<op>"
    + _COMPARATOR
    + r")\s+(?P<value>"
    + _NUMBER
    + r")\s+(?P<status>open|active|resolved|unresolved)?\s*"
    r"incidents?(?:\s*(?:,\s*|\s+)(?:then\s+)?(?P<action>\S.*))?$",
    _I,
)
INCIDENT_COUNT_SUBJECT = re.compile(
    r"\b(?:number|count)\s+of\s+(?P<status>open|active|resolved|unresolved)?\s*incidents\b|"
    r"\b(?:has|have)\s+(?P<status2>open|active|resolved|unresolved)?\s*incidents\b",
    _I,
)
METRIC_FIELDS = (
    (re.compile(r"\bp95\b|\b95th percentile\b|\btail latency\b|\blatency\b", _I), "p95_ms"),
    (re.compile(r"\bp50\b|\bmedian latency\b|\bmedian\b", _I), "p50_ms"),
    (re.compile(r"\berror count\b|\bnumber of errors\b|\berrors\b", _I), "errors"),
    (
        re.compile(r"\brequest count\b|\bnumber of requests\b|\brequests\b|\btraffic\b|\bthroughput\b", _I),
        "requests",
    ),
)
# "p50" must win over "latency" when both are said: order matters in _metric_field
METRIC_FIELD_ORDER = ("p50_ms", "p95_ms", "errors", "requests")

# ---------------------------------------------------------------- constraints

MAX_STEPS = re.compile(
    r"\s*,?\s*\b(?:(?:and\s+)?(?:in|within|using|use|with|take|limit (?:it|this|yourself) to|keep (?:it|this) (?:to|under))\s+)?"
    r"(?:at most|no more than|not more than|max(?:imum)?(?: of)?|a maximum of|only|under|fewer than|less than)?\s*"
    r"(?P<n>\d+)\s+(?:tool\s+)?(?:steps?|calls?|tool calls?)(?:\s+or\s+(?:fewer|less))?(?:\s+(?:at most|max(?:imum)?))?\b",
    _I,
)
DEADLINE = re.compile(
    r"\s*,?\s*\b(?:(?:and\s+)?(?:within|in under|in less than|under|in no more than|taking no (?:more|longer) than|"
    r"take no (?:more|longer) than|with a (?:time limit|deadline|timeout) of|(?:time limit|deadline|timeout)(?: of|:)?|in at most|finish(?:ing)? (?:with)?in))\s+"
    r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>seconds?|secs?|s|minutes?|mins?)\b",
    _I,
)
BUDGET = re.compile(
    r"\s*,?\s*\b(?:(?:and\s+)?(?:with\s+)?(?:a\s+)?(?:budget|cost limit|cost cap|spending limit)(?:\s+(?:of|is|:))?\s*(?P<n>\d+(?:\.\d+)?)"
    r"|(?:and\s+)?(?:spend(?:ing)?|cost(?:ing)?)\s+(?:at most|no more than|under|less than|up to)\s+(?P<m>\d+(?:\.\d+)?))"
    r"(?:\s*(?:credits?|units?|points?))?\b",
    _I,
)
READ_ONLY = re.compile(
    r"\s*,?\s*\b(?:(?:and\s+)?(?:but\s+)?(?:keep (?:it|this|everything)\s+|do (?:it|this|everything)\s+|stay\s+|be\s+)?(?:in\s+)?(?:as\s+a\s+)?"
    r"(?:read[- ]only|dry[- ]run)(?:\s+mode)?|(?:and\s+)?(?:but\s+)?(?:don'?t|do not|never|without)\s+(?:change|changing|modify|modifying|"
    r"write|writing|touch|touching)\s+anything|(?:and\s+)?(?:with\s+)?no\s+(?:writes|side[- ]effects|changes)|(?:and\s+)?without\s+(?:any\s+)?"
    r"side[- ]effects|(?:and\s+)?make no changes)\b",
    _I,
)
NO_FILES = re.compile(
    r"\s*,?\s*\b(?:(?:and\s+)?(?:but\s+)?(?:don'?t|do not|never|without)\s+(?:write|writing|save|saving|create|creating)\s+(?:any\s+)?"
    r"(?:files?|anything to (?:a )?(?:disk|file))|(?:and\s+)?(?:with\s+)?no\s+files?(?:\s+(?:output|writes?))?|(?:and\s+)?"
    r"(?:don'?t|do not|never)\s+(?:save|store)\s+anything)\b",
    _I,
)
NO_HTTP = re.compile(
    r"\s*,?\s*\b(?:(?:and\s+)?(?:but\s+)?(?:don'?t|do not|never|without)\s+(?:call|calling|use|using|hit|hitting|touch|touching)\s+"
    r"(?:the\s+|any\s+)?(?:api|http|apis|network)|(?:and\s+)?(?:use\s+)?(?:the\s+)?(?:database|db) only|(?:and\s+)?only\s+(?:use\s+)?"
    r"(?:the\s+)?(?:ops\s+)?(?:database|db))\b",
    _I,
)

# ---------------------------------------------------------------- clauses

# where one clause ends and the next begins, and how they are joined
CLAUSE_SEPARATOR = re.compile(
    r"(\s*;\s*|,?\s+and\s+then\s+|,\s*then\s+|\s+then\s+(?="
    + VERBS
    + r")|,?\s*\b(?:(?:and\s+)?after that|afterwards|and finally|finally|"
    r"and also|also)\b\s*,?\s+(?="
    + VERBS
    + r")|,?\s*\b(?:otherwise|else)\b\s*,?\s*|,\s*and\s+(?="
    + VERBS
    + r")|,\s*(?="
    + VERBS
    + r")|\s+and\s+(?="
    + VERBS
    + r")|\s+(?:but|while)\s+(?="
    + VERBS
    + r"))",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


OTHERWISE_JOIN = re.compile(r"\b(?:otherwise|else)\b", _I)
THEN_JOIN = re.compile(r"\b(?:then|after that|afterwards|finally)\b", _I)
REPEATED_COMMAS = re.compile(r"\s*,(?:\s*,)+")
DANGLING_CONJUNCTION = re.compile(r"(?:[\s,]+(?:and|but|then|with|using|while))+\s*(?=[.!?]|$)", _I)
SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------- the clause reader's small patterns

COMPUTED_PREFIX = re.compile(r"^(?:the\s+)?(?:computed|calculated|final)\s+", _I)
ARITHMETIC_WORD = re.compile(r"\b(?:divide|multiply|add|subtract|plus|minus|times)\b", _I)
QUESTION_LEAD = re.compile(r"^(?:what is|how much is)\b", _I)
NUMBER_OR_RESULT = re.compile(r"\d|\b(?:it|that|the result)\b", _I)
ALL_OF = re.compile(r"^(?:all\s+)?(?:of\s+)?", _I)
REPORT_NOUN = re.compile(r"(?:a |an |the )?(?:short |brief )?(?:report|summary|recap)", _I)
ARTICLE = re.compile(r"^(?:a|an|the)\s+", _I)
SUMMARY_NOUN = re.compile(r"^(?:short |brief |quick )?(?:summary|recap|overview)(?:\s+of)?\s*", _I)
SERVICE_WORD = re.compile(r"\bservices?\b", _I)
CONTRACTIONS = re.compile(r"\b(it|that|what|there|here|who|how)'s\b", _I)


# ---------------------------------------------------------------- arithmetic: what surrounds the grammar's words

ARITHMETIC_LEAD = re.compile(
    r"^(?:(?:please|now|then|and|also)\s+)*(?:calculate|compute|evaluate|work out|figure out|determine|solve|find|tell me|give me|"
    r"what(?:'s| is| are| does| do)|whats|how much (?:is|are|does|do)|how much)\b\s*:?\s*",
    _I,
)
ARITHMETIC_TRAIL = re.compile(r"\s*(?:\bcome to|\bmake|\bgive|\bequal|\bequals|\bis|=|\?|\.|!)*\s*$", _I)
RESULT_OF = re.compile(r"^(?:the\s+)?(?:result|value|answer)\s+(?:of|to)\s+", _I)
OPERANDS = (
    (re.compile(r"\b(?:the\s+)?(?:number of errors|error count|errors)\b", _I), "@errors"),
    (
        re.compile(
            r"\b(?:the\s+)?(?:number of requests|request count|total requests|requests|traffic)\b", _I
        ),
        "@requests",
    ),
    (
        re.compile(r"\b(?:the\s+)?(?:p95|95th percentile)(?:\s+latency)?\b|\b(?:the\s+)?latency\b", _I),
        "@p95_ms",
    ),
    (re.compile(r"\b(?:the\s+)?(?:p50|median)(?:\s+latency)?\b", _I), "@p50_ms"),
    (
        re.compile(
            r"\b(?:the\s+)?(?:previous\s+|last\s+)?(?:result|answer|value|outcome)\b|\bit\b|\bthat\b", _I
        ),
        "@result",
    ),
)


THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
NUMBER_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:\.\d+)?|\S|\s+")
DIGIT = re.compile(r"\d")
OPERATION = re.compile(r"[-+*/%]|\b(?:sqrt|max|min|round|abs)\(")
REF_NAME = re.compile(r"@\w+")
