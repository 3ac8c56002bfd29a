"""Field rules of a technology contract (技术合同登记表): what each field accepts and the Chinese
reason when it does not. Pure functions over dicts of raw values; the services in contracts.py
apply the result to a TechContract only when every field passed, so bad input never changes a
stored contract."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app

from ..core.errors import ValidationFailed
from ..core.money import parse_amount
from ..core.taxonomy import (
    ContractType,
    IPType,
    LicenseScope,
    OrgType,
    PartyNature,
    PaymentMode,
    SocioEconomicObjective,
)
from ..core.timeutil import local_today
from ..core.validators import fold_width

# 非技术性费用 parts (2001 规则: 购置设备、仪器、零部件、原材料等), in the order of the form.
NON_TECH_PARTS: dict[str, str] = {
    "equipment": "设备",
    "instruments": "仪器",
    "parts": "零部件",
    "materials": "原材料",
    "other": "其他",
}
MAX_CONTRACT_AMOUNT = Decimal("1000000000000")  # 1 万亿元: anything larger is a typo
MAX_NAME = 200
DEFAULT_REGION = "371100"  # 日照市
REGION = re.compile(r"^\d{6}$")
_TOO_PRECISE = re.compile(r"^-?\d+\.\d{3,}$")

# Fields of the form / API input, in form order. cost_<part> hold the 非技术性费用 breakdown.
CONTRACT_FIELDS = (
    "project_name",
    "contract_type",
    "license_scope",
    "seller_name",
    "seller_nature",
    "seller_region",
    "buyer_name",
    "buyer_nature",
    "buyer_region",
    "amount",
    *(f"cost_{part}" for part in NON_TECH_PARTS),
    "payment_mode",
    "signed_on",
    "valid_from",
    "valid_to",
    "field_code",
    "ip_type",
    "objective",
    "expected_investment",
    "expected_output",
)
# What an amendment (变更) of a registered contract may change; type and parties may not.
AMENDABLE_FIELDS = (
    "project_name",
    "amount",
    *(f"cost_{part}" for part in NON_TECH_PARTS),
    "payment_mode",
    "valid_from",
    "valid_to",
    "field_code",
    "ip_type",
    "objective",
    "expected_investment",
    "expected_output",
)
FIELD_LABELS: dict[str, str] = {
    "project_name": "项目名称",
    "contract_type": "合同类型",
    "license_scope": "许可方式",
    "seller_name": "卖方名称",
    "seller_nature": "卖方性质",
    "seller_region": "卖方行政区划代码",
    "buyer_name": "买方名称",
    "buyer_nature": "买方性质",
    "buyer_region": "买方行政区划代码",
    "amount": "成交额",
    **{f"cost_{part}": f"非技术性费用·{label}" for part, label in NON_TECH_PARTS.items()},
    "non_tech_costs": "非技术性费用",
    "technology_amount": "技术交易额",
    "payment_mode": "支付方式",
    "signed_on": "签订日期",
    "valid_from": "有效期起",
    "valid_to": "有效期止",
    "field_code": "技术领域",
    "ip_type": "知识产权类型",
    "objective": "社会经济目标",
    "expected_investment": "预计新增投入",
    "expected_output": "预计新增产值",
}
# Filled in before a contract may be submitted for registration (the draft may leave them).
REQUIRED_FOR_SUBMIT = ("valid_from", "valid_to", "field_code", "objective")

NATURE_BY_ORG_TYPE = {
    OrgType.UNIVERSITY.value: PartyNature.UNIVERSITY,
    OrgType.INSTITUTE.value: PartyNature.INSTITUTE,
    OrgType.ENTERPRISE.value: PartyNature.ENTERPRISE_DOMESTIC,
    OrgType.GOVERNMENT.value: PartyNature.GOVERNMENT,
}


def default_region() -> str:
    return str(current_app.config.get("REGISTRATION_REGION", DEFAULT_REGION))


def party_defaults(org: Any) -> dict[str, str]:
    """Name, nature and region of a party as prefilled from its organisation."""
    if org is None:
        return {"name": "", "nature": "", "region": default_region()}
    nature = NATURE_BY_ORG_TYPE.get(org.org_type, PartyNature.OTHER)
    district = (org.district or "").strip()
    return {
        "name": org.name,
        "nature": nature.value,
        "region": district if REGION.match(district) else default_region(),
    }


def _text(raw: object) -> str:
    return fold_width(str(raw if raw is not None else "")).strip()


def parse_money(raw: object, label: str, *, required: bool, allow_zero: bool = True) -> Decimal | None:
    """Decimal yuan (two places) from what people type; ValueError with a Chinese reason."""
    if isinstance(raw, float):
        raise ValueError(f'{label}请以字符串传递（如 "123456.78"），不接受浮点数')
    text = _text(raw)
    if not text:
        if required:
            raise ValueError(f"请填写{label}")
        return None
    if text.startswith(("-", "−")):
        raise ValueError(f"{label}不能为负数")
    if _TOO_PRECISE.match(text.replace(",", "")):
        raise ValueError(f"{label}最多精确到分（两位小数）")
    try:
        value = parse_amount(text)
    except ValueError as exc:
        raise ValueError(f"{label}：{exc}") from exc
    if value > MAX_CONTRACT_AMOUNT:
        raise ValueError(f"{label}不能超过 1 万亿元，请核对单位")
    if value == 0 and not allow_zero:
        raise ValueError(f"{label}须大于 0")
    return value


def parse_date(raw: object, label: str, *, required: bool) -> date | None:
    if isinstance(raw, date):
        return raw
    text = _text(raw).replace("/", "-").replace(".", "-")
    if not text:
        if required:
            raise ValueError(f"请填写{label}")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{label}格式应为 年-月-日，如 2026-03-18") from exc


def _choice(enum: Any, raw: object, label: str, *, required: bool) -> str | None:
    text = _text(raw)
    if not text:
        if required:
            raise ValueError(f"请选择{label}")
        return None
    member = enum.parse(text)
    if member is None:
        raise ValueError(f"{label}“{text}”不在可选范围内")
    return member.value


def _region(raw: object, label: str) -> str:
    text = _text(raw)
    if not text:
        raise ValueError(f"请填写{label}")
    if not REGION.match(text):
        raise ValueError(f"{label}应为 6 位数字（GB/T 2260 行政区划代码），如 371102")
    return text


def _field_code(raw: object) -> str | None:
    text = _text(raw)
    if not text:
        return None
    taxonomy = current_app.extensions["taxonomy"]
    field = taxonomy.parse_field(text)
    if field is None:
        raise ValueError(f"技术领域“{text}”不在 11 个技术领域之内")
    return field.parent or field.code  # a second-level field counts for its top-level one


def validate_contract(values: Mapping[str, Any], *, today: date | None = None) -> dict[str, Any]:
    """The clean column values of a contract from raw `values` (every CONTRACT_FIELDS key may be
    present). Raises ValidationFailed with one Chinese reason per bad field. technology_amount
    and non_tech_costs are computed here, never taken from the input."""
    today = today or local_today()
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    def check(name: str, parse) -> Any:
        try:
            clean[name] = parse(values.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
            clean[name] = None
        return clean[name]

    def name_field(raw: object, label: str) -> str:
        text = _text(raw)
        if not text:
            raise ValueError(f"请填写{label}")
        if len(text) > MAX_NAME:
            raise ValueError(f"{label}不能超过 {MAX_NAME} 个字")
        return text

    check("project_name", lambda raw: name_field(raw, "项目名称"))
    ctype = check("contract_type", lambda raw: _choice(ContractType, raw, "合同类型", required=True))
    contract_type = ContractType.parse(ctype) if ctype else None

    scope_raw = _text(values.get("license_scope"))
    if contract_type is not None and contract_type.is_license:
        check("license_scope", lambda raw: _choice(LicenseScope, raw, "许可方式（独占/排他/普通）", required=True))
    elif scope_raw:
        errors["license_scope"] = "只有技术许可合同填写许可方式，其他类型请留空"
        clean["license_scope"] = None
    else:
        clean["license_scope"] = None

    for side, label in (("seller", "卖方"), ("buyer", "买方")):
        check(f"{side}_name", lambda raw, label=label: name_field(raw, f"{label}名称"))
        check(f"{side}_nature", lambda raw, label=label: _choice(PartyNature, raw, f"{label}性质", required=True))
        check(f"{side}_region", lambda raw, label=label: _region(raw, f"{label}行政区划代码"))

    amount = check("amount", lambda raw: parse_money(raw, "成交额", required=True, allow_zero=False))
    breakdown: dict[str, str] = {}
    non_tech = Decimal("0.00")
    parts_ok = True
    for part, label in NON_TECH_PARTS.items():
        key = f"cost_{part}"
        value = check(key, lambda raw, label=label: parse_money(raw, f"{label}费用", required=False))
        if key in errors:
            parts_ok = False
        elif value:
            breakdown[part] = f"{value:.2f}"
            non_tech += value
    clean["non_tech_breakdown"] = breakdown
    clean["non_tech_costs"] = non_tech
    clean["technology_amount"] = None
    if amount is not None and parts_ok:
        if non_tech > amount:
            errors["non_tech_costs"] = "非技术性费用不能大于成交额"
        else:
            clean["technology_amount"] = amount - non_tech

    check("payment_mode", lambda raw: _choice(PaymentMode, raw, "支付方式", required=True))

    signed_on = check("signed_on", lambda raw: parse_date(raw, "签订日期", required=True))
    if signed_on and signed_on > today:
        errors["signed_on"] = "签订日期不能晚于今天"
    valid_from = check("valid_from", lambda raw: parse_date(raw, "有效期起", required=False))
    valid_to = check("valid_to", lambda raw: parse_date(raw, "有效期止", required=False))
    if valid_from and valid_to and valid_from > valid_to:
        errors["valid_to"] = "有效期止不能早于有效期起"
    elif signed_on and valid_to and valid_to < signed_on:
        errors["valid_to"] = "有效期止不能早于签订日期"

    check("field_code", _field_code)
    check("ip_type", lambda raw: _choice(IPType, raw, "知识产权类型", required=False))
    check("objective", lambda raw: _choice(SocioEconomicObjective, raw, "社会经济目标", required=False))

    if contract_type is not None and contract_type.is_transfer:
        check("expected_investment", lambda raw: parse_money(raw, "预计新增投入", required=True))
        check("expected_output", lambda raw: parse_money(raw, "预计新增产值", required=True))
    else:
        clean["expected_investment"] = clean["expected_output"] = None

    if errors:
        raise ValidationFailed(errors)
    for part in NON_TECH_PARTS:
        clean.pop(f"cost_{part}", None)
    return clean


def missing_for_submit(values: Mapping[str, Any]) -> dict[str, str]:
    """Fields a draft may leave empty but the registration office needs."""
    return {
        name: f"提交登记前请填写{FIELD_LABELS[name]}" for name in REQUIRED_FOR_SUBMIT if values.get(name) in (None, "")
    }


def parse_installment_rows(rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Clean installment rows (due_on, amount > 0, note); field errors keyed `rows.<n>.<field>`
    (n from 1). Fully blank rows are skipped, so a form may carry spare lines."""
    errors: dict[str, str] = {}
    clean: list[dict[str, Any]] = []
    for index, row in enumerate(rows, start=1):
        if not any(_text(row.get(key)) for key in ("due_on", "amount", "note")):
            continue
        item: dict[str, Any] = {"note": _text(row.get("note")) or None}
        try:
            item["due_on"] = parse_date(row.get("due_on"), f"第 {index} 期的到期日", required=True)
        except ValueError as exc:
            errors[f"rows.{index}.due_on"] = str(exc)
        try:
            item["amount"] = parse_money(row.get("amount"), f"第 {index} 期的金额", required=True, allow_zero=False)
        except ValueError as exc:
            errors[f"rows.{index}.amount"] = str(exc)
        if item["note"] and len(item["note"]) > 200:
            errors[f"rows.{index}.note"] = f"第 {index} 期的说明不能超过 200 个字"
        clean.append(item)
    if errors:
        raise ValidationFailed(errors)
    return clean


def parse_signed_amount(raw: object) -> Decimal:
    """A payment amount: positive for a payment, negative (leading '-') for a refund; never 0."""
    if isinstance(raw, float):
        raise ValueError('金额请以字符串传递（如 "5000.00"），不接受浮点数')
    text = _text(raw)
    negative = text.startswith(("-", "−"))
    value = parse_money(text.lstrip("-−").strip(), "金额", required=True)
    assert value is not None
    if value == 0:
        raise ValueError("金额不能为 0")
    return -value if negative else value
