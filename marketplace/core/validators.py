"""Validators for Chinese identifiers. Each returns the normalised value or raises ValueError
with a Chinese message that can be shown beside the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email

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
