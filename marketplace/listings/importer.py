"""Bulk import of achievements and demands from .xlsx, .csv and .jsonl files.

Two steps, both free of Flask request code so the CLI, the upload page and the tests share them:

* `read_file()` turns the bytes of a file into `SourceRow`s (line number as the user sees it,
  raw values keyed by our field names) and warnings about the columns; it raises `ImportFileError`
  when the file itself cannot be read (wrong extension, not an xlsx, empty, no header).
* `import_rows()` creates one draft per valid row through `services.create_listing` (so the same
  validation and audit as the web form), each inside a SAVEPOINT so a failing row leaves nothing
  behind, and commits every `batch_size` rows. A dry run does the same work and rolls it all back.

Line numbers: the header is line 1 for .csv and .xlsx (the row number Excel/WPS shows; a quoted
CSV cell spanning several lines still counts as one row), and the physical line for .jsonl.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import search
from ..accounts.models import Organization, User
from ..alerts import services as alerts
from ..core import audit, policy
from ..core.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from ..core.faultpoints import pause_point
from ..core.taxonomy import DemandType, IPType, ListingStatus, Maturity, MembershipStatus, Role, TransferMode
from ..core.timeutil import utcnow
from ..core.validators import fold_width
from ..extensions import db
from . import services
from .validation import ACHIEVEMENT_FIELDS, DEMAND_FIELDS, FIELD_LABELS

KINDS = ("achievement", "demand")
KIND_LABELS = {"achievement": "科技成果", "demand": "技术需求"}
FORMATS = (".xlsx", ".csv", ".jsonl")
DEFAULT_BATCH_SIZE = 500
PUBLISH_REASON = "批量导入直接发布"
EXAMPLE_PREFIX = "示例："  # template example rows start with this and are skipped

# The template's columns, in order: (key, Chinese header, required, help for 填写说明).
# `contact` is import-only: "姓名 电话 邮箱" in one cell, split onto contact_name/phone/email.
ACHIEVEMENT_COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("title", "成果名称", True, "不超过200字"),
    ("summary", "成果简介", True, "公开展示的非保密简介，不超过10000字"),
    ("detail", "详细内容", False, "仅向已认证机构的登录用户展示"),
    ("problem", "解决的问题", False, ""),
    ("advantages", "技术优势", False, ""),
    ("application_scope", "应用范围", False, ""),
    ("field", "技术领域", True, "填写领域名称，如“先进制造”或“先进制造-自动化与控制”，见右侧可选值"),
    ("keywords", "关键词", False, "多个关键词用；;，,、或空格分隔，最多10个"),
    ("maturity", "成熟度", True, "见右侧可选值"),
    ("trl", "技术就绪度(TRL)", False, "1到9的整数"),
    ("ip_type", "知识产权类型", True, "见右侧可选值；专利类请填写专利号"),
    ("patent_numbers", "专利号", False, "如 ZL201720001285.X 或 201720001285X，多个用分号分隔；本机构内不能重复"),
    ("transfer_modes", "转化方式", True, "可填多个，用分号分隔，见右侧可选值"),
    ("price", "价格", False, "如 50万元、100万-200万 或 面议；不填为面议"),
    ("district", "所在区县", False, "不填则用机构所在区县，见右侧可选值"),
    ("team", "团队", False, ""),
    ("contact_name", "联系人", False, ""),
    ("contact_phone", "联系电话", False, "手机号或带区号的固定电话"),
    ("contact_email", "联系邮箱", False, ""),
)
DEMAND_COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("title", "需求名称", True, "不超过200字"),
    ("description", "需求描述", True, "不超过10000字"),
    ("field", "技术领域", True, "填写领域名称，见右侧可选值"),
    ("keywords", "关键词", False, "多个关键词用；;，,、或空格分隔，最多10个"),
    ("demand_type", "需求类型", True, "见右侧可选值"),
    ("budget", "预算", False, "如 10万元、10-20万 或 面议；不填为面议"),
    ("valid_until", "有效期至", False, "日期，如 2026-12-31，不能早于今天"),
    ("district", "所在区县", False, "不填则用机构所在区县，见右侧可选值"),
    ("contact_name", "联系人", False, ""),
    ("contact_phone", "联系电话", False, "手机号或带区号的固定电话"),
    ("contact_email", "联系邮箱", False, ""),
)
COLUMNS = {"achievement": ACHIEVEMENT_COLUMNS, "demand": DEMAND_COLUMNS}
KIND_FIELDS = {"achievement": ACHIEVEMENT_FIELDS, "demand": DEMAND_FIELDS}

# Other names people give these columns (besides the key, the template header and FIELD_LABELS).
_COMMON_ALIASES = {
    "title": ("标题", "名称", "项目名称"),
    "field": ("领域", "所属领域", "技术领域分类", "行业领域", "field_code"),
    "keywords": ("关键字",),
    "district": ("区县", "所在地区", "地区"),
    "contact": ("联系方式", "联系人及电话", "联系信息"),
    "contact_name": ("联系人姓名",),
    "contact_phone": ("电话", "手机", "联系手机"),
    "contact_email": ("邮箱", "电子邮箱", "email"),
}
_KIND_ALIASES = {
    "achievement": {
        "title": ("成果名", "技术名称"),
        "summary": ("简介", "成果描述", "成果介绍", "摘要", "描述"),
        "detail": ("详细介绍", "详细说明", "成果详情"),
        "maturity": ("技术成熟度", "成熟程度"),
        "trl": ("技术就绪度", "TRL"),
        "ip_type": ("知识产权", "知识产权形式", "产权类型"),
        "patent_numbers": ("专利号码", "专利申请号", "专利"),
        "transfer_modes": ("合作方式", "转让方式", "交易方式"),
        "price": ("转让价格", "参考价格", "价格(元)", "意向价格"),
    },
    "demand": {
        "title": ("需求标题",),
        "description": ("描述", "需求内容", "需求简介", "需求详情"),
        "demand_type": ("类型",),
        "budget": ("预算金额", "预算(元)", "拟投入资金", "投入资金"),
        "valid_until": ("有效期", "截止日期", "有效期限"),
    },
}
# Keys that say "this file is about demands" / "about achievements" when --kind is not given.
_DEMAND_ONLY = {"description", "demand_type", "budget", "valid_until"}
_ACHIEVEMENT_ONLY = {
    "summary",
    "detail",
    "maturity",
    "ip_type",
    "patent_numbers",
    "transfer_modes",
    "price",
    "trl",
    "team",
    "problem",
    "advantages",
    "application_scope",
}


class ImportFileError(ServiceError):
    """The file as a whole cannot be read; nothing was imported."""

    status = 400
    code = "import_file_unreadable"


@dataclass
class SourceRow:
    line: int
    values: dict[str, Any]  # our keys -> raw values (contact still combined)
    columns: dict[str, str]  # our key -> the column name / key as written in the file
    problem: str | None = None  # the row itself could not be read (bad JSON line)


@dataclass
class ParsedFile:
    kind: str
    fmt: str  # xlsx | csv | jsonl
    rows: list[SourceRow]
    warnings: list[str] = field(default_factory=list)
    skipped_examples: int = 0


@dataclass(frozen=True)
class CellError:
    column: str
    reason: str


@dataclass
class RejectedRow:
    line: int
    errors: list[CellError]
    title: str | None = None


@dataclass
class ImportResult:
    kind: str
    fmt: str
    org_name: str
    dry_run: bool = False
    total: int = 0
    imported: int = 0
    published: int = 0
    submitted: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)  # id -> title, for links on the result page
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    def summary(self) -> str:
        verb = "可导入" if self.dry_run else "导入"
        text = f"共 {self.total} 行：{verb} {self.imported} 行，拒绝 {self.rejected} 行"
        if self.published:
            text += f"，直接发布 {self.published} 行"
        if self.submitted:
            text += f"，提交审核 {self.submitted} 行"
        if self.dry_run:
            text += "（仅检查，未写入任何数据）"
        return text


# ---------------------------------------------------------------------------------------------
# Reading files


def read_file(content: bytes, filename: str, kind: str | None = None) -> ParsedFile:
    """Rows of an .xlsx, .csv or .jsonl file. `kind=None` detects it from the columns
    (achievement unless the file looks like demands)."""
    if kind is not None and kind not in KINDS:
        raise ImportFileError(f"未知的导入类型“{kind}”，可选 achievement 或 demand")
    ext = _extension(filename)
    if not content or not content.strip():
        raise ImportFileError("文件是空的，没有可导入的内容")
    if ext == ".xlsx":
        parsed = _read_table(_xlsx_rows(content), "xlsx", kind)
    elif ext == ".csv":
        parsed = _read_table(_csv_rows(content), "csv", kind)
    else:
        parsed = _read_jsonl(content, kind)
    if not parsed.rows:
        if parsed.skipped_examples:
            raise ImportFileError("文件中只有模板的示例行，请在示例行下方填写要导入的数据")
        raise ImportFileError(
            "文件中没有数据行（第1行是列名，数据从第2行开始）" if parsed.fmt != "jsonl" else "文件中没有数据行"
        )
    return parsed


def _extension(filename: str) -> str:
    name = (filename or "").strip().lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if ext in FORMATS:
        return ext
    if ext == ".xls":
        raise ImportFileError("不支持旧版 Excel（.xls）文件，请在 Excel/WPS 中“另存为” .xlsx 后再导入")
    raise ImportFileError(f"不支持的文件类型“{ext or filename}”：只能导入 .xlsx、.csv 或 .jsonl 文件")


def _xlsx_rows(content: bytes) -> Iterable[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise ImportFileError("文件不是有效的 Excel（.xlsx）文件，可能已损坏或只是改了扩展名")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken package
        raise ImportFileError("无法读取该 Excel 文件，请用 Excel/WPS 打开后重新另存为 .xlsx") from exc
    sheet = _data_sheet(workbook)
    sheet.reset_dimensions()  # trust the rows, not the stored dimension some tools get wrong
    try:
        for line, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(value) for value in row]
    finally:
        workbook.close()


def _data_sheet(workbook):
    for title in ("科技成果", "技术需求"):
        if title in workbook.sheetnames:
            return workbook[title]
    for sheet in workbook.worksheets:
        if sheet.title != "填写说明":
            return sheet
    return workbook.worksheets[0]


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(str(value)))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 — what Excel in China saves a CSV as."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        return content.decode("utf-16")
    if content.startswith(b"PK\x03\x04") or b"\x00" in content[:4096]:
        raise ImportFileError("文件不是文本文件（可能是 Excel 文件被改成了 .csv/.jsonl 扩展名），请另存为正确的格式")
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError("无法识别文件编码：请保存为 UTF-8 或 GBK/GB18030 编码的 CSV") from exc


def _csv_rows(content: bytes) -> Iterable[tuple[int, list[Any]]]:
    text = _decode_text(content)
    # Comma-separated, or tab-separated when Excel's "Unicode text" export left tabs in the header.
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise ImportFileError(f"CSV 格式有误（第{reader.line_num}行附近）：{exc}") from exc


def _header_map(kind: str) -> dict[str, str]:
    """Normalised header -> key, for the given kind."""
    mapping: dict[str, str] = {}

    def add(name: str, key: str) -> None:
        mapping.setdefault(_norm_header(name), key)

    for key, header, _required, _help in COLUMNS[kind]:
        add(header, key)
        add(key, key)
    for key in KIND_FIELDS[kind]:
        add(FIELD_LABELS[key], key)
        add(key, key)
    add("contact", "contact")
    for aliases in (_KIND_ALIASES[kind], _COMMON_ALIASES):
        for key, names in aliases.items():
            for name in names:
                add(name, key)
    return mapping


def _norm_header(name: object) -> str:
    text = fold_width(str(name or "")).strip().lower()
    return re.sub(r"[\s*＊:：]", "", text)


def _match_header(name: str, mapping: dict[str, str]) -> str | None:
    norm = _norm_header(name)
    if norm in mapping:
        return mapping[norm]
    # '价格（万元）', '成熟度(必填)': try again without the note in brackets
    bare = re.sub(r"[(（\[【].*?[)）\]】]", "", norm)
    return mapping.get(bare) if bare else None


def _guess_kind(names: Iterable[str]) -> str:
    names = list(names)
    achievement = {_match_header(n, _header_map("achievement")) for n in names}
    demand = {_match_header(n, _header_map("demand")) for n in names}
    raw = {_norm_header(n) for n in names}
    demand_score = len(demand & _DEMAND_ONLY) + ("需求名称" in raw)
    achievement_score = len(achievement & _ACHIEVEMENT_ONLY) + ("成果名称" in raw)
    return "demand" if demand_score > achievement_score else "achievement"


def _check_kind(chosen: str, names: Iterable[str], warnings: list[str]) -> None:
    guessed = _guess_kind(names)
    if guessed != chosen:
        warnings.append(f"文件的列看起来是{KIND_LABELS[guessed]}，但导入类型选择的是{KIND_LABELS[chosen]}，请确认")


def _find_header(rows: Iterable[tuple[int, list[Any]]]) -> tuple[int, list[str], Iterator[tuple[int, list[Any]]]]:
    """The header row and the rows after it. The header is the first non-blank row, unless that
    is a title above the table (such as '日照大学科技成果汇总表'): then the first of the next few
    rows holding two known column names."""
    iterator = iter(rows)
    known = _header_map("achievement") | _header_map("demand")
    seen: list[tuple[int, list[Any]]] = []
    for line, row in iterator:
        cells = [str(c).strip() if c is not None else "" for c in row]
        if not any(cells) and not seen:
            continue
        seen.append((line, row))
        if sum(_match_header(c, known) is not None for c in cells if c) >= 2:
            return line, cells, iterator
        if len(seen) > 10:
            break
    if not seen:
        raise ImportFileError("文件是空的，没有列名和数据")
    line, row = seen[0]
    return line, [str(c).strip() if c is not None else "" for c in row], itertools.chain(seen[1:], iterator)


def _read_table(rows: Iterable[tuple[int, list[Any]]], fmt: str, kind: str | None) -> ParsedFile:
    header_line, header, iterator = _find_header(rows)
    warnings: list[str] = []
    if header_line != 1:
        warnings.append(f"列名在第{header_line}行，上面的行没有导入")
    named = [h for h in header if h]
    if kind is None:
        kind = _guess_kind(named)
    else:
        _check_kind(kind, named, warnings)
    mapping = _header_map(kind)
    index: dict[int, str] = {}
    columns: dict[str, str] = {}
    unknown: list[str] = []
    for position, name in enumerate(header):
        if not name:
            continue
        key = _match_header(name, mapping)
        if key is None:
            unknown.append(name)
        elif key in columns:
            warnings.append(
                f"“{name}”与“{columns[key]}”是同一列（{FIELD_LABELS.get(key, key)}），只使用了“{columns[key]}”"
            )
        else:
            index[position] = key
            columns[key] = name
    if unknown:
        warnings.append(f"未识别的列：{'、'.join(unknown)}（这些列的内容没有导入，其余列照常导入）")
    if not index:
        raise ImportFileError(
            f"第{header_line}行的列名一个也没有识别出来：请使用导入模板中的列名（如“{COLUMNS[kind][0][1]}”）"
        )
    _warn_missing(kind, columns, warnings)
    parsed = ParsedFile(kind=kind, fmt=fmt, rows=[], warnings=warnings)
    for line, row in iterator:
        values: dict[str, Any] = {}
        for position, key in index.items():
            if position < len(row):
                value = row[position]
                if value is not None and str(value).strip():
                    values[key] = str(value).strip()
        if not values:
            continue  # blank row
        if _is_example(values):
            parsed.skipped_examples += 1
            warnings.append(f"第{line}行是模板中的示例行（以“{EXAMPLE_PREFIX}”开头），已跳过")
            continue
        parsed.rows.append(SourceRow(line, values, columns))
    return parsed


def _warn_missing(kind: str, columns: dict[str, str], warnings: list[str]) -> None:
    have = set(columns)
    missing = [
        header
        for key, header, required, _help in COLUMNS[kind]
        if required and key not in have and not (key.startswith("contact") and "contact" in have)
    ]
    if missing:
        warnings.append(f"缺少必填列：{'、'.join(missing)}（这些行会因缺少必填项被拒绝）")


def _is_example(values: dict[str, Any]) -> bool:
    return str(values.get("title") or "").startswith(EXAMPLE_PREFIX)


def _read_jsonl(content: bytes, kind: str | None) -> ParsedFile:
    text = _decode_text(content)
    records: list[tuple[int, Any, str | None]] = []
    # split on newlines only: str.splitlines() would also break at U+2028, which JSON strings may hold
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            records.append((line, json.loads(raw), None))
        except json.JSONDecodeError as exc:
            records.append((line, None, f"不是有效的 JSON：{exc.msg}（第{exc.colno}个字符）"))
    if records and all(problem for _line, _obj, problem in records):
        raise ImportFileError('文件不是 JSON Lines 格式：每一行应是一个 JSON 对象，如 {"title": "…"}')
    keys_seen: dict[str, None] = {}
    for _line, obj, _problem in records:
        if isinstance(obj, dict):
            keys_seen.update(dict.fromkeys(str(k) for k in obj))
    warnings: list[str] = []
    if kind is None:
        kind = _guess_kind(keys_seen)
    else:
        _check_kind(kind, keys_seen, warnings)
    mapping = _header_map(kind)
    key_of = {name: _match_header(name, mapping) for name in keys_seen}
    unknown = [name for name, key in key_of.items() if key is None]
    if unknown:
        warnings.append(f"未识别的字段：{'、'.join(unknown)}（这些字段的内容没有导入，其余字段照常导入）")
    parsed = ParsedFile(kind=kind, fmt="jsonl", rows=[], warnings=warnings)
    for line, obj, problem in records:
        if problem is None and not isinstance(obj, dict):
            problem = "每一行应是一个 JSON 对象（用 {} 括起来的键值对）"
        if problem:
            parsed.rows.append(SourceRow(line, {}, {}, problem=problem))
            continue
        values: dict[str, Any] = {}
        columns: dict[str, str] = {}
        for name, value in obj.items():
            key = key_of.get(str(name))
            if key is None or key in columns:  # 'field' and 'field_code' both given: the first wins
                continue
            columns[key] = str(name)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                values[key] = value.strip() if isinstance(value, str) else value
        if _is_example(values):
            parsed.skipped_examples += 1
            warnings.append(f"第{line}行是示例（标题以“{EXAMPLE_PREFIX}”开头），已跳过")
            continue
        parsed.rows.append(SourceRow(line, values, columns))
    return parsed


# ---------------------------------------------------------------------------------------------
# Turning a row into listing input


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_TOKEN = re.compile(r"^\+?[\d][\d\-()（）]{5,}$")


def split_contact(raw: Any) -> dict[str, str]:
    """'王老师 0633-8888888 wang@example.cn' or {name, phone, email} -> contact_* values."""
    if isinstance(raw, dict):
        out = {
            f"contact_{key}": str(raw[key]).strip()
            for key in ("name", "phone", "email")
            if raw.get(key) not in (None, "")
        }
        unknown = sorted(set(raw) - {"name", "phone", "email"})
        if unknown:
            raise ValueError(f"联系方式中不支持的字段：{'、'.join(map(str, unknown))}（可用 name、phone、email）")
        return out
    tokens = [t for t in re.split(r"[\s,，;；/、]+", fold_width(str(raw)).strip()) if t]
    name: list[str] = []
    out: dict[str, str] = {}
    for token in tokens:
        token = re.sub(r"^(电话|手机|邮箱|tel|email)[:：]?", "", token, flags=re.IGNORECASE) or token
        if _EMAIL.match(token):
            if "contact_email" in out:
                raise ValueError("联系方式中只能填写一个邮箱")
            out["contact_email"] = token
        elif _PHONE_TOKEN.match(token):
            if "contact_phone" in out:
                raise ValueError("联系方式中只能填写一个电话，请只保留一个")
            out["contact_phone"] = token
        else:
            name.append(token)
    if name:
        out["contact_name"] = " ".join(name)
    return out


def _listing_input(row: SourceRow) -> tuple[dict[str, Any], dict[str, str]]:
    """The dict for clean_achievement / clean_demand, and key -> column for error messages."""
    data = dict(row.values)
    columns = dict(row.columns)
    contact = data.pop("contact", None)
    if contact is not None:
        column = columns.get("contact", "contact")
        try:
            parts = split_contact(contact)
        except ValueError as exc:
            raise ValidationFailed({"contact": str(exc)}) from exc
        for key, value in parts.items():
            if key not in data:  # an explicit 联系电话 column wins over the combined one
                data[key] = value
                columns[key] = column
    return data, columns


def _column_name(key: str, columns: dict[str, str], kind: str, fmt: str) -> str:
    """The column (or JSON key) as written in the file; for a column the file lacks, the
    template's header (the key for .jsonl)."""
    key = "field" if key == "field_code" else key
    if key in columns:
        return columns[key]
    if fmt == "jsonl":
        return key
    headers = {k: header for k, header, _r, _h in COLUMNS[kind]}
    return headers.get(key) or FIELD_LABELS.get(key) or key


def _rejection(row: SourceRow, exc: ServiceError, columns: dict[str, str], kind: str, fmt: str) -> RejectedRow:
    if exc.fields:
        order = {key: i for i, key in enumerate(columns)}
        items = sorted(exc.fields.items(), key=lambda item: order.get(item[0], len(order)))
        errors = [CellError(_column_name(key, columns, kind, fmt), reason) for key, reason in items]
    else:
        errors = [CellError("—", exc.message)]
    title = row.values.get("title")
    return RejectedRow(row.line, errors, str(title)[:80] if title else None)


# ---------------------------------------------------------------------------------------------
# Who imports, and the publish step


def acting_user(org: Organization) -> User:
    """The user an operator's import (CLI) acts as: the organisation's first active manager,
    else its first active university/enterprise member, else the first active admin."""
    member = db.session.scalar(
        select(User)
        .where(
            User.organization_id == org.id,
            User.membership_status == MembershipStatus.ACTIVE.value,
            User.role.in_(policy.LISTING_ROLES),
            User.is_disabled.is_(False),
        )
        .order_by(User.is_org_manager.desc(), User.id)
        .limit(1)
    )
    if member is not None:
        return member
    admin = db.session.scalar(
        select(User).where(User.role == Role.ADMIN.value, User.is_disabled.is_(False)).order_by(User.id).limit(1)
    )
    if admin is None:
        raise Conflict(
            f"“{org.name}”没有可用的成员账号，平台也没有管理员账号，无法确定导入人；"
            "请先用 flask users create 创建该机构的成员或管理员"
        )
    return admin


def can_import_into(user: Any, org: Organization | None) -> bool:
    if org is None or not policy.is_authenticated(user):
        return False
    if policy.is_admin(user):
        return True
    return user.role in policy.LISTING_ROLES and policy.belongs_to(user, org.id)


def check_publishable_org(org: Organization) -> None:
    if not org.verified:
        raise Conflict(f"“{org.name}”尚未通过平台认证，不能直接发布；请先认证该机构，或去掉“直接发布”只导入为草稿")


def publish_imported(listing: services.Listing) -> None:
    """An operator's bulk publish: draft -> 已发布 without the review queue, audited as an
    approval by the system. The caller has checked the organisation is verified."""
    source = listing.status
    if source != ListingStatus.DRAFT.value:
        raise Conflict(f"“{listing.status_label}”状态的{listing.KIND_LABEL}不能直接发布")
    listing.status = ListingStatus.PUBLISHED.value
    listing.published_at = listing.submitted_at = utcnow()
    audit.record(None, "approve", listing, from_state=source, to_state=listing.status, reason=PUBLISH_REASON)
    search.enqueue(listing)
    alerts.enqueue_check(listing)  # subscribers hear of bulk publications like reviewed ones


# ---------------------------------------------------------------------------------------------
# Importing


def import_rows(
    parsed: ParsedFile,
    org: Organization,
    actor: User,
    *,
    dry_run: bool = False,
    publish: bool = False,
    submit: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import every valid row as a draft of `org` created by `actor`; see the module docstring.

    publish: straight to 已发布 (operators and admins; the organisation must be verified — checked
    before anything is written). submit: each draft goes to 待审核 through `transition('submit')`
    when the organisation is verified, otherwise the rows stay drafts and a warning says so."""
    started = time.perf_counter()
    kind = parsed.kind
    if not can_import_into(actor, org):
        raise PermissionDenied("您只能向自己所在的机构导入信息")
    if publish:
        check_publishable_org(org)
    result = ImportResult(
        kind=kind,
        fmt=parsed.fmt,
        org_name=org.name,
        dry_run=dry_run,
        total=len(parsed.rows),
        warnings=list(parsed.warnings),
    )
    if submit and not publish and not org.verified:
        submit = False
        result.warnings.append(f"“{org.name}”尚未通过平台认证，导入的信息保存为草稿，认证通过后再提交审核")
    org_id, actor_id = org.id, actor.id
    pending_commit = 0
    try:
        for row in parsed.rows:
            if row.problem:
                result.rejected_rows.append(RejectedRow(row.line, [CellError("—", row.problem)]))
            else:
                listing_id = _import_row(row, kind, org, actor, result, publish=publish, submit=submit)
                if listing_id is not None:
                    result.ids.append(listing_id)
                    result.titles[listing_id] = str(row.values.get("title", ""))[:80]
                    pending_commit += 1
                    if pending_commit >= batch_size and not dry_run:
                        pause_point("import.before_batch_commit")  # tests only: see core.faultpoints
                        db.session.commit()
                        pending_commit = 0
                        # the commit expired them; reload once per batch rather than lazily per row
                        org, actor = db.session.get(Organization, org_id), db.session.get(User, actor_id)
            if progress is not None:
                progress(1)
        if dry_run:
            db.session.rollback()
            result.ids, result.titles = [], {}
        else:
            _record_import(result, org, actor)
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    result.seconds = time.perf_counter() - started
    return result


def _record_import(result: ImportResult, org: Organization, actor: User) -> None:
    counts = ("total", "imported", "rejected", "published", "submitted")
    details = {"kind": result.kind, "format": result.fmt} | {key: getattr(result, key) for key in counts}
    audit.record(actor, "import", org, details=details)


def _import_row(
    row: SourceRow, kind: str, org: Organization, actor: User, result: ImportResult, *, publish: bool, submit: bool
) -> int | None:
    columns = row.columns
    try:
        data, columns = _listing_input(row)
        with db.session.begin_nested():  # a failing row leaves no listing, patent or audit row
            listing = services.create_listing(kind, actor, data, org=org)
            if publish:
                publish_imported(listing)
            elif submit:
                services.transition(listing, "submit", actor)
            listing_id = listing.id
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        result.rejected_rows.append(_rejection(row, exc, columns, kind, result.fmt))
        return None
    except IntegrityError as exc:  # e.g. a concurrent import registered the same patent number
        if "patent" in str(exc.orig).lower():
            error = CellError(
                _column_name("patent_numbers", columns, kind, result.fmt), "专利号已登记在本机构的其他成果中"
            )
        else:
            error = CellError("—", "数据库拒绝了这一行，请检查内容后重试")
        result.rejected_rows.append(RejectedRow(row.line, [error], row.values.get("title")))
        return None
    result.imported += 1
    result.published += int(publish)
    result.submitted += int(submit and not publish)
    return listing_id


def import_file(
    content: bytes,
    filename: str,
    org: Organization,
    actor: User,
    *,
    kind: str | None = None,
    dry_run: bool = False,
    publish: bool = False,
    submit: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportResult:
    """read_file + import_rows, refusing before reading when the actor or the org do not fit."""
    if not can_import_into(actor, org):
        raise PermissionDenied("您只能向自己所在的机构导入信息")
    if publish:
        check_publishable_org(org)
    parsed = read_file(content, filename, kind)
    return import_rows(parsed, org, actor, dry_run=dry_run, publish=publish, submit=submit, batch_size=batch_size)


# ---------------------------------------------------------------------------------------------
# The template


def enum_values(kind: str) -> dict[str, list[str]]:
    """Allowed values per enumerated column (Chinese labels), as the template lists them."""
    taxonomy = current_app.extensions["taxonomy"]
    fields: list[str] = []
    for top in taxonomy.top_fields():
        fields.append(top.name)
        fields.extend(f"{top.name}-{child.name}" for child in taxonomy.children(top.code))
    districts = [d.name for d in taxonomy.districts]
    if kind == "achievement":
        return {
            "maturity": [m.label for m in Maturity],
            "ip_type": [m.label for m in IPType],
            "transfer_modes": [m.label for m in TransferMode],
            "field": fields,
            "district": districts,
        }
    return {"demand_type": [m.label for m in DemandType], "field": fields, "district": districts}


_EXAMPLES = {
    "achievement": {
        "title": EXAMPLE_PREFIX + "基于机器视觉的尺寸测量系统（导入前请删除此行）",
        "summary": "采用机器视觉原理开发的通用尺寸测量系统，可测量距离、宽度、角度和圆半径。",
        "detail": "系统由工业相机、镜头、光源和测量软件组成，测量精度0.01mm。",
        "field": "先进制造-自动化与控制",
        "keywords": "机器视觉；尺寸测量",
        "maturity": "已有样品",
        "trl": "6",
        "ip_type": "发明专利",
        "patent_numbers": "ZL201720001285.X",
        "transfer_modes": "转让；许可",
        "price": "50万元",
        "district": "东港区",
        "contact_name": "王老师",
        "contact_phone": "0633-8888888",
        "contact_email": "tto@example.edu.cn",
    },
    "demand": {
        "title": EXAMPLE_PREFIX + "LED升压恒流驱动电路（导入前请删除此行）",
        "description": "现有LED灯采用串联电阻限流，电能浪费且亮度不稳定，寻求恒流供电方案。",
        "field": "电子信息",
        "keywords": "LED，恒流驱动",
        "demand_type": "技术难题攻关",
        "budget": "10-20万",
        "valid_until": "2030-12-31",
        "district": "日照经济技术开发区",
        "contact_name": "李经理",
        "contact_phone": "13800138000",
    },
}


def build_template(kind: str) -> bytes:
    """The .xlsx template: a data sheet with Chinese headers and an example row, a 填写说明
    sheet with every column's rules and the allowed values, and drop-downs on enumerated columns."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = COLUMNS[kind]
    allowed = enum_values(kind)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = KIND_LABELS[kind]
    guide = workbook.create_sheet("填写说明")

    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    optional_fill = PatternFill("solid", fgColor="DDEBF7")
    for position, (key, header, required, help_text) in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=position, value=header)
        cell.font = bold
        cell.fill = required_fill if required else optional_fill
        cell.alignment = Alignment(horizontal="center")
        if help_text:
            cell.comment = Comment(("必填。" if required else "") + help_text, "科技淘宝")
        sheet.cell(row=2, column=position, value=_EXAMPLES[kind].get(key))
        sheet.column_dimensions[get_column_letter(position)].width = (
            28 if key in ("title", "summary", "description") else 16
        )
    sheet.freeze_panes = "A2"

    guide.append(["列名", "是否必填", "填写说明"])
    for _key, header, required, help_text in columns:
        guide.append([header, "必填" if required else "选填", help_text])
    notes = [
        "",
        "第1行是列名，请勿修改；数据从第2行开始，每行一条。",
        f"以“{EXAMPLE_PREFIX}”开头的示例行不会被导入，可以直接删除。",
        "枚举列可从下拉框选择，也可填写右侧列出的中文名称；转化方式可填多个，用分号分隔。",
        "导入后的信息为草稿，可在“我的发布”中修改后提交审核。",
    ]
    for note in notes:
        guide.append([note])
    for cell in guide[1]:
        cell.font = bold
    guide.column_dimensions["A"].width = 18
    guide.column_dimensions["B"].width = 10
    guide.column_dimensions["C"].width = 60

    headers = {key: header for key, header, _r, _h in columns}
    first_value_column = 5  # E: the allowed values, one column per enumerated field
    for offset, (key, values) in enumerate(allowed.items()):
        column = first_value_column + offset
        letter = get_column_letter(column)
        head = guide.cell(row=1, column=column, value=f"{headers[key]}可选值")
        head.font = bold
        guide.column_dimensions[letter].width = 30 if key == "field" else 18
        for row, value in enumerate(values, start=2):
            guide.cell(row=row, column=column, value=value)
        data_column = get_column_letter(list(headers).index(key) + 1)
        validation = DataValidation(
            type="list", formula1=f"'填写说明'!${letter}$2:${letter}${len(values) + 1}", allow_blank=True
        )
        if key == "transfer_modes":
            # several modes may be typed ("转让；许可"); the list is a suggestion, not a rule
            validation.showErrorMessage = False
        else:
            validation.showErrorMessage = True
            validation.errorTitle = "无效的值"
            validation.error = f"请从下拉框中选择{headers[key]}，可选值见“填写说明”工作表"
        validation.add(f"{data_column}2:{data_column}10001")
        sheet.add_data_validation(validation)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_filename(kind: str) -> str:
    return f"{KIND_LABELS[kind]}导入模板.xlsx"
