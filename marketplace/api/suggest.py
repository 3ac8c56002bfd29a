"""POST /api/v1/suggest: keywords and a technology field for a listing being written.

Thin: read the JSON body, ask `search_index.suggest`, turn field codes into the deployment's
taxonomy names. Logged-in callers only (any role): the only client is the posting form, which
needs a login; the answer reveals nothing private, but each call segments up to 20,000 characters,
so anonymous callers are not offered free CPU. Writes nothing."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_login import login_required

from search_index import suggest as suggester

from ..core.errors import ValidationFailed
from . import bp

KINDS = ("achievement", "demand")
ALLOWED_KEYS = ("text", "title", "kind", "keywords")
MAX_KEYWORDS = 8


@bp.post("/suggest")
@login_required
def suggest():
    data = _body()
    errors: dict[str, str] = {}
    for key in sorted(set(data) - set(ALLOWED_KEYS)):
        errors[key] = "不支持的字段，可用：" + "、".join(ALLOWED_KEYS)
    text, title = data.get("text"), data.get("title", "")
    if not isinstance(text, str) or not text.strip():
        errors["text"] = "请提供要分析的文字（成果简介或需求描述）"
    elif len(text) > suggester.MAX_TEXT_CHARS:
        errors["text"] = f"文字过长：最多 {suggester.MAX_TEXT_CHARS:,} 个字，当前 {len(text):,} 个字"
    if not isinstance(title, str):
        errors["title"] = "名称须为字符串"
    elif len(title) > 200:
        errors["title"] = "名称不能超过200个字"
    kind = data.get("kind", "achievement")
    if kind not in KINDS:
        errors["kind"] = "类型须为 achievement（科技成果）或 demand（技术需求）"
    existing = data.get("keywords", [])
    if not isinstance(existing, list) or not all(isinstance(k, str) for k in existing):
        errors["keywords"] = "已有关键词须为字符串数组"
    if errors:
        raise ValidationFailed(errors, message="无法生成建议，请按提示修改")

    keywords = suggester.suggest_keywords(text, title=title, limit=MAX_KEYWORDS, exclude=existing)
    found = suggester.suggest_field(f"{title}\n{text}")
    taxonomy = current_app.extensions["taxonomy"]
    field = _field(taxonomy, found.code) if found else None
    fields = []
    for code, score in found.top if found else []:
        described = _field(taxonomy, code)
        if described:
            fields.append(described | {"score": round(score, 4)})
    return jsonify({"kind": kind, "keywords": keywords, "field": field, "fields": fields})


def _body() -> dict[str, Any]:
    """The JSON object; anything else is a 422 naming `text`, so the form can show it in place."""
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        reason = '请求体须为 JSON 对象，如 {"text": "成果简介……"}，并设置 Content-Type: application/json'
        raise ValidationFailed({"text": reason}, message="请求体不是 JSON 对象")
    return data


def _field(taxonomy: Any, code: str) -> dict[str, str] | None:
    """{"code","name","path"}; a code the deployment's taxonomy does not have falls back to its
    top level, and is dropped when that is missing too (a deployment may replace the taxonomy)."""
    tech_field = taxonomy.field(code) or taxonomy.field(code[:2])
    if tech_field is None:
        return None
    return {"code": tech_field.code, "name": tech_field.name, "path": taxonomy.field_path(tech_field.code)}
