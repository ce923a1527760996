"""Factories for test data. Each call flushes; tests commit when a view or thread must see it."""
from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy.orm import Session

from app import clock
from app.models import (
    Item,
    ItemType,
    Library,
    Patron,
    PatronCategory,
    Permission,
    StaffPermission,
    Title,
)
from app.models.patron import CategoryType
from app.services.passwords import hash_password

_seq = itertools.count(1)
_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


class Factory:
    def __init__(self, session: Session):
        self.session = session

    def _add(self, obj):
        self.session.add(obj)
        self.session.flush()
        return obj

    def library(self, code: str | None = None, **kw) -> Library:
        code = code or f"L{next(_seq)}"
        existing = self.session.get(Library, code)
        if existing:
            return existing
        return self._add(Library(code=code, name=kw.pop("name", f"Library {code}"), **kw))

    def category(self, code: str = "PT", **kw) -> PatronCategory:
        existing = self.session.get(PatronCategory, code)
        if existing:
            return existing
        kw.setdefault("category_type", CategoryType.STAFF if code == "ST" else CategoryType.ADULT)
        return self._add(PatronCategory(code=code, description=kw.pop("description", f"Category {code}"), **kw))

    def item_type(self, code: str = "BK", **kw) -> ItemType:
        existing = self.session.get(ItemType, code)
        if existing:
            return existing
        return self._add(ItemType(code=code, description=kw.pop("description", f"Type {code}"), **kw))

    def patron(self, *, password: str | None = "secret", library: str = "CPL", category: str = "PT",
               permissions: tuple[str, ...] = (), **kw) -> Patron:
        n = next(_seq)
        self.library(library)
        self.category(category)
        patron = Patron(
            cardnumber=kw.pop("cardnumber", f"2000{n:08d}"),
            userid=kw.pop("userid", f"user{n}"),
            surname=kw.pop("surname", f"Surname{n}"),
            firstname=kw.pop("firstname", f"First{n}"),
            library_code=library,
            category_code=category,
            dateenrolled=kw.pop("dateenrolled", clock.today()),
            dateexpiry=kw.pop("dateexpiry", clock.today() + dt.timedelta(days=365)),
            password_hash=_hash(password) if password else None,
            **kw,
        )
        for permission in permissions:
            patron.permissions.append(StaffPermission(permission=Permission(permission)))
        return self._add(patron)

    def staff(self, *permissions: str, **kw) -> Patron:
        kw.setdefault("category", "ST")
        return self.patron(permissions=permissions or ("superlibrarian",), **kw)

    def title(self, **kw) -> Title:
        n = next(_seq)
        return self._add(Title(title=kw.pop("title", f"Title {n}"), author=kw.pop("author", f"Author {n}"), **kw))

    def item(self, title: Title | None = None, *, library: str = "CPL", item_type: str = "BK", **kw) -> Item:
        n = next(_seq)
        title = title or self.title()
        self.library(library)
        self.item_type(item_type)
        return self._add(Item(
            barcode=kw.pop("barcode", f"3000{n:08d}"), title_id=title.id, home_library_code=library,
            holding_library_code=kw.pop("holding_library", library), item_type_code=item_type, **kw))
