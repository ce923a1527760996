"""The patron's own privacy choice for their loan history, when the library allows it
(``OPACPrivacy``): keep it forever, keep it for the library's retention period, or never keep it
(choosing that anonymises what is already kept)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app.extensions import db
from app.models import Privacy
from app.services.privacy import set_privacy
from app.services.settings import get_preference

from ..access import patron_required
from . import bp

CHOICES = [
    SelectChoice(Privacy.KEEP_FOREVER.value, "Keep my reading history"),
    SelectChoice(Privacy.DEFAULT.value, "Keep it for the library's usual period, then anonymise it"),
    SelectChoice(Privacy.NEVER_KEEP.value, "Never keep it: anonymise each loan when I return it"),
]


class PrivacyForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong

    privacy = RadioField("What should the library keep of your loans?", choices=CHOICES,
                         validators=[InputRequired(message="Choose one.")])


def _allowed() -> None:
    if not get_preference(db.session, "OPACPrivacy"):
        abort(404)


@bp.get("/account/privacy")
@patron_required
def privacy():
    _allowed()
    form = PrivacyForm(data={"privacy": current_user.privacy.value})
    return render_template("opac/privacy.html", form=form, patron=current_user)


@bp.post("/account/privacy")
@patron_required
def set_privacy_choice():
    _allowed()
    form = PrivacyForm()
    if not form.validate():
        return render_template("opac/privacy.html", form=form, patron=current_user), 400
    result = set_privacy(db.session, current_user, form.privacy.data, actor_id=current_user.id, channel="opac")
    db.session.commit()
    message = "Your choice is saved."
    if result.total:
        message += f" {result.loans} past loan(s) and {result.holds} finished hold(s) are no longer linked to you."
    flash(message, "success")
    return redirect(url_for("opac.privacy"))
