"""What one desk scan costs, counted rather than timed (reliable on a busy machine): SQL
statements, transactions and process CPU per check-out and per check-in through the desk's htmx
endpoints, one librarian in process (Flask's test client), on a seeded database.

Figures (``BENCH <name> <value> <unit>``):
  desk_checkout_statements, desk_checkin_statements   statements sent per scan (SQLite's BEGIN counted)
  desk_checkout_transactions, desk_checkin_transactions   transactions begun per scan
  desk_checkout_cpu_ms, desk_checkin_cpu_ms           process CPU per scan, test client included

Registered as ``desk_statements``; or alone: ``python -m bench.desk_statements --url URL``. The
setup is bench/desk.py's (it writes bench staff, a bench patron category and its rules)."""
from __future__ import annotations

import re
import sys
import time
from typing import Callable, Iterator

from sqlalchemy import event

from . import Figure, registered
from .desk import CSRF, STAFF_PASSWORD, prepare

ITEMS = 30  # scans of each kind; the patron holds up to this many loans meanwhile
FORM_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def run_all(app, log: Callable[[str], None]) -> Iterator[Figure]:
    from app.extensions import db

    plan = prepare(app, 1, ITEMS)[0]
    client = app.test_client()
    login = client.get("/staff/login").get_data(as_text=True)
    token = (FORM_CSRF.search(login) or CSRF.search(login)).group(1)
    client.post("/staff/login", data={"login": plan.login, "password": STAFF_PASSWORD, "csrf_token": token})
    token = CSRF.search(client.get(f"/staff/circulation/?patron_id={plan.patron_id}").get_data(as_text=True)).group(1)
    headers = {"HX-Request": "true", "X-CSRFToken": token}

    def check_out(barcode: str) -> bool:
        answer = client.post(f"/staff/circulation/patrons/{plan.patron_id}/checkout", data={"barcode": barcode},
                             headers=headers)
        return answer.status_code == 200 and 'class="loan' in answer.get_data(as_text=True)

    def check_in(barcode: str) -> bool:
        answer = client.post("/staff/circulation/checkin", data={"barcode": barcode}, headers=headers)
        return answer.status_code == 200 and "Checked in" in answer.get_data(as_text=True)

    for barcode in plan.items[:2]:  # warm-up: compiled statements, the policy copy
        check_out(barcode)
        check_in(barcode)
    counts = {"statements": 0, "transactions": 0}

    def statement(*_args) -> None:
        counts["statements"] += 1

    def begin(_conn) -> None:
        counts["transactions"] += 1

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "begin", begin)
    try:
        for name, scan in (("checkout", check_out), ("checkin", check_in)):
            counts.update(statements=0, transactions=0)
            started = time.process_time()
            failed = sum(not scan(barcode) for barcode in plan.items)
            cpu_ms = (time.process_time() - started) * 1000 / len(plan.items)
            if failed:
                raise SystemExit(f"desk_statements: {failed} {name} scans failed")
            yield f"desk_{name}_statements", counts["statements"] / len(plan.items), "statements"
            yield f"desk_{name}_transactions", counts["transactions"] / len(plan.items), "transactions"
            yield f"desk_{name}_cpu_ms", cpu_ms, "ms"
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "begin", begin)
    log(f"desk_statements: {len(plan.items)} check-outs then {len(plan.items)} check-ins by one librarian in process")


main = registered("desk_statements", __doc__, run_all)


if __name__ == "__main__":
    sys.exit(main())
