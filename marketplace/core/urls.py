"""URL converters. `<int:...>` in every route means a database id, so it only matches what fits
the database's INTEGER column: /deals/99999999999 is a 404 like any other missing object, not an
OverflowError (SQLite) or a DataError (PostgreSQL) turned into a 500."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from .validators import INT_MAX as MAX_ID  # PostgreSQL INTEGER (and so SERIAL) ends there


def digits_up_to(limit: int) -> str:
    """A regex (no capturing groups) for the decimal numbers 0..limit, leading zeros allowed:
    shorter numbers, then for each digit of `limit` the same prefix with a smaller digit there."""
    text = str(limit)
    options = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            options.append(f"{text[:i]}[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "0*(?:" + "|".join(options) + ")"


class BoundedIntConverter(IntegerConverter):
    """`<int:x>` that only matches 0..MAX_ID (or the rule's own `max`). The bound is in the regex,
    not only in to_python: werkzeug checks a rule's methods before converting, so a value refused
    by to_python would make a path with other methods on it a 405 instead of a 404."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed=False):
        max = MAX_ID if max is None else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if not fixed_digits:
            self.regex = ("-?" if signed else "") + digits_up_to(max)
