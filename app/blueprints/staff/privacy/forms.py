"""Privacy page forms. CSRF is checked for every POST by the app-wide CSRFProtect, so these
forms only parse and validate; the dry-run form is a GET (a search, bookmarkable)."""
from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectMultipleField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app import clock
from app.services.privacy import PurgeCriteria


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:  # unknown codes are reported by the criteria check
        pass


class CriteriaForm(_Form):
    """Who to consider: inactive since a date, optionally only some categories and libraries."""

    inactive_since = DateField("Inactive since", validators=[DataRequired(message="Give a date (YYYY-MM-DD).")])
    categories = _Checkboxes("Only these patron categories (none ticked: all)")
    libraries = _Checkboxes("Only patrons of these libraries (none ticked: all)")

    def validate_inactive_since(self, field) -> None:
        if field.data is not None and field.data >= clock.today():
            raise ValidationError("The date must be in the past.")

    def criteria(self) -> PurgeCriteria:
        return PurgeCriteria(self.inactive_since.data, tuple(self.categories.data or ()), tuple(self.libraries.data or ()))


class ConfirmPurgeForm(_Form):
    """The dry run's criteria, carried to the purge unchanged."""

    inactive_since = HiddenField(validators=[DataRequired()])
    categories = HiddenField()
    libraries = HiddenField()

    def criteria(self) -> PurgeCriteria | None:
        try:
            since = dt.date.fromisoformat(self.inactive_since.data or "")
        except ValueError:
            return None
        split = lambda text: tuple(c for c in (text or "").split(",") if c.strip())  # noqa: E731
        return PurgeCriteria(since, split(self.categories.data), split(self.libraries.data))

    @classmethod
    def carrying(cls, criteria: PurgeCriteria) -> "ConfirmPurgeForm":
        form = cls(formdata=None)
        form.inactive_since.data = criteria.inactive_since.isoformat()
        form.categories.data = ",".join(criteria.categories)
        form.libraries.data = ",".join(criteria.libraries)
        return form
