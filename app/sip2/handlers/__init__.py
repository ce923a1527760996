"""The SIP2 handlers: one function per request, each taking the message's ``Ils`` (the ILS side
of one message) and returning the response. ``install`` routes them on a dispatcher; each
route says whether its unit of work writes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from . import circulation, fees, holds, items, patron

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as DbSession

    from ..codec import Message
    from ..dispatch import Dispatcher, Response
    from ..ils import Ils
    from ..session import Session

# code, handler, writes
ROUTES: tuple[tuple[str, Callable[["Ils"], "Response"], bool], ...] = (
    ("23", patron.patron_status, False),
    ("63", patron.patron_information, False),
    ("01", patron.block_patron, True),
    ("25", patron.patron_enable, True),
    ("35", patron.end_patron_session, False),
    ("11", circulation.checkout, True),
    ("09", circulation.checkin, True),
    ("29", circulation.renew, True),
    ("65", circulation.renew_all, True),
    ("15", holds.hold, True),
    ("37", fees.fee_paid, True),
    ("17", items.item_information, False),
    ("19", items.item_status_update, True),
)


def install(dispatcher: "Dispatcher") -> None:
    """Route every request on ``dispatcher``, with its PIN guard and settings."""
    from ..ils import Ils

    def bind(handler: Callable[[Ils], "Response"]):
        def run(session: "Session", request: "Message", db_session: "DbSession") -> "Response":
            ils = Ils(session, request, db_session, dispatcher.pins, dispatcher.settings)
            response = handler(ils)
            ils.release_claims()
            return response

        run.__name__ = run.__qualname__ = handler.__name__
        return run

    for code, handler, writes in ROUTES:
        dispatcher.route(code, bind(handler), writes=writes)
