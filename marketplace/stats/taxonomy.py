"""The statistics' groupings of the shared taxonomy: contract 大类 and 涉外 regions."""

from __future__ import annotations

from ..core.taxonomy import ContractType

# 大类 as the official releases count them: 技术服务 includes 技术培训 and 技术中介.
CONTRACT_GROUP_LABELS = {
    "dev": "技术开发",
    "transfer": "技术转让",
    "license": "技术许可",
    "consulting": "技术咨询",
    "service": "技术服务",
}
_GROUP_OF = {"training": "service", "intermediary": "service"}

# Region codes of 港澳台 and abroad (GB/T 2260: 71 台湾, 81 香港, 82 澳门; 9xxxxx 境外).
FOREIGN_PREFIXES = ("71", "81", "82", "9")


def contract_group_of(code: str | None) -> str:
    member = ContractType.parse(code)
    if member is None:
        return ""
    return _GROUP_OF.get(member.group, member.group)


def contract_group_members(group: str) -> list[str]:
    """The contract type codes of a 大类; [] when `group` is not a 大类 code."""
    if group not in CONTRACT_GROUP_LABELS:
        return []
    return [m.value for m in ContractType if contract_group_of(m.value) == group]


def contract_type_label(code: str | None) -> str:
    return ContractType.label_of(code) or "未填写"


def contract_type_choices() -> list[tuple[str, str]]:
    """Groups and their types, for a select."""
    choices = []
    for group, label in CONTRACT_GROUP_LABELS.items():
        choices.append((group, label + "（全部）"))
        choices.extend((code, f"　{label} › {ContractType.label_of(code)}") for code in contract_group_members(group))
    return choices
