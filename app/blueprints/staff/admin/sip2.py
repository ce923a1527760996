"""SIP2 institutions and kiosk accounts (a full editor).

Account passwords are hashed by the service; a blank password on the edit form keeps the old
one. A kiosk picks up changes to its account at its next login; institution policies reach it
with its next SC status (99)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.extensions import db
from app.models import Library, Patron, SipAccount, SipInstitution
from app.services.sip_accounts import (
    ENCODINGS,
    PATRON_FIELDS,
    SipSettingRefused,
    delete_account,
    delete_institution,
    save_account,
    save_institution,
)

from ...access import staff_required
from . import bp


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong


class InstitutionForm(_Form):
    id = StringField("Institution id (AO)", validators=[Optional(), Length(max=20)])
    name = StringField("Name", validators=[InputRequired(message="Give the institution a name."), Length(max=200)])
    checkin_ok = BooleanField("Kiosks may check items in")
    checkout_ok = BooleanField("Kiosks may check items out")
    renewal_ok = BooleanField("Kiosks may renew")
    status_update_ok = BooleanField("Kiosks may block and enable cards (status update)")
    offline_ok = BooleanField("Kiosks may work offline (store and forward)")
    timeout_period = IntegerField("Timeout (tenths of a second, 3 digits)", default=100,
                                  validators=[InputRequired(), NumberRange(0, 999)])
    retries_allowed = IntegerField("Retries allowed", default=5, validators=[InputRequired(), NumberRange(0, 999)])


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccountForm(_Form):
    login = StringField("Login (CN)", validators=[InputRequired(message="Give the account a login."), Length(max=80)])
    password = PasswordField("Password (CO)", validators=[Optional(), Length(max=200)],
                             description="Blank keeps the current password.")
    institution_id = SelectField("Institution", choices=[])
    library_code = SelectField("Library transactions count for", choices=[])
    actor = StringField("Acts as staff user", validators=[Optional(), Length(max=75)],
                        description="User id or card number of the staff member recorded for its transactions.")
    enabled = BooleanField("Enabled", default=True)
    error_detection = BooleanField("Error detection: every message carries a sequence number and checksum")
    terminator = SelectField("Terminator sent", choices=[SelectChoice("CR", "CR"), SelectChoice("CRLF", "CR LF")])
    delimiter = StringField("Field delimiter", default="|", validators=[InputRequired(), Length(min=1, max=1)])
    encoding = SelectField("Character set", choices=[SelectChoice(e, e) for e in ENCODINGS])
    supports_magnetic_media = BooleanField("Report magnetic media", default=True)
    supports_security_inhibit = BooleanField("Send security inhibit")
    supports_offline = BooleanField("Offline operation")
    checked_in_ok = BooleanField("Checking in an item that is not on loan counts as success")
    holds_block_checkin = BooleanField("Items with holds cannot be checked in at the kiosk")
    allow_empty_pin = BooleanField("An empty patron PIN is valid")
    hidden_fields = MultiCheckbox("Patron fields never sent",
                                  choices=[SelectChoice(code, f"{label} ({code})") for code, label in PATRON_FIELDS.items()])
    allowed_addresses = TextAreaField("Allowed client addresses", validators=[Optional(), Length(max=2000)],
                                      description="IP addresses or networks (192.168.10.0/24), comma or line "
                                                  "separated; empty means any.")


def _institution_values(form: InstitutionForm) -> dict:
    return {name: getattr(form, name).data for name in (
        "name", "checkin_ok", "checkout_ok", "renewal_ok", "status_update_ok", "offline_ok", "timeout_period",
        "retries_allowed")}


def _staff_by_login(login: str) -> Patron | None:
    return db.session.scalar(select(Patron).where((Patron.userid == login) | (Patron.cardnumber == login)))


def _choices(form: AccountForm) -> None:
    form.institution_id.choices = [SelectChoice(i.id, f"{i.id} – {i.name}") for i in
                                   db.session.scalars(select(SipInstitution).order_by(SipInstitution.id))]
    form.library_code.choices = [SelectChoice(lib.code, f"{lib.code} – {lib.name}") for lib in
                                 db.session.scalars(select(Library).order_by(Library.code))]


@bp.get("/sip2")
@staff_required("administration")
def sip2_accounts():
    institutions = db.session.scalars(select(SipInstitution).order_by(SipInstitution.id)).all()
    accounts = db.session.scalars(select(SipAccount).order_by(SipAccount.login)).all()
    return render_template("staff/admin/sip2_accounts.html", institutions=institutions, accounts=accounts,
                           patron_fields=PATRON_FIELDS)


@bp.route("/sip2/institutions/new", methods=["GET", "POST"], endpoint="sip2_institution_new")
@bp.route("/sip2/institutions/<code>", methods=["GET", "POST"])
@staff_required("administration")
def sip2_institution(code: str | None = None):
    institution = db.session.get(SipInstitution, code) if code is not None else None
    if code is not None and institution is None:
        abort(404)
    form = InstitutionForm(obj=institution)
    if form.validate_on_submit():
        try:
            saved = save_institution(db.session, institution, _institution_values(form), actor_id=current_user.id,
                                     new_id=form.id.data)
        except SipSettingRefused as refusal:
            getattr(form, refusal.field).errors = [str(refusal)]
        else:
            db.session.commit()
            flash(f"Institution {saved.id} saved.", "success")
            return redirect(url_for("admin.sip2_accounts"))
    return render_template("staff/admin/sip2_institution.html", form=form, institution=institution)


@bp.post("/sip2/institutions/<code>/delete")
@staff_required("administration")
def sip2_institution_delete(code: str):
    institution = db.session.get(SipInstitution, code) or abort(404)
    try:
        delete_institution(db.session, institution, actor_id=current_user.id)
    except SipSettingRefused as refusal:
        db.session.rollback()
        flash(f"Institution {code} not deleted: {refusal}", "error")
    else:
        db.session.commit()
        flash(f"Institution {code} deleted.", "success")
    return redirect(url_for("admin.sip2_accounts"))


@bp.route("/sip2/accounts/new", methods=["GET", "POST"], endpoint="sip2_account_new")
@bp.route("/sip2/accounts/<int:account_id>", methods=["GET", "POST"])
@staff_required("administration")
def sip2_account(account_id: int | None = None):
    account = db.session.get(SipAccount, account_id) if account_id is not None else None
    if account_id is not None and account is None:
        abort(404)
    form = AccountForm(obj=account)
    _choices(form)
    if account is not None and not form.is_submitted():
        form.hidden_fields.data = sorted(account.hidden_field_codes & set(PATRON_FIELDS))
        actor = db.session.get(Patron, account.actor_id) if account.actor_id else None
        form.actor.data = (actor.userid or actor.cardnumber) if actor else ""
    elif account is None and not form.is_submitted():
        form.hidden_fields.data = ["BD", "BE", "BF", "PB"]
    if form.validate_on_submit():
        actor = _staff_by_login(form.actor.data.strip()) if form.actor.data and form.actor.data.strip() else None
        if form.actor.data and form.actor.data.strip() and (actor is None or not actor.is_staff):
            form.actor.errors = ["No staff member has that user id or card number."]
        else:
            values = {name: getattr(form, name).data for name in (
                "login", "institution_id", "library_code", "enabled", "error_detection", "terminator", "delimiter",
                "encoding", "supports_magnetic_media", "supports_security_inhibit", "supports_offline",
                "checked_in_ok", "holds_block_checkin", "allow_empty_pin", "allowed_addresses")}
            values["hidden_fields"] = ",".join(code for code in PATRON_FIELDS if code in (form.hidden_fields.data or []))
            values["actor_id"] = actor.id if actor else None
            try:
                saved = save_account(db.session, account, values, password=form.password.data or None,
                                     actor_id=current_user.id)
            except SipSettingRefused as refusal:
                getattr(form, refusal.field).errors = [str(refusal)]
            else:
                db.session.commit()
                flash(f"Account {saved.login} saved. Kiosks using it pick up the change at their next login.",
                      "success")
                return redirect(url_for("admin.sip2_accounts"))
    return render_template("staff/admin/sip2_account.html", form=form, account=account)


@bp.post("/sip2/accounts/<int:account_id>/delete")
@staff_required("administration")
def sip2_account_delete(account_id: int):
    account = db.session.get(SipAccount, account_id) or abort(404)
    login = account.login
    delete_account(db.session, account, actor_id=current_user.id)
    db.session.commit()
    flash(f"Account {login} deleted.", "success")
    return redirect(url_for("admin.sip2_accounts"))

