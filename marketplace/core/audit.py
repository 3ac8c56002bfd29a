"""The audit trail: who did what to which object, when, from which state to which, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .timeutil import utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None]
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


ACTION_LABELS = {
    "submit": "提交审核",
    "approve": "审核通过",
    "reject": "驳回",
    "withdraw": "撤回",
    "close": "关闭",
    "expire": "到期",
    "reopen": "重新编辑",
    "create": "创建",
    "update": "修改",
    "import": "批量导入",
    "verify": "认证机构",
    "unverify": "取消认证",
    "join_request": "申请加入机构",
    "join_approve": "批准加入",
    "join_reject": "拒绝加入",
    "disable": "停用账号",
    "enable": "启用账号",
    "reset_password": "重置密码",
    "change_password": "修改密码",
    "password_reset_request": "申请重置密码（邮件链接）",
    "password_reset": "通过邮件链接重置密码",
    "token_create": "创建 API 令牌",
    "token_revoke": "吊销 API 令牌",
    "login": "登录",
    "attach": "上传附件",
    "detach": "删除附件",
    "inquire": "发送合作意向",
    "offer": "推荐成果",
    # 揭榜挂帅
    "decide": "公布结果",
    "invite_reviewer": "邀请评审专家",
    "apply": "揭榜",
    "score": "评分",
    "shortlist": "入围",
    "unshortlist": "取消入围",
    # matchmaking
    "introduce": "引荐",
    # deals and technology contracts
    "deal_stage": "变更项目阶段",
    "broker_add": "添加经纪人",
    "broker_remove": "移除经纪人",
    "register": "登记合同",
    "return": "退回合同",
    "amend": "合同变更",
    "cancel": "合同注销",
    "installments": "修改付款计划",
    "payment": "记录付款",
    "refund": "记录退款",
    # invoices
    "invoice_issue": "开具发票",
    "invoice_paid": "发票已付款",
    "invoice_void": "作废发票",
    # the service side: providers, finance, experts and instruments, valuation
    "accept": "接受",
    "decline": "拒绝",
    "start": "开始办理",
    "complete": "办结",
    "rate": "评价服务",
    "delete": "删除",
    "publish": "发布",
    "review": "开始审查",
    "request_documents": "要求补充材料",
    "respond": "补充材料",
    "disburse": "放款",
    "repayment": "记录还款",
    "settle": "结清",
    "team_add": "添加团队成员",
    "team_remove": "移除团队成员",
    "booking_request": "申请预约",
    "booking_approve": "批准预约",
    "booking_decline": "拒绝预约",
    "booking_cancel": "取消预约",
}


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the current transaction (the caller commits)."""
    entry = AuditLog(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=object_type or (getattr(obj, "AUDIT_TYPE", None) or type(obj).__name__.lower()),
        object_id=getattr(obj, "id", None),
        from_state=str(from_state) if from_state is not None else None,
        to_state=str(to_state) if to_state is not None else None,
        reason=reason,
        details=details,
    )
    db.session.add(entry)
    return entry


def history(obj: Any) -> list[AuditLog]:
    object_type = getattr(obj, "AUDIT_TYPE", None) or type(obj).__name__.lower()
    stmt = (
        select(AuditLog)
        .where(AuditLog.object_type == object_type, AuditLog.object_id == obj.id)
        .order_by(AuditLog.created_at, AuditLog.id)
    )
    return list(db.session.scalars(stmt))
