"""The Journey screen's read: a person's journey with its plan, measures, onward referrals, follow-ups
and timeline (``journey_detail``, audited as a view), and the journey a goal, an onward referral or a
person's record belongs to (``journey_id_for``, for forms opened on those).

The ORM is imported when these are first called: the app's first screen does not wait for it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from navigator.domain import lifecycle as L
from navigator.domain import swemwbs
from navigator.domain.errors import DomainError, NotFound
from navigator.domain.followups import MESSAGE_METHOD_LABELS, MessageMethod, TaskKind
from navigator.services.context import Ctx
from navigator.services.dto import (
    ClientDetail,
    GoalView,
    JourneyDetail,
    JourneySummary,
    MeasureView,
    OnwardView,
    TaskView,
    TimelineEvent,
)
from navigator.store.ids import row_id

if TYPE_CHECKING:  # pragma: no cover
    from sqlmodel import Session

    from navigator.store.models import Journey


def journey_detail(ctx: Ctx, journey_id: int, *, audit_view: bool = True) -> JourneyDetail:
    """Everything on the Journey screen. Viewing a person's record is audited."""
    from sqlmodel import col, select

    from navigator.services import access, audit
    from navigator.services.casework.letters import referrer_letter
    from navigator.services.casework.records import facts
    from navigator.services.setup.reference import meaningful_threshold
    from navigator.store.models import (
        Client,
        GoalNote,
        Journey,
        JourneySupportArea,
        Locality,
        Lot,
        Measurement,
        OnwardReferral,
        Partner,
        PartnerChase,
        PartnerUpdateRow,
        PersonalOutcome,
        PlanGoal,
        Programme,
        ReferralSource,
        SupportArea,
        Task,
        User,
    )

    with ctx.write() if audit_view else ctx.read() as s:
        j = s.get(Journey, journey_id)
        if j is None:
            raise NotFound("That journey does not exist.")
        actor = ctx.actor(s)
        access.require_journey(s, actor, j)
        # the journey's rows point at these (foreign keys): the asserts say so to the type checker
        c = s.get(Client, j.client_id)
        assert c is not None
        loc = s.get(Locality, c.locality_id)
        jloc = s.get(Locality, j.locality_id)
        assert loc is not None and jloc is not None
        lot = s.get(Lot, jloc.lot_id)
        nav = s.get(User, j.navigator_id)
        src = s.get(ReferralSource, j.source_id)
        client_lot = s.get(Lot, loc.lot_id)
        assert lot is not None and nav is not None and src is not None and client_lot is not None
        users = {row_id(uid): name for uid, name in s.exec(select(col(User.id), col(User.username))).all()}
        cal = ctx.calendar(s)
        threshold = meaningful_threshold(s)

        client = ClientDetail(
            row_id(c.id),
            c.client_ref,
            c.first_name,
            c.last_name,
            c.date_of_birth,
            c.postcode,
            c.nhs_number,
            c.phone,
            c.email,
            c.address,
            c.preferred_method,
            c.imd_decile,
            c.consent_to_share,
            c.locality_id,
            loc.name,
            client_lot.code,
            c.version,
        )
        journeys = tuple(
            JourneySummary(
                row_id(o.id),
                o.received_date,
                o.state,
                L.State(o.state).label,
                users.get(o.navigator_id, "?"),
                src_name,
                o.end_date,
                o.end_reason,
            )
            for o, src_name in s.exec(
                select(Journey, ReferralSource.name)
                .join(ReferralSource, col(ReferralSource.id) == col(Journey.source_id))
                .where(Journey.client_id == c.id)
                .order_by(col(Journey.received_date).desc())
            ).all()
        )
        areas = tuple(
            s.exec(
                select(SupportArea.name)
                .join(JourneySupportArea, col(JourneySupportArea.support_area_id) == col(SupportArea.id))
                .where(JourneySupportArea.journey_id == j.id)
            ).all()
        )
        # plan
        outcomes = {o.id: o.name for o in s.exec(select(PersonalOutcome)).all()}
        goals = []
        for g in s.exec(select(PlanGoal).where(PlanGoal.journey_id == j.id).order_by(col(PlanGoal.id))).all():
            notes = tuple(
                (n.on_date, n.note, users.get(n.user_id, "?"))
                for n in s.exec(
                    select(GoalNote).where(GoalNote.goal_id == g.id).order_by(col(GoalNote.on_date), col(GoalNote.id))
                ).all()
            )
            goals.append(
                GoalView(
                    row_id(g.id),
                    outcomes.get(g.outcome_id, "?"),
                    g.statement,
                    g.target_date,
                    g.status,
                    L.GOAL_LABELS[L.GoalStatus(g.status)],
                    notes,
                    g.version,
                )
            )
        # measures
        measures = []
        start_metric: Decimal | None = None
        for m in s.exec(
            select(Measurement)
            .where(Measurement.journey_id == j.id)
            .order_by(col(Measurement.on_date), col(Measurement.id))
        ).all():
            items = tuple(v for v in (m.item1, m.item2, m.item3, m.item4, m.item5, m.item6, m.item7) if v is not None)
            metric = Decimal(m.metric_x100) / 100 if m.metric_x100 is not None else None
            change = None
            label = ""
            if m.kind == "swemwbs" and metric is not None:
                if m.point == "start" and start_metric is None:
                    start_metric = metric
                elif start_metric is not None:
                    change = metric - start_metric
                    label = swemwbs.change_label(start_metric, metric, threshold)
            measures.append(
                MeasureView(row_id(m.id), m.kind, m.point, m.on_date, items, m.raw or sum(items), metric, change, label)
            )
        # onward
        onward = []
        for o, prog, partner in s.exec(
            select(OnwardReferral, Programme, Partner)
            .join(Programme, col(Programme.id) == col(OnwardReferral.programme_id))
            .join(Partner, col(Partner.id) == col(Programme.partner_id))
            .where(OnwardReferral.journey_id == j.id)
            .order_by(col(OnwardReferral.referral_date), col(OnwardReferral.id))
        ).all():
            ups = tuple(
                (u.on_date, u.kind, u.note or "")
                for u in s.exec(
                    select(PartnerUpdateRow)
                    .where(PartnerUpdateRow.onward_id == o.id)
                    .order_by(col(PartnerUpdateRow.on_date), col(PartnerUpdateRow.id))
                ).all()
            )
            chased = tuple(  # issue 15
                (ch.on_date, ch.method, ch.note or "")
                for ch in s.exec(
                    select(PartnerChase)
                    .where(PartnerChase.onward_id == o.id)
                    .order_by(col(PartnerChase.on_date), col(PartnerChase.id))
                ).all()
            )
            onward.append(
                OnwardView(
                    row_id(o.id),
                    row_id(prog.id),
                    partner.name,
                    prog.name,
                    o.referral_date,
                    o.status,
                    o.start_date,
                    o.end_date,
                    o.last_update_date,
                    # a follow-up of the partner's news is work with the person: none once the journey ended
                    o.feedback_pending_since if L.State(j.state).is_open else None,
                    ups,
                    o.version,
                    chased,
                    sum(1 for d, _, _ in chased if o.last_update_date is None or d > o.last_update_date),
                )
            )
        tasks = tuple(
            TaskView(
                row_id(t.id),
                t.journey_id,
                t.kind,
                TaskKind(t.kind).label,
                t.due_date,
                t.detail or "",
                t.due_date < ctx.today(),
            )
            # sorted here, not by the database: ORDER BY due_date would walk every open task of the store
            # through ix_task_open_due (tens of ms at 200,000 people) instead of this journey's few
            for t in sorted(
                s.exec(select(Task).where(Task.journey_id == j.id, Task.status == "open")).all(),
                key=lambda t: (t.due_date, t.id or 0),
            )
        )
        timeline = _timeline(s, j, users)
        f = facts(j, c)
        state = L.state_of(f)
        if audit_view:
            audit.record(s, ctx, "view.journey", "journey", j.id, client_id=c.id, journey_id=j.id)
        return JourneyDetail(
            id=row_id(j.id),
            client=client,
            journeys=journeys,
            received_date=j.received_date,
            state=j.state,
            state_label=state.label,
            state_since=j.state_since,
            navigator_id=j.navigator_id,
            navigator=nav.username,
            navigator_name=nav.name,
            source_code=src.code,
            source=src.name,
            referrer=j.referrer,
            reason=j.reason,
            support_areas=areas,
            locality=jloc.name,
            lot=lot.code,
            first_contact_date=j.first_contact_date,
            last_contact_date=j.last_contact_date,
            decision=j.decision,
            decision_date=j.decision_date,
            reject_reason=j.reject_reason,
            start_date=j.start_date,
            end_date=j.end_date,
            end_reason=j.end_reason,
            outcome_evidence=j.outcome_evidence,
            under_17=L.is_under_age(f),
            available_actions=frozenset(a.value for a in L.available_actions(f)),
            end_reasons=tuple(
                r.value
                for r in (
                    L.END_REASONS_AFTER_START
                    if state == L.State.STARTED
                    else L.END_REASONS_WITHOUT_START
                    if state.is_open
                    else ()
                )
            ),
            timeline=timeline,
            goals=tuple(goals),
            measures=tuple(measures),
            onward=tuple(onward),
            tasks=tasks,
            response_working_days=cal.count(j.received_date, j.first_contact_date) if j.first_contact_date else None,
            wait_working_days=cal.count(j.decision_date, j.start_date) if j.start_date and j.decision_date else None,
            version=j.version,
            meaningful_threshold=threshold,
            risk_flag=bool(j.risk_flag),  # issue 15
            signposted_to=j.signposted_to,
            referrer_told_date=j.referrer_told_date,
            referrer_told_how=j.referrer_told_how,
            referrer_letter=referrer_letter(j.state, j.end_reason),
        )


_ACTION_TEXT = {
    "journey.receive": ("received", "Referral received"),
    "journey.contact": ("contact", None),
    "journey.decide": ("decision", None),
    "journey.start": ("start", "Started (signed up)"),
    "journey.close": ("close", None),
    "journey.reassign": ("reassign", "Reassigned"),
    "journey.review": ("review", "Plan reviewed"),
    "goal.add": ("goal", None),
    "goal.update": ("goal", None),
    "measure.record": ("measure", None),
    "onward.make": ("onward", None),
    "onward.update": ("partner", None),
    "onward.followed_up": ("partner", "Followed up the partner's feedback"),
    "letter.render": ("letter", None),
    "journey.risk": ("risk", None),  # issue 15
    "journey.referral_attached": ("received", "Further referral added to this journey"),  # issue 15
    "onward.chase": ("partner", None),  # issue 15
    "journey.referrer_told": ("letter", None),  # issue 15
}


def _timeline(s: Session, j: Journey, users: dict[int, str]) -> tuple[TimelineEvent, ...]:
    """Every event of the journey, from the audit log (who and when) and the records (what)."""
    import json

    from sqlmodel import col, select

    from navigator.store.models import AuditEvent, Programme

    events: list[TimelineEvent] = []
    for e in s.exec(select(AuditEvent).where(AuditEvent.journey_id == j.id).order_by(col(AuditEvent.id))).all():
        if e.action not in _ACTION_TEXT:
            continue
        kind, fixed = _ACTION_TEXT[e.action]
        after = json.loads(e.after) if e.after else {}
        on = e.at.date()
        txt = fixed or e.action
        if e.action == "journey.receive":
            on = date.fromisoformat(after.get("received_date", on.isoformat()))
        elif e.action == "journey.contact":
            c = after.get("contact", {})
            on = date.fromisoformat(c.get("on", on.isoformat()))
            txt = (
                f"Contact by {c.get('method')}: {L.OUTCOME_LABELS.get(L.ContactOutcome(c.get('outcome', 'spoke')), '')}"
            )
            if c.get("note"):
                txt += f" ({c['note']})"
        elif e.action == "journey.decide":
            on = date.fromisoformat(after.get("decision_date", on.isoformat()))
            if after.get("decision") == "rejected":
                reason = after.get("reject_reason")
                txt = f"Rejected: {L.REJECT_LABELS.get(L.RejectReason(reason), reason) if reason else ''}"
            else:
                txt = "Accepted"
        elif e.action == "journey.start":
            on = date.fromisoformat(after.get("start_date", on.isoformat()))
            if after.get("measure"):
                txt += f"; SWEMWBS raw {after['measure']['raw']}"
        elif e.action == "journey.close":
            on = date.fromisoformat(after.get("end_date", on.isoformat()))
            reason = after.get("end_reason")
            txt = f"Closed: {L.END_LABELS.get(L.EndReason(reason), reason) if reason else ''}"
            if after.get("by") == "protocol":  # issue 15: closed for no response by the protocol
                txt += " (by the protocol)"
        elif e.action == "journey.review":
            r = after.get("review", {})
            on = date.fromisoformat(r.get("on", on.isoformat()))
            if r.get("note"):
                txt += f": {r['note']}"
        elif e.action == "journey.reassign":
            txt = f"Reassigned to {users.get(after.get('navigator_id', -1), '?')}"
        elif e.action == "goal.add":
            txt = f"Goal added: {after.get('statement', '')}"
        elif e.action == "goal.update":
            parts = []
            if "status" in after:
                parts.append(f"status {after['status'].replace('_', ' ')}")
            if "statement" in after:
                parts.append("wording changed")
            if "note" in after:
                parts.append(f"note: {after['note']}")
            txt = "Goal updated: " + ", ".join(parts)
        elif e.action == "measure.record":
            on = date.fromisoformat(after.get("on", on.isoformat()))
            txt = f"{after.get('kind', '').upper()} at {after.get('point')}" + (
                f": raw {after['raw']}" if after.get("raw") is not None else ""
            )
        elif e.action == "onward.make":
            on = date.fromisoformat(after.get("referral_date", on.isoformat()))
            prog = s.get(Programme, after.get("programme_id"))
            txt = f"Onward referral to {prog.name if prog else '?'}"
        elif e.action == "onward.update":
            on = date.fromisoformat(after.get("on", on.isoformat()))
            txt = f"Partner update: {after.get('kind', '').replace('_', ' ')}"
            if after.get("note"):
                txt += f" ({after['note']})"
        elif e.action == "letter.render":
            txt = f"Letter produced: {after.get('template', '')}"
        elif e.action == "journey.risk":  # issue 15
            flagged = after.get("risk_flag", j.risk_flag)
            txt = (
                "Risk flag set" if flagged else ("Risk flag cleared" if "risk_flag" in after else "Signposting changed")
            )
        elif e.action == "onward.chase":  # issue 15
            on = date.fromisoformat(after.get("on", on.isoformat()))
            how = MESSAGE_METHOD_LABELS.get(MessageMethod(after.get("method", "phone")), "").lower()
            txt = f"Partner chased by {how}" + (f" ({after['note']})" if after.get("note") else "")
        elif e.action == "journey.referrer_told":  # issue 15
            on = date.fromisoformat(after.get("referrer_told_date", on.isoformat()))
            how = MESSAGE_METHOD_LABELS.get(MessageMethod(after.get("referrer_told_how", "letter")), "").lower()
            txt = f"Referrer told ({how})"
        who = e.username + (f" (as by {e.acting_as})" if e.acting_as else "")
        events.append(TimelineEvent(on, e.at, kind, txt, who))
    events.sort(key=lambda ev: (ev.on, ev.at or 0))
    return tuple(events)


def journey_id_for(
    ctx: Ctx, *, goal_id: int | None = None, onward_id: int | None = None, client_id: int | None = None
) -> int:
    """The journey a goal or an onward referral belongs to, or a person's latest journey (the latest
    one the acting user may see, if any).

    For forms opened on those ids: they then read ``journey_detail`` (which checks access).
    """
    from sqlmodel import col, select

    from navigator.services import access
    from navigator.store.models import Journey, OnwardReferral, PlanGoal

    with ctx.read() as s:
        if goal_id is not None:
            jid = s.exec(select(PlanGoal.journey_id).where(PlanGoal.id == goal_id)).first()
            what = "goal"
        elif onward_id is not None:
            jid = s.exec(select(OnwardReferral.journey_id).where(OnwardReferral.id == onward_id)).first()
            what = "onward referral"
        elif client_id is not None:
            rows = s.exec(
                select(Journey)
                .where(Journey.client_id == client_id)
                .order_by(col(Journey.received_date).desc(), col(Journey.id).desc())
            ).all()
            actor = ctx.actor(s)
            visible = [
                j
                for j in rows
                if access.can_see_journey(
                    s, actor, navigator_id=j.navigator_id, locality_id=j.locality_id, client_id=j.client_id
                )
            ]
            jid = (visible or rows)[0].id if rows else None
            what = "person"
        else:
            raise DomainError("Say which goal, onward referral or person.")
    if jid is None:
        raise NotFound(f"That {what} does not exist (it may have been removed).")
    return jid
