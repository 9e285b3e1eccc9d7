"""``GET /@openapi``: a valid OpenAPI 3.1 document that describes every service, and only them."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from baobab.asgi import BaobabApp
from baobab.openapi import COMMON_ERRORS, operation_services, service_id
from baobab.testing import BaobabClient


async def _document(anon_client: BaobabClient) -> dict[str, Any]:
    resp = await anon_client.get("/@openapi")
    assert resp.status_code == 200, resp.text
    document: dict[str, Any] = resp.json()
    return document


async def test_openapi_is_public_and_valid(anon_client: BaobabClient) -> None:
    document = await _document(anon_client)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://baobab.test/"}]


async def test_every_registered_service_is_described_and_nothing_else(
    anon_client: BaobabClient, baobab_app: BaobabApp
) -> None:
    assert baobab_app.state is not None
    registry = baobab_app.state.registry
    document = await _document(anon_client)
    registered = {service_id(info) for info in registry.services()}
    assert operation_services(document) == registered
    by_id = {service_id(info): info for info in registry.services()}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            infos = [by_id[name] for name in operation["x-baobab-services"]]
            assert infos, (path, method)
            assert {info.method for info in infos} == {method.upper()}, (path, method)
            names = {info.name for info in infos}
            assert len(names) == 1 and (names.pop() or "/") in path, (path, method)
            permissions = sorted({info.permission for info in infos if info.permission})
            declared = operation["x-baobab-permission"]
            assert (declared if isinstance(declared, list) else [declared]) == permissions


async def test_operations_say_permission_parameters_and_errors(anon_client: BaobabClient) -> None:
    document = await _document(anon_client)
    paths = document["paths"]
    patch = paths["/{db}/{container}/{path}"]["patch"]
    assert patch["x-baobab-permission"] == "baobab.ModifyContent"
    assert "baobab.ModifyContent" in patch["description"]
    assert {"If-Match", "db", "container", "path"} <= {p["name"] for p in patch["parameters"]}
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ContentPatch"
    }
    for status in (*COMMON_ERRORS, 409, 412, 415, 422):
        assert patch["responses"][str(status)] == {"$ref": f"#/components/responses/Error{status}"}
    tus = paths["/{db}/{container}/{path}/@tus/{upload}"]["patch"]
    assert {"Tus-Resumable", "Upload-Offset", "upload"} <= {p["name"] for p in tus["parameters"]}
    login = paths["/@login"]["post"]
    assert login["x-baobab-permission"] == "baobab.Public"
    body = login["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Login"}
    assert document["components"]["schemas"]["Login"]["required"] == ["login", "password"]
    assert "/{db}/{container}/@users/{user}/reset-password" in paths
    assert "/{db}/@users" not in paths  # users live in containers only


async def test_error_envelope_is_one_component(anon_client: BaobabClient) -> None:
    components = (await _document(anon_client))["components"]
    assert components["schemas"]["Error"]["required"] == ["type", "message", "details"]
    for name, response in components["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, name


async def test_content_types_are_the_schemas_of_types(
    client: BaobabClient, anon_client: BaobabClient
) -> None:
    schemas = (await _document(anon_client))["components"]["schemas"]
    for name in ("Container", "Folder", "Document", "File", "Image"):
        resp = await client.get(f"/db/@types/{name}")
        assert resp.status_code == 200, resp.text
        assert schemas[f"Type_{name}"] == resp.json()
        assert {"$ref": f"#/components/schemas/Content_{name}"} in schemas["Content"]["anyOf"]
        create = schemas[f"Create_{name}"]
        assert create["properties"]["@type"] == {"const": name}


async def test_a_create_links_to_what_follows_on_the_new_object(anon_client: BaobabClient) -> None:
    paths = (await _document(anon_client))["paths"]
    links = paths["/{db}/{container}"]["post"]["responses"]["201"]["links"]
    operation_ids = {
        op["operationId"]
        for path, item in paths.items()
        if path.startswith("/{db}/{container}/{path}")
        for op in item.values()
    }
    assert {"get_db_container_path", "patch_db_container_path", "delete_db_container_path"} <= set(
        links
    )
    assert {"post_db_container_path_move", "post_db_container_path_copy"} <= set(links)
    for link in links.values():
        assert link["operationId"] in operation_ids
        assert link["parameters"]["path"] == "$response.body#/id"
