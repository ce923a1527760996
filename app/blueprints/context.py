"""Template helpers shared by every layout."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_login import current_user

from app import clock
from app.extensions import db
from app.services.settings import get_preference

# Every staff area, with the permission that opens it. Later areas fill their pages in.
STAFF_AREAS: tuple[tuple[str, str, str | None], ...] = (
    ("Home", "staff.home", None),
    ("Circulation", "circulation.desk", "circulate"),
    ("Patrons", "staff.patrons", "patrons"),
    ("Holds", "holds.index", "holds"),
    ("Tools", "tools.index", "import"),
    ("Offline circulation", "offline.index", "offline_circulation"),
    ("Privacy", "privacy.index", "privacy"),
    ("Administration", "admin.index", "administration"),
)


@dataclass(frozen=True)
class NavArea:
    label: str
    url: str
    active: bool


def _is_current_area(area_endpoint: str, current: str) -> bool:
    """An area is current on its own page and, for areas with a blueprint of their own, on
    every page of that blueprint (``staff.patrons`` also covers ``staff.patron_*``)."""
    if current == area_endpoint:
        return True
    blueprint = area_endpoint.split(".")[0]
    if blueprint != "staff":
        return current.startswith(blueprint + ".")
    return area_endpoint != "staff.home" and current.startswith(area_endpoint.rstrip("s") + "_")


def register_context(app: Flask) -> None:
    @app.template_filter("localdate")
    def _localdate(moment):
        if moment is None:
            return ""
        if hasattr(moment, "tzinfo"):
            return clock.local(moment).date().isoformat()
        return moment.isoformat()

    @app.template_filter("localtime")
    def _localtime(moment):
        return "" if moment is None else clock.local(moment).strftime("%Y-%m-%d %H:%M")

    @app.context_processor
    def _helpers():
        def library_name() -> str:
            return get_preference(db.session, "LibraryName")

        def staff_areas() -> list[NavArea]:
            areas = []
            for label, endpoint, permission in STAFF_AREAS:
                if permission and not (current_user.is_authenticated and current_user.has_permission(permission)):
                    continue
                url = url_for(endpoint)
                active = _is_current_area(endpoint, request.endpoint or "")
                areas.append(NavArea(label, url, active))
            return areas

        return {"library_name": library_name, "staff_areas": staff_areas}
