"""Story: every operation keeps the promises of the OpenAPI document, whoever calls it.

schemathesis generates valid and invalid requests for each operation from the document the
app serves, and sends them as six kinds of caller: anonymous, customer, moderator, admin,
an API key and an admin's personal access token with all six scopes. Every answer must
be no server error, a status the operation documents, and a body that matches the
documented schema ({"error": ...} for every failure). A new endpoint joins this net by
existing; the run is bounded (FABLEDGER_FUZZ_EXAMPLES per operation, caller and mode) so
it stays within minutes as the API grows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from domain.access_tokens import SCOPES
from infra.bootstrap import bootstrap
from tests.contract.tally import TALLY
from tests.support.http import CUBE_STL, app_settings, checkout, register, staff

EXAMPLES = int(os.environ.get("FABLEDGER_FUZZ_EXAMPLES", "10"))
CALLERS = ("anonymous", "customer", "moderator", "admin", "api_key", "pat")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    """The OpenAPI document, read at collection time from an app that is never started."""
    with tempfile.TemporaryDirectory() as scratch:
        return create_app(app_settings(Path(scratch))).openapi()


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = sorted((op.ok().method.upper(), op.ok().path) for op in SCHEMA.get_all_operations())


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FastAPI, dict[str, Any], dict[str, str]]]:
    """One app on SQLite for the whole run, and the headers each kind of caller sends."""
    app_config = app_settings(tmp_path_factory.mktemp("contract"))
    container = bootstrap(app_config)
    container.start_projections()
    app = create_app(app_config, container=container)
    try:
        with TestClient(app) as client:
            customer = register(client, "fuzzer")
            org = client.post("/api/orgs", headers=customer.auth, json={"name": "Fuzz"}).json()
            key = client.post(
                f"/api/orgs/{org['id']}/keys", headers=customer.auth, json={"name": "fuzz"}
            ).json()
            placed = checkout(client, customer).json()
            # Real records, so that generated requests also reach the answers of success.
            records = {
                "order_id": placed["order"]["id"],
                "tracking_number": placed["order"]["tracking_number"],
                "org_id": org["id"],
                "key_ref": key["clientId"],
            }
            admin = staff(client, "admin", "fuzz-admin").auth
            shelf = client.post("/api/admin/categories", headers=admin, json={"name": "Fuzz"})
            listed = client.post(
                "/api/admin/catalog-models",
                headers=admin,
                data={
                    "name": "Fuzz",
                    "category_id": shelf.json()["category"]["id"],
                    "material": "PLA",
                },
                files={"model_file": ("cube.stl", CUBE_STL, "application/octet-stream")},
            )
            records["model_id"] = listed.json()["model"]["id"]  # a listed catalog model
            pat = client.post(
                "/api/admin/tokens",
                headers=admin,
                json={"name": "fuzz", "permissions": list(SCOPES)},
            ).json()
            callers: dict[str, dict[str, str]] = {
                "anonymous": {},
                "customer": customer.auth,
                "moderator": staff(client, "moderator", "fuzz-mod").auth,
                "admin": admin,
                "api_key": {"X-API-Key": key["apiKey"]},
                "pat": {"Authorization": f"Bearer {pat['token']}"},
            }
            yield app, callers, records
    finally:
        schemathesis.python.asgi.shutdown_lifespans()
        container.close()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_keeps_its_contract(
    served: tuple[FastAPI, dict[str, Any], dict[str, str]], method: str, path: str, caller: str
) -> None:
    app, callers, records = served
    operation = SCHEMA[path][method]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    known = {p.name: records[p.name] for p in operation.path_parameters if p.name in records}
    if known:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    cases = st.one_of(strategies)
    TALLY.operations.add((method, path))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def each(case: Any) -> None:
        TALLY.cases += 1
        response = case.call(app=app, headers=callers[caller])
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception:
            TALLY.failures += 1
            raise

    each()
