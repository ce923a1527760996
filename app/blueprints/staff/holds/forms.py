"""Forms of the staff holds pages. CSRF is checked for every POST by the app-wide CSRFProtect
(htmx sends the token in a header, plain forms in a hidden field), so these only parse."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

# The page a row action came from decides what comes back.
PLACES = ("title", "patron", "detail")


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong


class RowForm(_Form):
    """Any action from a hold's row or its detail page."""

    where = HiddenField(validators=[Optional()])
    reason = StringField("Reason", validators=[Optional(), Length(max=80)])
    until = DateField("Resume on", validators=[Optional()])

    @property
    def place(self) -> str:
        return self.where.data if self.where.data in PLACES else "title"


class MoveForm(RowForm):
    to = StringField(validators=[Optional(), Length(max=10)])
    position = IntegerField("Position", validators=[Optional(), NumberRange(min=1, max=1_000_000)])
    expected_position = IntegerField(validators=[Optional(), NumberRange(min=1, max=1_000_000)])


class PickupForm(RowForm):
    pickup = StringField("Pickup library", validators=[DataRequired(message="Choose a library."), Length(max=20)])


class LowestPriorityForm(RowForm):
    pinned = BooleanField("Lowest priority")


class PlaceHoldForm(_Form):
    title_id = IntegerField(validators=[DataRequired(message="Choose a title.")])
    pickup = StringField("Pickup library", validators=[Optional(), Length(max=20)])
    volume = StringField("Volume", validators=[Optional(), Length(max=80)])
    copy = StringField("Copy", validators=[Optional(), Length(max=12)])
    not_needed_after = DateField("Not needed after", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=1000)])
    override = BooleanField("Place it anyway (override the rules)")
