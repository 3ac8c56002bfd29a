"""The Whoosh schema: one index for the three kinds, with a `kind` field.

Text fields use our own field types (``WordsField`` / ``CharsField``) whose ``index`` method runs the
analysis in ``analysis.py`` directly and hands Whoosh ready (term, freq, weight, value) tuples: no
Token objects, no per-token filters. Text fields store frequencies only (no positions): phrases
are checked against the stored text instead, which is exact and cheaper to index.
"""

from __future__ import annotations

from collections import Counter

from whoosh import columns, fields, formats
from whoosh.codec.whoosh3 import W3Codec
from whoosh.system import pack_uint

from . import analysis

TEXT_FIELDS = ("title", "keywords", "body", "org")
# BM25F field weights. bench/search_quality.py --sweep: title 1 / 2 / 3 / 5 give MRR@10 0.605 / 0.605 /
# 0.604 / 0.603 on CSL (titles are short, so BM25 length normalisation already favours them); 3 is kept
# because listings titles are curated summaries and the CSL test has no keywords field.
FIELD_BOOSTS = {"title": 3.0, "keywords": 2.0, "body": 1.0, "org": 1.0}
CHARS_FIELD = "chars"
# contract_type / contract_group: registered technology contracts (kind "contract", never public),
# read by marketplace.valuation's pricing guidance
SINGLE_FACETS = (
    "field_top",
    "field",
    "district",
    "maturity",
    "ip_type",
    "price_band",
    "demand_type",
    "org_type",
    "contract_type",
    "contract_group",
)
MULTI_FACETS = ("transfer_modes",)
META_KEY = "__meta__"
META_KIND = "__meta__"


class WordsField(fields.FieldType):
    """Dictionary words (rjieba cut_all, stop words removed) + technical tokens, with frequencies."""

    def __init__(self, stored: bool = False):
        self.format = formats.Frequency()
        self.analyzer = None
        self.stored = stored
        self.scorable = True
        self.unique = False
        self.vector = None
        self.column_type = None
        self.spelling = False
        self.multitoken_query = "and"

    def index(self, value, **kwargs):
        words, _ = analysis.index_terms(value if isinstance(value, str) else " ".join(value))
        for w, n in Counter(words).items():
            yield w.encode("utf-8"), n, float(n), pack_uint(n)

    def process_text(self, qstring, mode="", **kwargs):
        return iter(analysis.query_tokens(qstring))

    def self_parsing(self):
        return False


class CharsField(fields.FieldType):
    """Every CJK character of the document's text (existence only): single characters are findable."""

    def __init__(self):
        self.format = formats.Existence()
        self.analyzer = None
        self.stored = False
        self.scorable = False
        self.unique = False
        self.vector = None
        self.column_type = None
        self.spelling = False
        self.multitoken_query = "and"

    def index(self, value, **kwargs):
        for c in analysis.char_set(value if isinstance(value, str) else " ".join(value)):
            yield c.encode("utf-8"), 1, 1.0, b""

    def process_text(self, qstring, mode="", **kwargs):
        return iter(analysis.char_set(qstring))


def build_schema() -> fields.Schema:
    s = fields.Schema(
        key=fields.ID(unique=True, stored=True),
        kind=fields.ID(stored=True),
        id=fields.STORED(),
        version=fields.COLUMN(columns.VarBytesColumn()),
        meta=fields.STORED(),
        title=WordsField(stored=True),
        keywords=WordsField(stored=True),
        body=WordsField(stored=True),
        org=WordsField(stored=True),
        chars=CharsField(),
        transfer_modes=fields.KEYWORD(commas=True, lowercase=False, scorable=False),
        # sort keys as float columns (NaN = absent); Whoosh's NUMERIC(float, sortable) column is broken
        published_at=fields.COLUMN(columns.NumericColumn("d", default=float("nan"))),
        price=fields.COLUMN(columns.NumericColumn("d", default=float("nan"))),
    )
    for name in SINGLE_FACETS:
        s.add(name, fields.ID(sortable=True))
    return s


class SearchCodec(W3Codec):
    """Whoosh's W3 codec without per-block length statistics.

    At commit Whoosh looks up the document length of *every posting* to record min/max lengths per
    posting block (for its own block-quality skipping, which we do not use: scoring is ours). For a
    field without a length column each lookup is a stat() of a missing file. Profiled on 4,000
    documents: 14.4 s of a 46.7 s build. Without the statistics the lookups do not happen."""

    length_stats = False
