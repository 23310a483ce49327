"""schemathesis against the app's own OpenAPI schema, over HTTP to a real server, as an
anonymous visitor and as a signed-in contact: 0 server errors, 0 responses that break
the schema. Every operation the schema documents is exercised."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)

from tests.hardening.crash import prepare
from tests.support.server import PortalServer

CHECKS = [not_a_server_error, response_schema_conformance, response_headers_conformance]
EXAMPLES = int(os.environ.get("PORTALIS_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture
def server(database_url: str) -> Iterator[PortalServer]:
    asyncio.run(prepare(database_url))
    srv = PortalServer(database_url)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("who", [None, "bob@contoso.example"])
def test_no_server_errors_and_responses_match_the_schema(server: PortalServer,
                                                         who: str | None,
                                                         record_property: Any) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    headers = {"x-test-contact": who} if who else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    calls: dict[str, int] = {}
    for operation in operations:
        strategy = operation.as_strategy()

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            response = case.call(base_url=server.url, headers=headers)
            case.validate_response(response, checks=CHECKS)
            assert response.status_code < 500, (case.method, case.formatted_path)
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1

        run()
    assert len(calls) == len(operations)
    record_property("sweep:operations", len(operations))
    record_property("sweep:requests", sum(calls.values()))
