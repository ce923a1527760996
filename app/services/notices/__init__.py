"""Notices (Koha's notices and slips): events render a staff-editable template for the patron
and queue it in their own transaction; a scheduled sender delivers the queue by SMTP after the
commit, with retries; patrons choose which messages they get by email.

- ``events``: the events (Koha's letter codes) and the patron-selectable kinds of message;
- ``sandbox``: the placeholder language (Jinja2 sandbox, allowed fields only); ``fields`` builds
  the values from the models; ``templates``: shipped defaults, saved templates, preview;
- ``queueing``: queue a notice, the hold hooks, resend, printed slips; ``scheduled``: reminders,
  due soon, overdue; ``receipts``: the desk receipt; ``sending``: the sender;
- ``preferences``: messaging preferences and category defaults."""
from .queueing import (  # noqa: F401
    hold_cancelled,
    hold_ready,
    mark_printed,
    patron_notices,
    queue_notice,
    queue_welcome_notices,
    resend_notice,
    slips_to_print,
)
