"""Offline circulation: the landing page, the built-in offline page (cached by a service
worker, so it opens with the server unreachable), the data it synchronises, the upload of its
transactions, .koc uploads, the pending actions and the desktop tool's patron file.

With ``AllowOfflineCirculation`` off, the pages that collect offline work (the built-in page,
synchronising, uploads, the patron file) say so instead; the pending actions stay reachable,
so actions recorded before it was turned off are never stranded."""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from flask import Blueprint, Response, jsonify, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app import clock
from app.extensions import db
from app.services import offline
from app.services.audit import record_audit
from app.services.offline.sync import KINDS, PAGE_SIZE, PAGES, sync_totals
from app.services.offline.transactions import MAX_PER_UPLOAD
from app.services.settings import get_preference

from ...access import public, staff_required

bp = Blueprint("offline", __name__)

DISABLED = "Offline circulation is turned off (system preference AllowOfflineCirculation)."
STATIC = Path(__file__).resolve().parents[3] / "static"
CACHED_STATIC = ("vendor/htmx-2.0.11.min.js", "carrel.js", "carrel.css", "offline/store.js", "offline/offline.js",
                 "offline/offline.css")


def offline_enabled() -> bool:
    return bool(get_preference(db.session, "AllowOfflineCirculation"))


def disabled_page():
    return render_template("staff/offline/disabled.html", message=DISABLED)


def disabled_json(status: int = 404):
    return jsonify(error=DISABLED), status


@bp.get("/")
@staff_required("offline_circulation")
def index():
    """Circulation > Offline circulation: what there is, and how much is waiting."""
    return render_template("staff/offline/index.html", enabled=offline_enabled(),
                           counts=offline.status_counts(db.session))


@bp.get("/page")
@staff_required("offline_circulation")
def page():
    """The built-in offline page: everything happens in the browser (static/offline/offline.js)."""
    if not offline_enabled():
        return disabled_page()
    return render_template("staff/offline/page.html", kinds=KINDS)


def _cached_urls() -> list[str]:
    return [url_for(".page")] + [url_for("static", filename=name) for name in CACHED_STATIC]


def _version(urls: list[str]) -> str:
    """Changes whenever a cached file does, so the browser installs the new worker."""
    digest = hashlib.sha256("|".join(urls).encode())
    for name in CACHED_STATIC + ("offline/sw.js",):
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, served under /staff/offline/ so its scope covers the offline page.
    Public: it is a static script with no data (a worker update must not need a live login)."""
    urls = _cached_urls()
    head = f"self.CARREL_OFFLINE = {{version: {_version(urls)!r}, urls: {urls!r}}};\n".replace("'", '"')
    body = head + (STATIC / "offline" / "sw.js").read_text()
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for(".index")
    return response


@bp.get("/token")
@staff_required("offline_circulation")
def token():
    """A fresh CSRF token (and who is logged in) for an upload after a long time offline."""
    response = jsonify(csrf_token=generate_csrf(), user=current_user.userid, library=current_user.library_code)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sync/<kind>")
@staff_required("offline_circulation")
def sync(kind: str):
    """One page of patrons, items or loans (``after`` the last id of the previous page)."""
    if not offline_enabled():
        return disabled_json()
    if kind == "totals":
        return jsonify(totals=sync_totals(db.session), page_size=PAGE_SIZE, at=clock.now().isoformat())
    if kind not in PAGES:
        return jsonify(error=f"nothing to synchronise called {kind!r}"), 404
    after = request.args.get("after", 0, type=int) or 0
    limit = request.args.get("limit", PAGE_SIZE, type=int) or PAGE_SIZE
    response = jsonify(PAGES[kind](db.session, after, limit).as_json(kind))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/transactions")
@staff_required("offline_circulation")
def upload_transactions():
    """The built-in page's transactions, as JSON: each answered queued, duplicate (a re-send)
    or refused with the reason. They wait in the pending queue for staff to process."""
    if not offline_enabled():
        return disabled_json(409)
    payload = request.get_json(silent=True)
    items = payload.get("transactions") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return jsonify(error='send {"transactions": [...]} as JSON'), 400
    if len(items) > MAX_PER_UPLOAD:
        return jsonify(error=f"send at most {MAX_PER_UPLOAD} transactions at a time"), 413
    good, refused = offline.read_transactions(items)
    queued = offline.enqueue_offline_operations(db.session, [t.record for t in good], uploaded_by=current_user,
                                                library_code=current_user.library_code)
    db.session.commit()
    results = [{"id": t.id, "status": status} for t, status in zip(good, queued.statuses)]
    results += [{"id": r.id, "status": "refused", "reason": r.reason} for r in refused]
    return jsonify(results=results, queued=len(queued.added), duplicates=queued.duplicates, refused=len(refused))


@bp.get("/patron-file")
@staff_required("offline_circulation")
def patron_file():
    """The desktop tool's patron file (borrowers.db), built now."""
    if not offline_enabled():
        return disabled_page()
    with tempfile.TemporaryDirectory(prefix="carrel-borrowers-") as folder:
        path = Path(folder) / "borrowers.db"
        summary = offline.write_patron_file(db.session, path)
        stream = path.open("rb")  # still readable once the folder is gone (POSIX): nothing left behind
    record_audit(db.session, actor_id=current_user.id, channel="staff", module="OFFLINE", action="PATRON_FILE",
                 info={"patrons": summary.patrons, "loans": summary.loans})
    db.session.commit()
    return send_file(stream, mimetype="application/vnd.sqlite3", as_attachment=True, download_name="borrowers.db")


from . import pending, uploads  # noqa: E402,F401  (the pending actions; .koc uploads)
