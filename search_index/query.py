"""User query strings -> a plan of clauses. Never raises: there is no query syntax to get wrong.

Syntax understood (everything else is plain text):
  * whitespace separates terms; every term is required, unless nothing matches them all (then the
    engine relaxes, see index.py);
  * "...", “...”, 「...」, 『...』 quote a phrase: the exact character sequence (after folding);
  * a leading '-' excludes a term (``电池 -铅酸``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import analysis

MAX_QUERY_CHARS = 200
MAX_CLAUSES = 12
_QUOTES = re.compile(r'"([^"]*)"|“([^”]*)”|「([^」]*)」|『([^』]*)』|\'([^\']*)\'')
_SPLIT = re.compile(r"[\s,，;；、|]+")
_STD_SPACE = re.compile(r"(?<![a-z0-9])((?:[a-z]{1,2}|db\d{0,4})/[tz]|gb|iso|iec|astm|ieee|din|jis)\s+(\d)")
# Function characters dropped from a query when it has other content (a document almost always has them)
STOP_CHARS = frozenset("的了和与及或在是对等之为以于把被也并而其从由向将个")


@dataclass
class Clause:
    """One required unit. `tokens` must all be present (AND); for a phrase, `phrase` must also occur
    verbatim in the folded text. `label` is what the user typed (for suggestions)."""

    label: str
    tokens: tuple[str, ...]
    phrase: str = ""  # folded text that must occur verbatim (phrases, and all-stop-word terms)


@dataclass
class Plan:
    clauses: list[Clause] = field(default_factory=list)
    excludes: list[Clause] = field(default_factory=list)
    highlight: list[str] = field(default_factory=list)  # folded strings to mark in snippets
    terms: list[str] = field(default_factory=list)  # folded user terms of 2+ tokens (verbatim bonus)

    @property
    def empty(self) -> bool:
        return not self.clauses


def _clauses(label: str, *, phrase: bool) -> list[Clause]:
    """A phrase is one clause; a plain term gives one clause per content token (so relaxing can
    drop a single token)."""
    folded = analysis.normalize(label).strip()
    if not folded:
        return []
    toks = [t for t in analysis.query_tokens(folded) if t.strip()]
    if not toks:
        return []
    stop = analysis.stopwords()
    content = [t for t in toks if t not in stop and t not in STOP_CHARS]
    if phrase:
        # candidates: every word/char of the phrase (stop words via their characters), then verify
        cand = content + [c for t in toks if t in stop for c in t]
        return [Clause(label, tuple(dict.fromkeys(cand)), folded if len(toks) > 1 else "")]
    if not content:
        # a term made only of stop words (技术, 方法): match its characters and the exact string
        chars = tuple(dict.fromkeys(c for t in toks for c in t))
        return [Clause(label, chars, folded)]
    return [Clause(t, (t,)) for t in dict.fromkeys(content)]


def parse(text: str) -> Plan:
    plan = Plan()
    if not text:
        return plan
    text = str(text)[:MAX_QUERY_CHARS].replace("\x00", " ")
    phrases: list[str] = []

    def take(m: re.Match) -> str:
        phrases.append(next(g for g in m.groups() if g is not None))
        return " "

    text = _STD_SPACE.sub(r"\1\2", analysis.normalize(text))  # "GB/T 2260" is one term
    rest = _QUOTES.sub(take, text)
    for p in phrases:
        for c in _clauses(p, phrase=True):
            plan.clauses.append(c)
            plan.highlight.append(c.phrase or analysis.normalize(p).strip())
    for part in _SPLIT.split(rest):
        part = part.strip().strip("\"“”「」『』'")
        if not part:
            continue
        negative = part.startswith("-") and len(part) > 1
        if negative:
            part = part.lstrip("-")
        found = _clauses(part, phrase=False)
        if negative:
            if found:  # exclude documents containing the whole term
                toks = tuple(t for c in found for t in c.tokens)
                plan.excludes.append(Clause(part, toks, analysis.normalize(part).strip() if len(toks) > 1 else ""))
            continue
        if len(found) > 1:
            plan.terms.append(analysis.normalize(part).strip())
        for c in found:
            if c.tokens not in [x.tokens for x in plan.clauses]:
                plan.clauses.append(c)
            plan.highlight.extend(c.tokens if not c.phrase else (c.phrase,))
    plan.clauses = plan.clauses[:MAX_CLAUSES]
    return plan
