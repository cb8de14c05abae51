"""schemathesis against the operator API's OpenAPI document: no generated request gets a 5xx."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from live_gateway import LiveGateway, live_gateway_in_thread
from schemathesis import APIOperation, GenerationMode
from schemathesis.core.result import Ok

# What the OpenAPI loader yields: parameters, body and responses are plain JSON objects.
Operation = APIOperation[Any, Any, Any, Any]

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Tenant ids the fuzzer created: deleted when the gateway stops (the schema is shared).
CREATED: list[str] = []


@pytest.fixture(scope="module")
def fuzzed_gateway(emulator_url: str, gateway_db: str) -> Iterator[LiveGateway]:
    with live_gateway_in_thread(emulator_url, gateway_db, CREATED) as gateway:
        yield gateway


def operator_operations(gateway: LiveGateway) -> list[Operation]:
    """Every operation of the operator API (/v1) in the served OpenAPI document."""
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    operations = []
    for result in schema.include(path_regex=r"^/v1/").get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read is a bug
        operations.append(result.ok())
    return operations


def has_inputs(operation: Operation) -> bool:
    return bool(list(operation.iter_parameters())) or bool(list(operation.body))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_operator_api_never_answers_5xx(fuzzed_gateway: LiveGateway, mode: GenerationMode) -> None:
    auth = {"Authorization": f"Bearer {fuzzed_gateway.operator_key}"}
    operations = operator_operations(fuzzed_gateway)
    assert len(operations) >= 7  # tenants (create, list, get), links, disconnect, settings (2)
    answered: dict[str, set[int]] = {}

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # no parameters and no body: nothing can be made invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,  # no example database: the same bounded run, and no files written
        )
        def exercise(case: schemathesis.Case[Operation]) -> None:
            response = case.call(headers=auth, timeout=10)
            body = case.body if isinstance(case.body, dict) else {}
            tenant_id = body.get("tenant_id")
            if case.path == "/v1/tenants" and response.status_code == 201:
                assert isinstance(tenant_id, str)
                CREATED.append(tenant_id)  # only ours: a 409 means someone else's tenant
            answered.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            )

        exercise()
    # The key was accepted: the fuzzer reached the handlers, not just the guard's 401 (valid
    # requests succeed; invalid ones are refused by validation, 4xx but never 401).
    if mode is GenerationMode.POSITIVE:
        assert any(code < 400 for codes in answered.values() for code in codes), answered
    assert not any(401 in codes for codes in answered.values()), answered


def test_nul_characters_are_refused_not_a_500(fuzzed_gateway: LiveGateway) -> None:
    """What the fuzzer first found: PostgreSQL cannot store NUL, so it must be refused up front."""
    auth = {"Authorization": f"Bearer {fuzzed_gateway.operator_key}"}
    with httpx.Client(base_url=fuzzed_gateway.url, headers=auth) as client:
        named = client.post("/v1/tenants", json={"tenant_id": "nul-name", "name": "a\x00b"})
        path = client.get("/v1/tenants/a%00b")
        listed = client.get("/v1/tenants", params={"after": "a\x00"})
        settings_schema = client.get("/v1/settings-schema").json()
        text_setting = next(
            name
            for name, field in settings_schema["properties"].items()
            if field.get("type") == "string" and "enum" not in field  # free text
        )
        tenant = f"fz-{secrets.token_hex(6)}"
        created = client.post("/v1/tenants", json={"tenant_id": tenant, "name": "NUL settings"})
        if created.status_code == 201:
            CREATED.append(tenant)
        stored = client.put(f"/v1/tenants/{tenant}/settings", json={text_setting: "x\x00"})
    assert created.status_code == 201
    assert [r.status_code for r in (named, path, listed, stored)] == [422, 422, 422, 422]
