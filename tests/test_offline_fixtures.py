"""Fixtures shared by the offline circulation tests (this module holds no tests itself): the
circulation desk of ``test_circulation_fixtures`` plus helpers that write .koc lines, upload
them and process the queue."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import AccountLine, Loan, LoanHistory, PendingOfflineOperation
from app.services.offline import KocUpload, koc_header, process_offline_operations, upload_koc
from app.services.offline.koc import format_timestamp
from app.services.offline.processing import ProcessingSummary

from .test_circulation_fixtures import MONDAY, Desk, desk, frozen  # noqa: F401

EARLY = MONDAY - dt.timedelta(hours=2)  # 08:00 on the frozen Monday: offline actions happen before "now"


def at(minutes: float) -> dt.datetime:
    """``minutes`` after 08:00 on the frozen Monday."""
    return EARLY + dt.timedelta(minutes=minutes)


def issue(moment: dt.datetime, card: str, barcode: str) -> str:
    return f"{format_timestamp(moment)}\tissue\t{card}\t{barcode}"


def ret(moment: dt.datetime, barcode: str) -> str:
    return f"{format_timestamp(moment)}\treturn\t{barcode}"


def payment(moment: dt.datetime, card: str, amount: str) -> str:
    return f"{format_timestamp(moment)}\tpayment\t{card}\t{amount}"


def koc_text(*lines: str) -> str:
    return "\n".join([koc_header("kocDesktop", "2.4.0"), *lines]) + "\n"


@dataclass
class Offline:
    desk: Desk

    @property
    def session(self):
        return self.desk.session

    def upload(self, *lines: str, source: str = "desk1.koc", apply: bool = False) -> KocUpload:
        return upload_koc(self.session, koc_text(*lines), source, apply=apply, uploaded_by=self.desk.librarian,
                          library_code="CPL")

    def process(self, **kw) -> ProcessingSummary:
        return process_offline_operations(self.session, self.desk.librarian, **kw)

    def operations(self) -> list[PendingOfflineOperation]:
        return list(self.session.scalars(select(PendingOfflineOperation).order_by(PendingOfflineOperation.id)))

    def by_barcode(self, barcode: str) -> list[PendingOfflineOperation]:
        return [op for op in self.operations() if op.barcode == barcode]

    def counts(self) -> dict[str, object]:
        """Everything an action could change, to prove a second go changed nothing."""
        s = self.session
        return {
            "loans": s.scalar(select(func.count()).select_from(Loan)),
            "history": s.scalar(select(func.count()).select_from(LoanHistory)),
            "renewals": s.scalar(select(func.coalesce(func.sum(Loan.renewals_count), 0))),
            "account_lines": s.scalar(select(func.count()).select_from(AccountLine)),
            "balance": Decimal(s.scalar(select(func.coalesce(func.sum(AccountLine.amount_outstanding), 0))) or 0),
            "operations": s.scalar(select(func.count()).select_from(PendingOfflineOperation)),
        }


@pytest.fixture
def offline(desk) -> Offline:
    return Offline(desk)
