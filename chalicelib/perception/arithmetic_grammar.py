"""Arithmetic in words and symbols, read by a hand-written recursive-descent parser.

Why hand-written and not lark: the grammar is small (a dozen productions), its operators are
multi-word phrases ("divided by", "to the power of", "what share of ... is ..."), a clause may
continue the previous one with its first operand left out ("then halve it", "divide by 6"), and
this code runs in every cold-started Perceive Lambda, where one module of plain Python costs
nothing to import and adds no dependency to package. The grammar, each production tested in
``tests/unit/test_arithmetic_grammar.py``::

    statement    := LEAD? (question | verb_form | expr) TRAILER?
    question     := ("what" | "which")? SHARE "of" expr ("is" | "are") expr
                    (SHARE: "share" | "percent" | "percentage" | "proportion")
                  | ("what" | "which")? ("percent" | "percentage") ("is" | "are") expr "of" expr
                  | expr "as" "a" ("percent" | "percentage") "of" expr
    verb_form    := "add" expr "to" expr | "add" list | "add" expr   (the last: to the previous result)
                  | "sum" list | "average" list
                  | "subtract" expr "from" expr | "subtract" expr
                  | "take" expr "away"? "from" expr | ("take" | "start with") expr
                  | "multiply" RESULT? ("by" | "with" | "times") expr
                  | "multiply" expr ("by" | "and" | "with") expr
                  | "divide" RESULT? ("by" | "over") expr | "divide" expr ("by" | "over") expr
                  | ("halve" | "double" | "triple" | "square" | "cube" | "negate") expr?
    expr         := term (("+" | "plus" | "-" | "minus") term)*
    term         := power (("*" | "x" | "times" | "multiplied by" | "/" | "divided by" | "over" | "mod")
                    power)*
    power        := postfix (("^" | "**" | "to the power of" | "raised to") power)?
    postfix      := prefix ("squared" | "cubed" | PERCENT ("of" prefix)?
                    | ("increased" | "decreased") "by" prefix PERCENT)*
    prefix       := "-" prefix | FRACTION "of"? prefix | ("double" | "twice" | "triple") prefix
                  | "the"? "square root of" prefix | "the"? AGGREGATE "of" list
                  | ("difference between" | "quotient of" | "ratio of" | "remainder of") postfix JOIN postfix
                  | atom
    atom         := NUMBER | REF | RESULT | "(" expr ")"
    list         := expr (("," | "and" | ", and") expr)+

A ``RESULT`` ("it", "that", "the result") and an operand left out both stand for ``@result``, the
previous computation: the reader links it, or asks which result is meant. ``parse`` returns the
expression for the calc tool, or ``None`` when the words are not arithmetic; any word the grammar
does not place makes it ``None``, so a clause is never half read.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import MaooError

RESULT_REF = "@result"
_REF_NAMES = ("@errors", "@requests", "@p50_ms", "@p95_ms", RESULT_REF)

_LEADS = (
    ("calculate",),
    ("compute",),
    ("evaluate",),
    ("eval",),
    ("calc",),
    ("work", "out"),
    ("figure", "out"),
    ("determine",),
    ("solve",),
    ("find",),
    ("tell", "me"),
    ("give", "me"),
    ("what", "is"),
    ("whats",),
    ("what", "are"),
    ("how", "much", "is"),
    ("how", "much", "are"),
    ("how", "much"),
    ("what",),
    ("and",),
    ("then",),
    ("please",),
    ("now",),
    ("also",),
    ("after", "that"),
    ("afterwards",),
    ("next",),
    ("finally",),
)
_TRAILERS = (
    ("in", "percent"),
    ("as", "a", "percentage"),
    ("as", "a", "percent"),
    ("in", "%"),
    ("as", "percent"),
    ("percent",),
    (",",),
    ("come", "to"),
    ("make",),
    ("equal",),
    ("equals",),
    ("is",),
    ("=",),
    ("please",),
)
_RESULT_WORDS = (
    ("the", "previous", "result"),
    ("the", "result"),
    ("the", "answer"),
    ("the", "value"),
    ("that", "result"),
    ("the", "total"),
    ("the", "sum"),
    ("that", "number"),
    ("that", "figure"),
    ("that", "value"),
    ("the", "number"),
    ("the", "count"),
    ("it",),
    ("that",),
    ("this",),
    ("result",),
)
_FRACTIONS = {"half": 2, "third": 3, "quarter": 4, "fourth": 4, "fifth": 5, "sixth": 6, "tenth": 10}
_AGGREGATES = {
    "sum": "sum",
    "total": "sum",
    "product": "product",
    "average": "average",
    "mean": "average",
    "max": "max",
    "maximum": "max",
    "largest": "max",
    "biggest": "max",
    "highest": "max",
    "min": "min",
    "minimum": "min",
    "smallest": "min",
    "lowest": "min",
}
_ADD = (("+",), ("plus",))
_SUB = (("-",), ("minus",))
_MUL = (("*",), ("×",), ("x",), ("times",), ("multiplied", "by"))
_DIV = (("/",), ("÷",), ("divided", "by"), ("over",))
_MOD = (("%",), ("mod",), ("modulo",))
_POW = (
    ("^",),
    ("**",),
    ("to", "the", "power", "of"),
    ("raised", "to", "the", "power", "of"),
    ("raised", "to"),
)
_PERCENT = (("%",), ("percent",), ("per", "cent"))
_SHARE = ("share", "percent", "percentage", "proportion")
# "the difference between 9 and 4", "the quotient of 8 and 2", "the ratio of 3 to 4",
# "the remainder of 7 divided by 2"
_BINARY_OF = (
    (("difference", "between"), (("and",),), "({a} - {b})"),
    (("quotient", "of"), (("and",), ("by",)), "({a} / {b})"),
    (("ratio", "of"), (("to",), ("and",)), "({a} / {b})"),
    (("remainder", "of"), (("divided", "by"), ("by",), ("and",)), "({a} % {b})"),
    (("modulo", "of"), (("divided", "by"), ("by",), ("and",)), "({a} % {b})"),
)
_UNARY_VERBS = {
    "halve": "({a} / 2)",
    "double": "({a} * 2)",
    "triple": "({a} * 3)",
    "square": "({a} ** 2)",
    "cube": "({a} ** 3)",
    "negate": "(-{a})",
}


class _NoParse(MaooError):
    """The words are not arithmetic this grammar reads."""


@dataclass
class _Parser:
    tokens: list[str]
    pos: int = 0

    # -- token helpers
    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def at(self, phrase: tuple[str, ...]) -> bool:
        return tuple(self.tokens[self.pos : self.pos + len(phrase)]) == phrase

    def take(self, *phrases: tuple[str, ...]) -> tuple[str, ...] | None:
        for phrase in sorted(phrases, key=len, reverse=True):
            if self.at(phrase):
                self.pos += len(phrase)
                return phrase
        return None

    def expect(self, *phrases: tuple[str, ...]) -> None:
        if not self.take(*phrases):
            raise _NoParse(f"expected {' or '.join(' '.join(p) for p in phrases)} at {self.peek()!r}")

    def done(self) -> bool:
        return self.pos >= len(self.tokens)

    # -- statement
    def statement(self) -> str:
        while self.take(*_LEADS):
            pass
        self.take(("the",))
        start = self.pos
        for form in (self.question, self.verb_form, self.expr):
            self.pos = start
            try:
                built = form()
            except _NoParse:
                continue
            while self.take(*_TRAILERS):
                pass
            if self.done():
                return built
        raise _NoParse("not arithmetic")

    def question(self) -> str:
        self.take(("what",), ("which",))
        if self.take(*[(w,) for w in _SHARE]):
            if self.take(("of",)):
                whole = self.expr()
                self.expect(("is",), ("are",))
                part = self.expr()
                return f"({part} / {whole} * 100)"
            self.expect(("is",), ("are",))
            part = self.expr()
            self.expect(("of",))
            whole = self.expr()
            return f"({part} / {whole} * 100)"
        part = self.expr()
        self.expect(("as", "a", "percentage", "of"), ("as", "a", "percent", "of"), ("as", "percent", "of"))
        whole = self.expr()
        return f"({part} / {whole} * 100)"

    def verb_form(self) -> str:  # noqa: C901 - one branch per verb of the grammar above
        verb = self.peek()
        self.pos += 1
        if verb == "add":
            self.take(("up",), ("together",))
            first = self.expr()
            if self.take(("to",)):
                return f"({self.expr()} + {first})"
            rest = self.list_tail()
            return "(" + " + ".join([first, *rest]) + ")" if rest else f"({RESULT_REF} + {first})"
        if verb in ("sum", "average", "mean"):
            self.take(("up",))
            items = self.list_items()
            return _aggregate(_AGGREGATES[verb], items)
        if verb == "subtract":
            first = self.expr()
            if self.take(("from",)):
                return f"({self.expr()} - {first})"
            return f"({RESULT_REF} - {first})"
        if verb == "take" or (verb == "start" and self.take(("with",))):
            first = self.expr()
            if self.take(("away", "from"), ("from",)):
                return f"({self.expr()} - {first})"
            return f"(+{first})"  # the start of a chain ("take 100, divide it by 4"): a value to go on from
        if verb in ("multiply", "divide"):
            symbol = "*" if verb == "multiply" else "/"
            joins = (("by",), ("with",), ("times",)) if verb == "multiply" else (("by",), ("over",))
            before = self.pos
            self.take(*_RESULT_WORDS)  # "multiply it by 2", "divide the result by 5", "divide by 6"
            if self.take(*joins):
                return f"({RESULT_REF} {symbol} {self.expr()})"
            self.pos = before
            first = self.expr()
            self.expect(*(joins + ((("and",),) if verb == "multiply" else ())))
            return f"({first} {symbol} {self.expr()})"
        if verb in _UNARY_VERBS:
            if self.done() or self.take(*_RESULT_WORDS) and self.done():
                return _UNARY_VERBS[verb].format(a=RESULT_REF)
            return _UNARY_VERBS[verb].format(a=self.expr())
        raise _NoParse(f"no verb form for {verb!r}")

    # -- expressions
    def expr(self) -> str:
        out = self.term()
        while True:
            if self.take(*_ADD):
                out = f"{out} + {self.term()}"
            elif self.take(*_SUB):
                out = f"{out} - {self.term()}"
            else:
                return out

    def term(self) -> str:
        out = self.power()
        while True:
            if self.take(*_MUL):
                out = f"{out} * {self.power()}"
            elif self.take(*_DIV):
                out = f"{out} / {self.power()}"
            elif (
                self.at(("%",))
                and self.peek(1) not in (None, "of")
                and _is_operand_start(self.peek(1))
                or self.take(("mod",), ("modulo",))
            ):
                self.take(("%",))
                out = f"{out} % {self.power()}"
            else:
                return out

    def power(self) -> str:
        base = self.postfix()
        if self.take(*_POW):
            exponent = self.power()  # right-associative: 2 ^ 3 ^ 2 is 2 ^ 9
            self.take(("power",))
            return f"({base} ** {exponent})"
        return base

    def postfix(self) -> str:
        out = self.prefix()
        while True:
            if self.take(("squared",)):
                out = f"({out} ** 2)"
            elif self.take(("cubed",)):
                out = f"({out} ** 3)"
            elif self.at(("%",)) and self.peek(1) not in (None, "of") and _is_operand_start(self.peek(1)):
                return out  # "7 % 3" is the remainder, read by term
            elif change := self.take(
                ("increased", "by"),
                ("raised", "by"),
                ("grown", "by"),
                ("decreased", "by"),
                ("reduced", "by"),
                ("lowered", "by"),
                ("cut", "by"),
            ):
                rate = self.prefix()
                self.expect(*_PERCENT)
                sign = "+" if change[0] in ("increased", "raised", "grown") else "-"
                out = f"({out} * (1 {sign} {rate} / 100))"
            elif self.take(*_PERCENT):
                if self.take(("of",)):
                    out = f"({out} / 100 * {self.prefix()})"
                else:
                    out = f"({out} / 100)"
            else:
                return out

    def prefix(self) -> str:
        if self.take(("-",)):
            return f"(-{self.prefix()})"
        self.take(("the",))
        start = self.pos
        self.take(("a",), ("one",))
        word = self.peek()
        if word in _FRACTIONS or (word and word.rstrip("s") in _FRACTIONS and self.pos > start):
            self.pos += 1
            self.take(("of",))
            return f"({self.prefix()} / {_FRACTIONS[word.rstrip('s') if word not in _FRACTIONS else word]})"
        self.pos = start
        if self.take(("double",), ("twice",)):
            return f"({self.prefix()} * 2)"
        if self.take(("triple",), ("thrice",)):
            return f"({self.prefix()} * 3)"
        if self.take(("square", "root", "of"), ("sqrt", "of"), ("sqrt",)):
            return f"sqrt({self.prefix()})"
        if word in _AGGREGATES and self.peek(1) == "of":
            self.pos += 2
            return _aggregate(_AGGREGATES[word], self.list_items())
        for lead, joins, template in _BINARY_OF:
            if self.take(lead):
                a = self.postfix()
                self.expect(*joins)
                return template.format(a=a, b=self.postfix())
        return self.atom()

    def atom(self) -> str:
        token = self.peek()
        if token is None:
            raise _NoParse("an operand is missing")
        if token == "(":
            self.pos += 1
            inner = self.expr()
            self.expect((")",))
            return f"({inner})"
        if _is_number(token) or token in _REF_NAMES:
            self.pos += 1
            return token
        if self.take(*_RESULT_WORDS):
            return RESULT_REF
        raise _NoParse(f"{token!r} is not a number")

    def list_items(self) -> list[str]:
        first = self.expr()
        rest = self.list_tail()
        if not rest:
            raise _NoParse("a list needs two numbers or more")
        return [first, *rest]

    def list_tail(self) -> list[str]:
        items: list[str] = []
        while self.take((",", "and"), (",",), ("and",)):
            items.append(self.expr())
        return items


def _aggregate(kind: str, items: list[str]) -> str:
    if kind == "sum":
        return "(" + " + ".join(items) + ")"
    if kind == "product":
        return "(" + " * ".join(items) + ")"
    if kind == "average":
        return "((" + " + ".join(items) + f") / {len(items)})"
    return f"{kind}(" + ", ".join(items) + ")"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return token[0].isdigit() or token[0] == "."


def _is_operand_start(token: str | None) -> bool:
    return token is not None and (_is_number(token) or token in _REF_NAMES or token == "(")


def tokens(text: str) -> list[str]:
    """Numbers, ``@refs``, words (lower case) and operator symbols; other punctuation is dropped."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace() or ch in "?!;:\"'":
            i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            j = i
            while j < len(text) and (
                text[j].isdigit() or text[j] == "." and j + 1 < len(text) and text[j + 1].isdigit()
            ):
                j += 1
            out.append(text[i:j])
            i = j
        elif ch == "@" or ch.isalpha():
            j = i + 1
            while j < len(text) and (text[j].isalnum() or text[j] in "_'"):
                j += 1
            out.append(text[i:j].lower().replace("'s", "").replace("'", ""))
            i = j
        elif text.startswith("**", i):
            out.append("**")
            i += 2
        elif ch == ".":
            i += 1  # a full stop
        else:
            out.append(ch)
            i += 1
    return out


def parse(text: str) -> str | None:
    """The calc expression ``text`` asks for (``@result`` standing for the previous result), or None."""
    toks = tokens(text)
    if not toks:
        return None
    try:
        return _Parser(toks).statement()
    except (_NoParse, RecursionError):
        return None


_QUESTION_WORDS = (("how", "many"), ("how", "much"), ("in", "total"), ("total",))
_RATE_WORDS = ("per", "each", "every", "a")


def rate_problem(text: str) -> str | None:
    """A units-free word problem with two numbers and a rate: their product, else None.

    "a job handles 45 requests per second; how many in 60 seconds" -> ``45 * 60``; "each of 12
    hosts sends 30 events per minute, how many events in total" -> ``12 * 30``. Read only when the
    text holds exactly two numbers, a rate ("per", "each", "every") and a question ("how many", "how
    much", "in total"); anything else is left to the clause reader.
    """
    toks = tokens(text)
    numbers = [t for t in toks if _is_number(t)]
    if len(numbers) != 2 or not any(w in toks for w in ("per", "each", "every")):
        return None
    if not any(tuple(toks[i : i + len(q)]) == q for q in _QUESTION_WORDS for i in range(len(toks))):
        return None
    if any(t in "+-*/^%()" or t in ("plus", "minus", "times", "divided", "of") and t != "of" for t in toks):
        return None
    return f"{numbers[0]} * {numbers[1]}"
