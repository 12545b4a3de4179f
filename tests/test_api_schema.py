"""Every endpoint of the API, from its OpenAPI schema, with schemathesis: whatever
request it generates, no 5xx but the documented 503 of a service not configured here,
and every answer matches the schema (status, content type, headers, body). On both
databases, with a key of an account that has a verified number and money.

The operations are walked inside one test per database (schemathesis' pytest fixture
loader does not run under pytest 9), each with its own Hypothesis search.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance

from tests.conftest_api import ApiEnv
from tests.wallet_helpers import fund

EXAMPLES = 15


def test_every_endpoint_answers_within_its_schema(api_env: ApiEnv) -> None:
    holder = api_env.account(phone_number="+33612345678", phone_verified=True)
    fund(api_env.services.engine, holder.account_id, "10")
    headers = {"Authorization": f"Bearer {holder.token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_env.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # every resource, not an empty schema
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_within_schema(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            # A request valid by the schema may still be refused by the rules (422, 402, …).
            case.validate_response(
                response,
                excluded_checks=[not_a_server_error, positive_data_acceptance],
                headers=headers,
            )
            if response.status_code >= 500:
                assert response.status_code == 503, response.text
                # A service this test's server does not run (no dialer, no Waves node).
                assert response.json()["type"].endswith("not-configured"), response.text

        answers_within_schema()
