"""Validators for Chinese identifiers. Each returns the normalised value or raises ValueError
with a Chinese message that can be shown beside the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

# GB 32100-2015 统一社会信用代码: 18 characters from this 31-character alphabet (no I O S V Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def fold_width(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (ＺＬ２０１… -> ZL20…)."""
    return unicodedata.normalize("NFKC", text)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    code = fold_width(raw or "").strip().upper().replace(" ", "")
    if len(code) != 18:
        raise ValueError(f"统一社会信用代码应为18位，当前为{len(code)}位")
    bad = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if bad:
        raise ValueError(f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、S、V、Z）")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValueError(f"统一社会信用代码校验位错误：第18位应为 {expected}，请核对")
    return code


# Chinese patent application numbers (CNIPA):
#   since 2003-10: 12 digits = year(4) + type(1) + serial(7), then '.' and a check character,
#     e.g. ZL201720001285.X or 201720001285X;
#   before: 8 digits = year(2) + type(1) + serial(5), then a check character, e.g. 98123456.X.
# The check character is sum(digit_i * w_i) mod 11 with weights 2..9,2..; 10 is written 'X'.
# Publication / grant numbers (CN114081026A, CN215792497U) carry no check character; their
# shape is validated.
_APPLICATION = re.compile(r"^(?:ZL|CN)?(\d{12}|\d{8})\.?([0-9X])$")
_PUBLICATION = re.compile(r"^CN(\d{6,9})([ABCUYS]\d?)$")
PATENT_TYPES = {"1": "发明", "2": "实用新型", "3": "外观设计", "8": "PCT发明", "9": "PCT实用新型"}


def patent_check_char(digits: str) -> str:
    weights = [2, 3, 4, 5, 6, 7, 8, 9]
    total = sum(int(d) * weights[i % 8] for i, d in enumerate(digits))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_patent_number(raw: str) -> str:
    """Normalised number: 'ZL201720001285.X' for applications, 'CN114081026A' for publications."""
    text = fold_width(raw or "").strip().upper().replace(" ", "").replace("　", "")
    if not text:
        raise ValueError("专利号不能为空")
    match = _APPLICATION.match(text)
    if match:
        digits, check = match.groups()
        kind = digits[4] if len(digits) == 12 else digits[2]
        if kind not in PATENT_TYPES:
            raise ValueError(f"专利号 {raw} 的类型位“{kind}”无效（应为1发明、2实用新型、3外观设计、8或9 PCT）")
        expected = patent_check_char(digits)
        if check != expected:
            raise ValueError(f"专利号 {raw} 校验位错误：应为 {expected}，请核对")
        return f"ZL{digits}.{check}"
    if _PUBLICATION.match(text):
        return text
    raise ValueError(
        f"专利号 {raw} 格式不正确：应为申请号（如 ZL201720001285.X 或 201720001285X）或公开/授权号（如 CN114081026A）"
    )


def split_list(raw: object) -> list[str]:
    """A list given as a list, or as a string separated by ；;，,、 or spaces; blanks dropped,
    order kept, duplicates removed."""
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        items = [str(item) for item in raw]
    else:
        items = re.split(r"[；;，,、\s]+", str(raw))
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


_PHONE = re.compile(r"^(?:\+?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|400-?\d{3}-?\d{4})$")


def validate_phone(raw: str) -> str:
    text = fold_width(raw or "").strip().replace(" ", "")
    if not _PHONE.match(text):
        raise ValueError("电话号码格式不正确，请填写手机号（11位）或带区号的固定电话，如 0633-8888888")
    return text


def validate_email_address(raw: str) -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError("邮箱格式不正确") from exc


def optional_value(
    data: dict[str, Any], key: str, validator: Callable[[str], str], errors: dict[str, str]
) -> str | None:
    """A field that may be left blank: None when blank, else the validated value; a bad value puts
    its Chinese reason into errors[key]."""
    raw = str(data.get(key) or "").strip()
    if not raw:
        return None
    try:
        return validator(raw)
    except ValueError as exc:
        errors[key] = str(exc)
        return raw


# ---------------------------------------------------------------------------------------------
# Input hygiene: every text a request brings in (form fields, query strings, JSON bodies) is
# cleaned once, on the way in, by the request class below; every column value is checked against
# its column's size when it is set, so a long string is a field error, never a database error.

# C0 and C1 control characters except tab and newline; Unicode bidi embeddings, overrides and
# isolates (U+202A–U+202E, U+2066–U+2069: a right-to-left override turns "exe.pdf" into a file
# that reads "fdp.exe"); lone surrogates (JSON can carry "\ud800", which UTF-8 cannot store).
# Zero-width joiners stay: emoji sequences such as 👩🏽‍🔬 are built with them.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """`text` without control characters: CRLF and lone CR become LF, tab and LF stay, the rest
    (NUL, ESC, DEL, C1, bidi overrides, lone surrogates) is dropped."""
    if text.isprintable():  # the common case, and cheap
        return text
    return _UNWANTED.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def clean_input(value: Any) -> Any:
    """strip_controls applied to every string in a parsed JSON value (keys included)."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {clean_input(k): clean_input(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_input(item) for item in value]
    return value


class CleanMultiDict(ImmutableMultiDict):
    """The request's args and form with strip_controls applied to every key and string value
    (uploaded files pass through; their names are made safe where they are stored)."""

    def __init__(self, mapping: Any = None):
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, MultiDict):
            pairs: Any = mapping.items(multi=True)
        elif isinstance(mapping, dict):
            pairs = mapping.items()
        else:
            pairs = mapping
        super().__init__([(clean_input(key), clean_input(value)) for key, value in pairs])


class CleanRequest(Request):
    """Flask's request with control characters stripped from query strings, form fields and JSON
    bodies before any view sees them (installed as `app.request_class`)."""

    parameter_storage_class = CleanMultiDict

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        return clean_input(super().get_json(force=force, silent=silent, cache=cache))


INT_MAX = 2**31 - 1  # PostgreSQL INTEGER
_installed: set[int] = set()


def enforce_column_limits(base: Any) -> None:
    """Check every value assigned to a mapped column against the column's type, at assignment:
    a string longer than its String(n), an integer outside INTEGER, a number too large for its
    Numeric(p, s) raises ValidationFailed naming the attribute, in Chinese. SQLite would store
    such values silently and PostgreSQL would refuse them with a 500; now both refuse them the
    same way, before anything reaches the database. Idempotent."""
    from sqlalchemy import Integer, Numeric, String, event

    if id(base) in _installed:
        return
    _installed.add(id(base))
    base.registry.configure()
    for mapper in base.registry.mappers:
        for prop in mapper.column_attrs:
            if len(prop.columns) != 1 or prop.parent is not mapper:
                continue
            check = _column_check(prop.key, prop.columns[0].type, String, Integer, Numeric)
            if check is not None:
                event.listen(getattr(mapper.class_, prop.key), "set", check, propagate=True)


def _column_check(key: str, type_: Any, string: type, integer: type, numeric: type) -> Callable | None:
    from .errors import ValidationFailed

    if isinstance(type_, string) and type_.length:
        limit = type_.length

        def check_length(_target, value, _old, _initiator):
            if isinstance(value, str) and len(value) > limit:
                reason = f"最多 {limit} 个字，当前 {len(value)} 个"
                raise ValidationFailed({key: reason}, message=f"内容过长（{reason}），请删减后再提交")

        return check_length
    if isinstance(type_, integer):

        def check_integer(_target, value, _old, _initiator):
            if isinstance(value, int) and not isinstance(value, bool) and not -INT_MAX - 1 <= value <= INT_MAX:
                raise ValidationFailed({key: "数值超出允许的范围"}, message="填写的数值超出允许的范围，请检查后再提交")

        return check_integer
    if isinstance(type_, numeric) and type_.precision and type_.scale is not None:
        bound = 10 ** (type_.precision - type_.scale)

        def check_numeric(_target, value, _old, _initiator):
            if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and abs(value) >= bound:
                raise ValidationFailed({key: f"数值须小于 {bound:,}"}, message=f"填写的数值过大（须小于 {bound:,}）")

        return check_numeric
    return None


def parse_id(raw: object) -> int | None:
    """A row id typed into a form or a query string ("12"), or None: only ASCII digits count
    ("²".isdigit() is true, yet int("²") fails) and only ids a row can have (1..INT_MAX; a larger
    number would overflow the database's INTEGER)."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= INT_MAX else None
