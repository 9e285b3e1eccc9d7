"""What a service declares about its body and its answers, as the registry keeps it."""

from __future__ import annotations

import pytest

from baobab.asgi.scope import view_of
from baobab.config.declarations import ServiceInfo
from baobab.config.registry import Registry
from baobab.content.interfaces import IFolderish, IResource
from baobab.errors import RegistrationConflict
from baobab.request import Request, Response


def handler(request: Request) -> Response:
    return Response()


def info(
    name: str, *, method: str = "POST", context: object = IResource, **kw: object
) -> ServiceInfo:
    return ServiceInfo(
        handler=handler,
        method=method,
        name=name,
        context=context,
        permission="x.P",
        **kw,  # type: ignore[arg-type]
    )


def test_body_modes_are_known_by_method_and_name_before_traversal() -> None:
    registry = Registry()
    registry.add_service(info("@upload", body="stream"), "a.py:1")
    registry.add_service(info("@upload", context=IFolderish), "a.py:2")  # memory
    registry.add_service(info("", body="negotiate"), "a.py:3")
    assert registry.body_modes("POST", "@upload") == {"stream", "memory"}
    assert registry.body_modes("POST", "") == {"negotiate"}
    assert registry.body_modes("PATCH", "@upload") == frozenset()


def test_an_unknown_body_mode_is_refused_naming_the_declaration() -> None:
    with pytest.raises(RegistrationConflict) as info_:
        Registry().add_service(info("@x", body="lazy"), "addon/views.py:12")
    assert "addon/views.py:12" in str(info_.value)
    assert "lazy" in str(info_.value)


def test_view_headers_gather_by_name_whatever_the_method() -> None:
    registry = Registry()
    registry.add_service(info("@tus", headers=(("Tus-Resumable", "1.0.0"),)), "t.py:1")
    registry.add_service(
        info("@tus", method="PATCH", headers=(("Tus-Resumable", "1.0.0"),)), "t.py:2"
    )
    assert registry.view_headers("@tus") == ((b"tus-resumable", b"1.0.0"),)
    assert registry.view_headers("@other") == ()


def test_the_view_a_path_names_is_its_first_at_segment() -> None:
    assert view_of("GET", "/db/site/doc") == ("GET", "")
    assert view_of("HEAD", "/db/site/doc/@download/file") == ("GET", "@download")
    assert view_of("PATCH", "/db/site/@tus/abc/@x") == ("PATCH", "@tus")
    assert view_of("POST", "/@login") == ("POST", "@login")
    assert view_of("POST", "/db/site//@upload") == ("POST", "@upload")
    assert view_of("GET", "/db/a@b/c") == ("GET", "")
