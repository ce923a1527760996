"""Offline forms. CSRF is checked for every POST by the app-wide CSRFProtect, so these only
parse and validate."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

MAX_KOC_BYTES = 20 * 1024 * 1024  # ~300,000 lines: far more than a day's outage


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already refused the request if the token was wrong


class KocUploadForm(_Form):
    koc = FileField("Offline circulation file (.koc)", validators=[FileRequired(message="Choose a .koc file.")])
    mode = RadioField("Then", default="queue", choices=[
        SelectChoice("queue", "Add to the pending queue (review, then process)"),
        SelectChoice("apply", "Apply directly (each action is still listed with its outcome)")])
