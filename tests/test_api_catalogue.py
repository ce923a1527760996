"""REST API catalogue reads in Koha's shape: items by barcode (external_id) or biblio, one item,
one biblio, libraries, patron categories."""
from __future__ import annotations

from .test_api_auth import api, headers  # noqa: F401  (fixtures)


def test_items_biblios_libraries_and_categories(client, headers, make, session):
    title = make.title(title="Earthsea", author="Le Guin", isbn="9780000000001")
    first = make.item(title, barcode="3999-1", callnumber="F LEG")
    make.item(title, barcode="3999-2")
    make.item(barcode="4000-1")
    session.commit()
    found = client.get("/api/v1/items?external_id=3999-1&_match=exact", headers=headers).get_json()
    assert [i["item_id"] for i in found] == [first.id]
    assert found[0]["biblio_id"] == title.id and found[0]["callnumber"] == "F LEG"
    by_biblio = client.get(f"/api/v1/items?biblio_id={title.id}", headers=headers)
    assert by_biblio.headers["X-Total-Count"] == "2"
    assert client.get(f"/api/v1/items/{first.id}", headers=headers).get_json()["external_id"] == "3999-1"
    assert client.get("/api/v1/items/999999", headers=headers).status_code == 404
    biblio = client.get(f"/api/v1/biblios/{title.id}", headers=headers).get_json()
    assert (biblio["title"], biblio["author"], biblio["isbn"]) == ("Earthsea", "Le Guin", "9780000000001")
    assert client.get("/api/v1/biblios/999999", headers=headers).status_code == 404
    libraries = client.get("/api/v1/libraries", headers=headers).get_json()
    assert {"CPL", "MPL"} <= {lib["library_id"] for lib in libraries}
    categories = client.get("/api/v1/patron_categories", headers=headers).get_json()
    assert {"PT", "ST"} <= {c["patron_category_id"] for c in categories}
