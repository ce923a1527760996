"""The patron's holds in the OPAC: placing a hold from a title page (pickup library when the
library lets patrons choose, a copy or a volume when the rules allow or require it), and "my
holds" with each hold's position, status, pickup library and end date, where the patron cancels,
suspends (optionally until a date), resumes or changes the pickup library of one hold, or
suspends them all at once. Row actions answer with the row (htmx); without JavaScript the same
forms post and the page comes back."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import clock
from app.extensions import db
from app.models import Hold, HoldStatus, Item, Library, Patron, Title
from app.services import holds
from app.services.holds import describe
from app.services.settings import get_preference

from ..access import patron_required
from ..htmx import is_htmx
from . import bp


@bp.app_template_global("hold_badge")
def hold_badge(hold: Hold) -> str:
    return describe.badge_class(hold)


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong


class PlaceHoldForm(_Form):
    pickup = StringField("Pickup library", validators=[Optional(), Length(max=20)])
    volume = StringField("Volume", validators=[Optional(), Length(max=80)])
    copy = StringField("Copy", validators=[Optional(), Length(max=12)])
    not_needed_after = DateField("Not needed after", validators=[Optional()])


class SuspendForm(_Form):
    until = DateField("Resume on", validators=[Optional()])


class PickupForm(_Form):
    pickup = StringField("Pickup library", validators=[DataRequired(message="Choose a library."), Length(max=20)])


@dataclass(frozen=True)
class OpacHoldRules:
    """What the library lets patrons do with their holds online (read once per request)."""

    manage: bool
    suspend: bool
    resume_date: bool
    choose_pickup: bool

    @classmethod
    def load(cls) -> "OpacHoldRules":
        manage = bool(get_preference(db.session, "OPACHoldsManagement"))
        return cls(manage=manage, suspend=manage and bool(get_preference(db.session, "SuspendHoldsOpac")),
                   resume_date=bool(get_preference(db.session, "AutoResumeSuspendedHolds")),
                   choose_pickup=manage and bool(get_preference(db.session, "OPACAllowUserToChooseBranch")))


@dataclass
class HoldRow:
    hold: Hold
    position: int | None
    rules: OpacHoldRules
    message: str | None = None
    error: str | None = None

    @property
    def status_text(self) -> str:
        return describe.status_text(self.hold)

    @property
    def ends_on(self):
        return describe.expiry_date(self.hold)

    @property
    def live(self) -> bool:
        return self.hold.is_live

    @property
    def may_cancel(self) -> bool:
        return self.rules.manage and self.live and not self.hold.has_copy_in_hand

    @property
    def may_suspend(self) -> bool:
        return self.rules.suspend and self.hold.status in (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL)

    @property
    def may_resume(self) -> bool:
        return self.rules.manage and self.hold.status is HoldStatus.SUSPENDED

    @property
    def may_change_pickup(self) -> bool:
        return self.rules.choose_pickup and self.hold.status in (
            HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, HoldStatus.SUSPENDED)


def _my_holds_stmt(patron_id: int):
    return holds.scopes.for_patron(patron_id).options(
        joinedload(Hold.title), joinedload(Hold.pickup_library), joinedload(Hold.item))


def _my_hold(hold_id: int) -> Hold:
    """One of the logged-in patron's holds; another patron's is as if it did not exist."""
    hold = db.session.scalar(select(Hold).where(Hold.id == hold_id, Hold.patron_id == current_user.id)
                             .options(joinedload(Hold.title), joinedload(Hold.pickup_library)))
    return hold or abort(404)


def _rows(patron: Patron, rules: OpacHoldRules) -> list[HoldRow]:
    mine = list(db.session.scalars(_my_holds_stmt(patron.id)).unique())
    positions = holds.positions_for(db.session, [h.title_id for h in mine])
    return [HoldRow(hold, positions.get(hold.id), rules) for hold in mine]


ENDED_SHOWN_DAYS = 30


@dataclass(frozen=True)
class EndedRow:
    """A hold that ended lately, with how and when it ended."""

    hold: Hold
    text: str
    on: dt.date


def _ended_rows(patron: Patron) -> list[EndedRow]:
    since = clock.now() - dt.timedelta(days=ENDED_SHOWN_DAYS)
    ended = db.session.scalars(holds.scopes.ended_for_patron(patron.id, since)
                               .options(joinedload(Hold.title), selectinload(Hold.history)).limit(100))
    return [EndedRow(hold, describe.ended_text(hold), clock.local(hold.finished_at).date()) for hold in ended]


def _page_context(patron: Patron, *, message: str | None = None, error: str | None = None) -> dict:
    rules = OpacHoldRules.load()
    rows = _rows(patron, rules)
    return {"patron": patron, "rows": rows, "rules": rules, "message": message, "error": error,
            "ended": _ended_rows(patron), "ended_days": ENDED_SHOWN_DAYS,
            "any_suspended": any(row.hold.status is HoldStatus.SUSPENDED for row in rows),
            "pickup_libraries": holds.pickup_libraries(db.session)}


def _row(hold: Hold, *, message: str | None = None, error: str | None = None) -> HoldRow:
    return HoldRow(hold, holds.position_of(db.session, hold), OpacHoldRules.load(), message=message, error=error)


def _answer(hold: Hold, *, message: str | None = None, error: str | None = None):
    """The row for htmx; otherwise back to "my holds" with the message."""
    if is_htmx():
        return render_template("opac/_hold_row.html", row=_row(hold, message=message, error=error),
                               pickup_libraries=holds.pickup_libraries(db.session))
    flash(error or message or "", "error" if error else "success")
    return redirect(url_for("opac.my_holds"))


def _form_error(form: FlaskForm) -> str:
    return next(iter(e for errors in form.errors.values() for e in errors), "Check the form.")


# --- placing --------------------------------------------------------------------------------------

def _chosen_copy(form: PlaceHoldForm, title: Title) -> Item | None:
    raw = (form.copy.data or "").strip()
    if not raw.isdigit():
        return None
    item = db.session.get(Item, int(raw))
    return item if item is not None and item.title_id == title.id else None


def _place_page(title: Title, form: PlaceHoldForm, *, error: str | None = None, status: int = 200):
    options = holds.hold_options(db.session, current_user, title, channel="opac",
                                 pickup_library_code=form.pickup.data or None)
    return render_template("opac/place_hold.html", title=title, options=options, form=form, error=error), status


@bp.get("/titles/<int:title_id>/hold")
@patron_required
def place_hold_form(title_id: int):
    title = db.session.get(Title, title_id) or abort(404)
    return _place_page(title, PlaceHoldForm(formdata=None))


@bp.post("/titles/<int:title_id>/hold")
@patron_required
def place_hold(title_id: int):
    title = db.session.get(Title, title_id) or abort(404)
    form = PlaceHoldForm()
    if not form.validate():
        return _place_page(title, form, error=_form_error(form), status=400)
    try:
        hold = holds.place_hold(db.session, current_user, title, current_user, channel="opac",
                                pickup_library_code=form.pickup.data or None, item=_chosen_copy(form, title),
                                volume=(form.volume.data or "").strip() or None,
                                not_needed_after=form.not_needed_after.data)
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _place_page(title, form, error=refusal.message, status=409)
    position = holds.position_of(db.session, hold)
    db.session.commit()
    flash(f"Hold placed on {title.full_title}: you are number {position} in the queue.", "success")
    return redirect(url_for("opac.my_holds"))


# --- my holds -------------------------------------------------------------------------------------

@bp.get("/account/holds")
@patron_required
def my_holds():
    return render_template("opac/holds.html", **_page_context(current_user))


@bp.post("/account/holds/<int:hold_id>/cancel")
@patron_required
def cancel_hold(hold_id: int):
    hold = _my_hold(hold_id)
    try:
        holds.cancel_hold(db.session, hold, current_user, channel="opac")
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _answer(hold, error=refusal.message)
    db.session.commit()
    return _answer(hold, message=f"Your hold on {hold.title.full_title} is cancelled.")


@bp.post("/account/holds/<int:hold_id>/suspend")
@patron_required
def suspend_hold(hold_id: int):
    hold = _my_hold(hold_id)
    form = SuspendForm()
    if not form.validate():
        return _answer(hold, error=_form_error(form))
    try:
        holds.suspend_hold(db.session, hold, current_user, until=form.until.data, channel="opac")
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _answer(hold, error=refusal.message)
    db.session.commit()
    return _answer(hold, message="Suspended: your place in the queue is kept.")


@bp.post("/account/holds/<int:hold_id>/resume")
@patron_required
def resume_hold(hold_id: int):
    hold = _my_hold(hold_id)
    try:
        holds.resume_hold(db.session, hold, current_user, channel="opac")
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _answer(hold, error=refusal.message)
    db.session.commit()
    return _answer(hold, message="Resumed at your place in the queue.")


@bp.post("/account/holds/<int:hold_id>/pickup")
@patron_required
def change_pickup(hold_id: int):
    hold = _my_hold(hold_id)
    form = PickupForm()
    if not form.validate():
        return _answer(hold, error=_form_error(form))
    try:
        holds.change_pickup(db.session, hold, form.pickup.data, current_user, channel="opac")
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _answer(hold, error=refusal.message)
    db.session.commit()
    library = db.session.get(Library, hold.pickup_library_code)
    return _answer(hold, message=f"You will pick it up at {library.name if library else hold.pickup_library_code}.")


def _all_answer(*, message: str | None = None, error: str | None = None):
    if is_htmx():
        return render_template("opac/_holds_list.html", **_page_context(current_user, message=message, error=error))
    flash(error or message or "", "error" if error else "success")
    return redirect(url_for("opac.my_holds"))


@bp.post("/account/holds/suspend-all")
@patron_required
def suspend_all_holds():
    form = SuspendForm()
    if not form.validate():
        return _all_answer(error=_form_error(form))
    try:
        changed = holds.suspend_holds(db.session, current_user, current_user, until=form.until.data, channel="opac")
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _all_answer(error=refusal.message)
    db.session.commit()
    until = f" until {form.until.data.isoformat()}" if form.until.data else ""
    return _all_answer(message=f"{len(changed)} hold(s) suspended{until}. Holds already waiting for you are unchanged."
                       if changed else "You have no holds that can be suspended.")


@bp.post("/account/holds/resume-all")
@patron_required
def resume_all_holds():
    try:
        resumed = holds.resume_holds(db.session, current_user, current_user, channel="opac")
    except holds.HoldRefused as refusal:
        db.session.rollback()
        return _all_answer(error=refusal.message)
    db.session.commit()
    return _all_answer(message=f"{len(resumed)} hold(s) resumed at their place in the queue.")
