"""The rules of the resource databases: who maintains experts, the contact-privacy matrix,
evaluation candidates, achievement teams, instruments, and the booking state machine with its
no-overlap rule (enforced by the database, including under concurrent approvals)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from marketplace.alerts.models import Notification
from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.core.taxonomy import MembershipStatus
from marketplace.core.timeutil import LOCAL_TZ, utcnow
from marketplace.extensions import db
from marketplace.resources import services
from marketplace.resources.models import Expert, InstrumentBooking

EXPERT = {"name": "王海明", "title": "教授", "field_codes": ["0701"], "expertise": "海水淡化与膜分离"}
INSTRUMENT = {
    "name": "场发射扫描电子显微镜",
    "district": "东港区",
    "address": "学苑路1号",
    "fee": "300",
    "fee_unit": "元/小时",
}


def _is_postgresql(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].startswith(("postgresql", "postgres"))


def local(days: int, hour: int, minute: int = 0) -> str:
    """'YYYY-MM-DD HH:MM' Beijing time, `days` from today."""
    from datetime import datetime

    day = datetime.now(LOCAL_TZ).date() + timedelta(days=days)
    return f"{day.isoformat()} {hour:02d}:{minute:02d}"


def slot(days: int, start: int, end: int, **extra) -> dict:
    return {"starts_at": local(days, start), "ends_at": local(days, end), "purpose": "形貌观察", **extra}


@pytest.fixture
def people(make_org, make_user):
    uni = make_org(org_type="university")
    ent = make_org(org_type="enterprise")
    return {
        "manager": make_user("university", org=uni, manager=True),
        "colleague": make_user("university", org=uni),
        "other": make_user("university"),
        "enterprise": make_user("enterprise", org=ent),
        "enterprise2": make_user("enterprise"),
        "official": make_user("official"),
        "admin": make_user("admin", org=None),
        "uni": uni,
    }


# ---------------------------------------------------------------------------------------------
# Experts


def test_an_org_manager_adds_experts_of_the_organisation_and_a_member_cannot(people):
    expert = services.create_expert(people["manager"], {**EXPERT, "phone": "13800000000"})
    db.session.commit()
    assert expert.organization_id == people["uni"].id and expert.user_id is None
    with pytest.raises(PermissionDenied):
        services.create_expert(people["colleague"], EXPERT)
    db.session.rollback()
    entry = db.session.scalar(select(AuditLog).where(AuditLog.object_type == "expert", AuditLog.action == "create"))
    assert entry is not None and entry.actor_id == people["manager"].id


def test_a_user_creates_one_own_profile_linked_to_the_account(people):
    mine = services.create_expert(people["colleague"], {**EXPERT, "self": True})
    db.session.commit()
    assert mine.user_id == people["colleague"].id and mine.organization_id == people["uni"].id
    assert services.can_edit_expert(people["colleague"], mine)
    with pytest.raises(ValidationFailed) as exc:
        services.create_expert(people["colleague"], {**EXPERT, "self": True})
    assert "已有专家档案" in exc.value.fields["user_id"]


def test_only_admins_link_any_account(people):
    with pytest.raises(ValidationFailed) as exc:
        services.create_expert(people["manager"], {**EXPERT, "user_id": people["other"].id})
    assert "本机构成员" in exc.value.fields["user_id"]
    db.session.rollback()
    linked = services.create_expert(people["manager"], {**EXPERT, "user_id": people["colleague"].id})
    assert linked.user_id == people["colleague"].id
    by_admin = services.create_expert(
        people["admin"], {**EXPERT, "org_name": "中国海洋大学", "user_id": people["other"].id}
    )
    assert by_admin.organization_id is None and by_admin.display_org == "中国海洋大学"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "请填写姓名"),
        ({"field_codes": []}, "field_codes", "请至少选择一个技术领域"),
        ({"field_codes": ["9999"]}, "field_codes", "不存在"),
        ({"expertise": " "}, "expertise", "请填写研究方向/专长"),
        ({"phone": "12345"}, "phone", "电话号码格式不正确"),
        ({"email": "not-an-email"}, "email", "邮箱格式不正确"),
    ],
)
def test_expert_validation_messages(people, data, field, message):
    with pytest.raises(ValidationFailed) as exc:
        services.create_expert(people["manager"], {**EXPERT, **data})
    assert message in exc.value.fields[field]


def test_a_free_text_organisation_is_required_without_a_platform_one(people):
    with pytest.raises(ValidationFailed) as exc:
        services.create_expert(people["admin"], EXPERT)
    assert exc.value.fields == {"org_name": "请填写所在单位"}


def test_field_names_are_accepted_as_well_as_codes(people):
    expert = services.create_expert(people["manager"], {**EXPERT, "field_codes": "环境保护与资源综合利用、膜材料"})
    assert expert.field_codes == ["07", "0507"]


def test_contact_privacy_matrix(people, make_user):
    linked = people["colleague"]
    expert = services.create_expert(people["manager"], {**EXPERT, "phone": "13800000000", "user_id": linked.id})
    db.session.commit()
    from flask_login import AnonymousUserMixin

    allowed = {
        "admin": True,
        "official": True,
        "colleague": True,  # the expert themself
        "manager": True,  # a member of the expert's organisation
        "other": False,
        "enterprise": False,
    }
    for who, expected in allowed.items():
        assert services.can_view_expert_contact(people[who], expert) is expected, who
    assert services.can_view_expert_contact(AnonymousUserMixin(), expert) is False
    pending = make_user("university", org=people["uni"], membership=MembershipStatus.PENDING)
    assert services.can_view_expert_contact(pending, expert) is False  # not yet approved


def test_editing_rights_and_deactivation(people):
    expert = services.create_expert(people["manager"], EXPERT)
    db.session.commit()
    for who in ("colleague", "other", "official", "enterprise"):
        with pytest.raises(PermissionDenied):
            services.update_expert(people[who], expert, {"title": "研究员"})
        db.session.rollback()
    services.update_expert(people["admin"], expert, {"title": "研究员"})
    services.set_expert_active(people["manager"], expert, False, "已退休")
    db.session.commit()
    assert expert.title == "研究员" and expert.active is False
    assert db.session.get(Expert, expert.id) is not None  # deactivated, never deleted
    with pytest.raises(Conflict):
        services.set_expert_active(people["manager"], expert, False)
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "expert").order_by(AuditLog.id)
    ).all()
    assert actions == ["create", "update", "disable"]


def test_evaluation_candidates(people, make_user):
    field_user, top_user, other_user = (make_user("university") for _ in range(3))
    exact = services.create_expert(
        people["admin"],
        {**EXPERT, "name": "甲", "org_name": "某大学", "field_codes": ["0701"], "user_id": field_user.id},
    )
    same_top = services.create_expert(
        people["admin"], {**EXPERT, "name": "乙", "org_name": "某大学", "field_codes": ["0705"], "user_id": top_user.id}
    )
    elsewhere = services.create_expert(
        people["admin"],
        {**EXPERT, "name": "丙", "org_name": "某大学", "field_codes": ["0101"], "user_id": other_user.id},
    )
    services.create_expert(people["admin"], {**EXPERT, "name": "无账号", "org_name": "某大学"})
    services.create_expert(
        people["admin"],
        {
            **EXPERT,
            "name": "不评价",
            "org_name": "某大学",
            "available_evaluation": False,
            "user_id": make_user("university").id,
        },
    )
    off = services.create_expert(
        people["admin"], {**EXPERT, "name": "已停用", "org_name": "某大学", "user_id": make_user("university").id}
    )
    services.set_expert_active(people["admin"], off, False)
    own = services.create_expert(people["manager"], {**EXPERT, "name": "本机构", "user_id": people["colleague"].id})
    own_by_account = services.create_expert(
        people["admin"], {**EXPERT, "name": "账号在本机构", "org_name": "外单位", "user_id": people["manager"].id}
    )
    db.session.commit()
    everyone = services.evaluation_candidates("0701", None)
    assert set(everyone[:3]) == {exact, own, own_by_account} and everyone[3:] == [same_top, elsewhere]
    got = services.evaluation_candidates("0701", people["uni"].id)
    assert got == [exact, same_top, elsewhere]  # field first, then its top field, then the rest
    assert own not in got and own_by_account not in got
    assert services.evaluation_candidates(None, people["uni"].id) == sorted(got, key=lambda e: e.name)


# ---------------------------------------------------------------------------------------------
# Teams


def test_the_owner_manages_the_team_of_an_achievement(people, make_achievement):
    achievement = make_achievement(owner=people["manager"])
    expert = services.create_expert(people["manager"], EXPERT)
    services.add_team_member(people["colleague"], achievement, expert.id, "负责人")  # any member of the owner org
    db.session.commit()
    assert [(m.expert.name, m.team_role) for m in services.team_of(achievement)] == [("王海明", "负责人")]
    assert [a for a, _role in services.expert_achievements(expert)] == [achievement]
    with pytest.raises(ValidationFailed) as exc:
        services.add_team_member(people["manager"], achievement, expert.id)
    assert "已在团队中" in exc.value.fields["expert_id"]
    with pytest.raises(PermissionDenied):
        services.add_team_member(people["other"], achievement, expert.id)
    with pytest.raises(PermissionDenied):
        services.remove_team_member(people["enterprise"], achievement, expert.id)
    services.remove_team_member(people["manager"], achievement, expert.id)
    db.session.commit()
    assert services.team_of(achievement) == []
    actions = db.session.scalars(
        select(AuditLog.action)
        .where(AuditLog.object_type == "achievement", AuditLog.action.like("team_%"))
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["team_add", "team_remove"]


def test_an_inactive_expert_cannot_join_a_team(people, make_achievement):
    achievement = make_achievement(owner=people["manager"])
    expert = services.create_expert(people["manager"], EXPERT)
    services.set_expert_active(people["manager"], expert, False)
    with pytest.raises(ValidationFailed) as exc:
        services.add_team_member(people["manager"], achievement, expert.id)
    assert "已启用" in exc.value.fields["expert_id"]


# ---------------------------------------------------------------------------------------------
# Instruments and bookings


@pytest.fixture
def instrument(people):
    item = services.create_instrument(people["manager"], INSTRUMENT)
    db.session.commit()
    return item


def test_instrument_validation_and_rights(people, make_user, make_org):
    with pytest.raises(ValidationFailed) as exc:
        services.create_instrument(people["manager"], {"name": "", "district": "火星", "fee": "abc"})
    fields = exc.value.fields
    assert fields["name"] == "请填写仪器名称"
    assert "不存在" in fields["district"] and "无法识别" in fields["fee"] and fields["address"] == "请填写存放地址"
    with pytest.raises(ValidationFailed) as exc:
        services.create_instrument(people["manager"], {**INSTRUMENT, "fee_unit": ""})
    assert "单位" in exc.value.fields["fee_unit"]
    unverified = make_user("university", org=make_org(verified=False))
    with pytest.raises(PermissionDenied):
        services.create_instrument(unverified, INSTRUMENT)
    item = services.create_instrument(people["colleague"], INSTRUMENT)
    assert services.fee_text(item) == "300 元/小时" and item.district == "371102"
    with pytest.raises(PermissionDenied):
        services.update_instrument(people["enterprise"], item, {"status": "maintenance"})
    services.update_instrument(people["manager"], item, {"status": "maintenance"})
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.object_type == "instrument").order_by(AuditLog.id.desc())
    ).first()
    assert (entry.from_state, entry.to_state) == ("available", "maintenance")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (slot(1, 12, 10), "ends_at", "结束时间必须晚于开始时间"),
        (slot(-1, 10, 12), "starts_at", "开始时间必须晚于当前时间"),
        ({**slot(1, 10, 12), "ends_at": local(16, 12)}, "ends_at", "单次预约不能超过14天"),
        ({**slot(1, 10, 12), "starts_at": "明天上午"}, "starts_at", "格式不正确"),
        ({**slot(1, 10, 12), "purpose": ""}, "purpose", "请填写使用目的"),
        ({**slot(1, 10, 12), "ends_at": local(1, 10, 5)}, "ends_at", "至少15分钟"),
    ],
)
def test_booking_validation_messages(people, instrument, data, field, message):
    with pytest.raises(ValidationFailed) as exc:
        services.request_booking(people["enterprise"], instrument, data)
    assert message in exc.value.fields[field]


def test_who_may_request(people, instrument, make_user):
    with pytest.raises(PermissionDenied):
        services.request_booking(people["colleague"], instrument, slot(1, 10, 12))  # the owner org itself
    with pytest.raises(PermissionDenied):
        services.request_booking(
            make_user("university", membership=MembershipStatus.PENDING), instrument, slot(1, 10, 12)
        )
    services.update_instrument(people["manager"], instrument, {"status": "maintenance"})
    with pytest.raises(Conflict) as exc:
        services.request_booking(people["enterprise"], instrument, slot(1, 10, 12))
    assert "维护中" in exc.value.message


def test_times_are_beijing_time_stored_in_utc(people, instrument):
    booking = services.request_booking(people["enterprise"], instrument, slot(2, 10, 12))
    assert booking.starts_at.hour == 2 and booking.ends_at.hour == 4  # 10:00 北京时间 = 02:00 UTC
    assert services.slot_text(booking.starts_at, booking.ends_at).endswith("10:00–12:00")


def test_booking_state_machine_with_audit_and_notifications(people, instrument):
    owner, requester = people["manager"], people["enterprise"]
    booking = services.request_booking(requester, instrument, slot(2, 10, 12))
    db.session.commit()
    owner_notes = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == owner.id))
    assert owner_notes == 1
    with pytest.raises(PermissionDenied):
        services.approve_booking(requester, booking)
    with pytest.raises(ValidationFailed) as exc:
        services.decline_booking(owner, booking, " ")
    assert "拒绝原因" in exc.value.fields["reason"]
    services.approve_booking(owner, booking)
    db.session.commit()
    assert booking.status == "approved" and booking.decided_by_id == owner.id
    with pytest.raises(Conflict):
        services.decline_booking(owner, booking, "设备故障")  # approved → only cancelled
    with pytest.raises(PermissionDenied):
        services.cancel_booking(owner, booking)  # the requester cancels
    services.cancel_booking(requester, booking)
    db.session.commit()
    assert booking.status == "cancelled"
    with pytest.raises(Conflict):
        services.approve_booking(owner, booking)
    second = services.request_booking(people["enterprise2"], instrument, slot(3, 10, 12))
    services.decline_booking(owner, second, "当日仪器检修")
    db.session.commit()
    assert second.status == "declined" and second.decline_reason == "当日仪器检修"
    trail = db.session.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "instrument_booking").order_by(AuditLog.id)
    ).all()
    assert trail == ["booking_request", "booking_approve", "booking_cancel", "booking_request", "booking_decline"]
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == requester.id)).all()
    assert any("已确认" in t for t in titles)


def test_adjacent_bookings_are_fine_and_overlaps_are_refused(people, instrument):
    owner = people["manager"]
    first = services.request_booking(people["enterprise"], instrument, slot(2, 10, 12))
    services.approve_booking(owner, first)
    db.session.commit()
    adjacent = services.request_booking(people["enterprise2"], instrument, slot(2, 12, 14))
    services.approve_booking(owner, adjacent)
    db.session.commit()
    assert adjacent.status == "approved"
    with pytest.raises(Conflict) as exc:
        services.request_booking(people["other"], instrument, {**slot(2, 11, 13)})
    assert exc.value.message.startswith("该时段已被预约：") and "10:00–12:00" in exc.value.message
    assert exc.value.status == 409 and "starts_at" in exc.value.fields


def test_approving_an_overlap_is_refused_and_changes_nothing(people, instrument):
    owner = people["manager"]
    a = services.request_booking(people["enterprise"], instrument, slot(2, 10, 12))
    b = services.request_booking(people["enterprise2"], instrument, slot(2, 11, 13))  # pending may overlap
    db.session.commit()
    services.approve_booking(owner, a)
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.approve_booking(owner, b)
    assert exc.value.status == 409 and "该时段已被预约：" in exc.value.message
    db.session.rollback()
    assert db.session.get(InstrumentBooking, b.id).status == "pending"
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "booking_approve")) == 1


def test_the_database_itself_refuses_two_overlapping_approved_bookings(people, instrument):
    """Bypassing the service (no pre-check): the constraint / trigger still refuses, and the
    refused statement changes nothing."""
    a = services.request_booking(people["enterprise"], instrument, slot(2, 10, 12))
    b = services.request_booking(people["enterprise2"], instrument, slot(2, 11, 13))
    c = services.request_booking(people["other"], instrument, slot(2, 12, 14))
    db.session.commit()
    approve = text("UPDATE instrument_bookings SET status = 'approved' WHERE id = :id")
    db.session.execute(approve, {"id": a.id})
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(approve, {"id": b.id})
        db.session.flush()
    db.session.rollback()
    db.session.execute(approve, {"id": c.id})  # adjacent: [10,12) and [12,14) do not overlap
    db.session.commit()
    statuses = dict(db.session.execute(select(InstrumentBooking.id, InstrumentBooking.status)).all())
    assert statuses == {a.id: "approved", b.id: "pending", c.id: "approved"}
    with pytest.raises(IntegrityError):  # an approved row inserted directly is refused too
        db.session.add(
            InstrumentBooking(
                instrument_id=instrument.id,
                requester_org_id=people["other"].organization_id,
                starts_at=a.starts_at + timedelta(minutes=30),
                ends_at=a.ends_at,
                purpose="直接写入",
                status="approved",
            )
        )
        db.session.flush()
    db.session.rollback()


# ---------------------------------------------------------------------------------------------
# Concurrency


def _overlapping_pending(people, instrument, count: int) -> list[int]:
    requesters = [people["enterprise"], people["enterprise2"], people["other"], people["official"]]
    ids = []
    for n in range(count):
        booking = services.request_booking(requesters[n % len(requesters)], instrument, slot(2, 10 + n % 2, 12 + n % 2))
        ids.append(booking.id)
    db.session.commit()
    return ids


def test_threads_approving_overlapping_bookings_at_once_approve_exactly_one(app, people, instrument):
    """SQLite (or PostgreSQL): each thread its own app context, session and connection."""
    ids = _overlapping_pending(people, instrument, 4)
    owner_id = people["manager"].id
    db.session.remove()
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []

    def approve(booking_id: int) -> None:
        from marketplace.accounts.models import User

        with app.app_context():
            try:
                owner = db.session.get(User, owner_id)
                booking = db.session.get(InstrumentBooking, booking_id)
                barrier.wait(timeout=30)
                services.approve_booking(owner, booking)
                db.session.commit()
                outcomes.append("approved")
            except Conflict as exc:
                db.session.rollback()
                outcomes.append(f"409 {exc.message}")
            except Exception as exc:  # reported by the assertion below
                db.session.rollback()
                outcomes.append(f"error {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(o.split(" ")[0] for o in outcomes) == ["409"] * 3 + ["approved"], outcomes
    statuses = db.session.scalars(select(InstrumentBooking.status).where(InstrumentBooking.id.in_(ids))).all()
    assert sorted(statuses) == ["approved"] + ["pending"] * 3
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "booking_approve")) == 1


PROCESSES = 4


def _approve_in_process(url: str, owner_id: int, booking_id: int, barrier, results) -> None:
    from marketplace import create_app
    from marketplace.accounts.models import User

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        UPLOAD_DIR=tempfile.mkdtemp(),
        SEARCH_INDEX_DIR=tempfile.mkdtemp(),
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        try:
            owner = db.session.get(User, owner_id)
            booking = db.session.get(InstrumentBooking, booking_id)
            barrier.wait(timeout=60)
            services.approve_booking(owner, booking)
            db.session.commit()
            results.put(("approved", booking_id, ""))
        except Conflict as exc:
            db.session.rollback()
            results.put((exc.status, booking_id, exc.message))
        except Exception as exc:
            db.session.rollback()
            results.put(("error", booking_id, f"{os.getpid()}: {exc!r}"))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.skipif(
    not _is_postgresql(os.environ.get("TEST_DATABASE_URL")),
    reason="needs TEST_DATABASE_URL=postgresql://… (processes with their own connections racing)",
)
def test_processes_approving_overlapping_bookings_at_once_approve_exactly_one(app, people, instrument):
    ids = _overlapping_pending(people, instrument, PROCESSES)
    owner_id = people["manager"].id
    db.session.remove()  # hold no connection while the children work
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [context.Process(target=_approve_in_process, args=(url, owner_id, i, barrier, results)) for i in ids]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [r for r in reports if r[0] == "error"] == []
    assert sorted(str(r[0]) for r in reports) == ["409"] * (PROCESSES - 1) + ["approved"]
    assert all("该时段已被预约" in r[2] for r in reports if r[0] == 409)
    winner = next(r[1] for r in reports if r[0] == "approved")
    statuses = dict(db.session.execute(select(InstrumentBooking.id, InstrumentBooking.status)).all())
    assert statuses == {i: ("approved" if i == winner else "pending") for i in ids}
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "booking_approve")) == 1


def test_calendar_shows_approved_slots_and_only_the_viewers_own_pending(people, instrument):
    owner = people["manager"]
    approved = services.request_booking(people["enterprise"], instrument, slot(2, 10, 12))
    services.approve_booking(owner, approved)
    mine = services.request_booking(people["enterprise2"], instrument, slot(2, 14, 16))
    theirs = services.request_booking(people["other"], instrument, slot(2, 16, 18))
    db.session.commit()
    start, end = utcnow(), utcnow() + timedelta(days=7)
    assert services.bookings_between(instrument, start, end, None) == [approved]
    assert services.bookings_between(instrument, start, end, people["enterprise2"]) == [approved, mine]
    assert services.bookings_between(instrument, start, end, owner) == [approved, mine, theirs]
