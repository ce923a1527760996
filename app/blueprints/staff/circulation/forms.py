"""Desk forms. CSRF is checked for every POST by the app-wide CSRFProtect (htmx sends the token
in a header, plain forms in a hidden field), so these forms only parse and validate."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

CONTEXTS = ("desk", "patron")


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong


class BarcodeForm(_Form):
    barcode = StringField("Item barcode", validators=[DataRequired(message="Scan or type a barcode."), Length(max=40)])


class CheckoutForm(BarcodeForm):
    renew = BooleanField("Renew if already on loan to this patron")
    # Confirmation codes staff agreed to arrive as repeated "confirm" fields; the service
    # ignores any that are not its own codes.


class RowActionForm(_Form):
    """Renew or check in from a loan row: which page the row sits on decides what comes back."""

    context = HiddenField(validators=[Optional()])

    @property
    def where(self) -> str:
        return self.context.data if self.context.data in CONTEXTS else "desk"


class PaymentForm(_Form):
    amount = StringField("Amount", validators=[DataRequired(message="Enter an amount."), Length(max=20)])
    payment_type = SelectField("Paid by", default="cash", choices=[
        SelectChoice("cash", "Cash"), SelectChoice("card", "Card"), SelectChoice("other", "Other")])
    note = StringField("Note", validators=[Optional(), Length(max=255)])


class FeeForm(_Form):
    amount = StringField("Amount", validators=[DataRequired(message="Enter an amount."), Length(max=20)])
    description = StringField("What for", validators=[DataRequired(message="Say what the fee is for."), Length(max=255)])


class WriteOffForm(_Form):
    note = StringField("Note", validators=[Optional(), Length(max=255)])
    # The debits chosen arrive as repeated "debit" fields (none chosen: all outstanding).
