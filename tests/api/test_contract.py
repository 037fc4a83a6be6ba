"""The contract: requests generated from the OpenAPI schema, sent as a mediator, a supervisor and an
auditor, never get a 5xx and always get an answer the schema describes (status, content type, body)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mediation.wsgi import application
from tests.api.conftest import bearer
from tests.factories import register
from tests.lifecycle import accepted
from workflows.machine import TRANSITION_NAMES

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Examples per operation and role: enough to meet every answer the schema lists, in well under a minute.
EXAMPLES = 25


@pytest.mark.parametrize("role", ["mediator_a", "supervisor_a", "auditor_a"])
def test_generated_requests_get_answers_the_schema_describes(world, role, in_process):
    cases = [register(world.mediator_a, world.town_a), accepted(world, world.town_a),
             register(world.mediator_b, world.town_b)]
    ids = [c.pk for c in cases]
    headers = {"Authorization": f"Bearer {bearer(getattr(world, role))}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 4  # each operation read from the schema

    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), real_id=st.sampled_from([*ids, None]),
               move=st.sampled_from([*TRANSITION_NAMES, None]))
        def check(case, real_id, move):
            # Half the time a case that exists (in or out of the role's scope) and a move that exists.
            if real_id is not None and "id" in (case.path_parameters or {}):
                case.path_parameters["id"] = real_id
            if move is not None and "name" in (case.path_parameters or {}):
                case.path_parameters["name"] = move
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()


@pytest.fixture
def in_process(settings):
    """Requests sent straight to the WSGI application, as Django's test client sends its own."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # the host schemathesis names
    # Hundreds of requests in seconds: the throttles' 429 is described, but not what is tested here.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"read": "100000/min", "write": "100000/min"}}
    # The connection holding the test's transaction stays open between requests (the test client's way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
