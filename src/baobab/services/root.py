"""``GET /``: the databases this server holds."""

from __future__ import annotations

from baobab.config.declarations import service
from baobab.content.interfaces import IApplication
from baobab.request import Request, Response, json_response
from baobab.security.vocabulary import PUBLIC
from baobab.serialization.content import serialize
from baobab.services import shapes

__all__ = ["get_application"]


@service(
    method="GET",
    context=IApplication,
    permission=PUBLIC.id,
    summary="Databases",
    responses={200: shapes.APPLICATION},
)
def get_application(request: Request) -> Response:
    return json_response(serialize(request.context, request))
