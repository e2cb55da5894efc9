"""Schemathesis against the OpenAPI spec of a running server (/openapi.json): valid and invalid
requests for every operation, as an admin with a live API key and as nobody. No 5xx, no crash."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from avatarcall.testing.server import DEMO_AGENT, start_server

EXAMPLES = {GenerationMode.POSITIVE: 80, GenerationMode.NEGATIVE: 60}


def test_no_request_the_spec_allows_or_forbids_makes_a_server_error(
        tmp_path_factory: pytest.TempPathFactory, summary: list[str]) -> None:
    server = start_server(tmp_path_factory.mktemp("schemathesis"),
                          AVATARCALL_WAITING_GRACE_SECONDS="2")  # the calls it makes go soon
    statuses: Counter[int] = Counter()
    cases: Counter[str] = Counter()
    try:
        env = {**os.environ, "AVATARCALL_DATA_DIR": str(server.data_dir)}
        key = subprocess.run([sys.executable, "-m", "avatarcall", "apikey", "add", "fuzz"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
        cookie = requests.post(f"{server.url}/api/login", timeout=10,
                               json=dict(zip(("name", "password"), DEMO_AGENT))).cookies["avatarcall_agent"]
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        session = requests.Session()
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            passes = [
                (mode, {"headers": {"Authorization": f"Bearer {key}"},
                        "cookies": {"avatarcall_agent": cookie}}) for mode in EXAMPLES
            ] + [(GenerationMode.NEGATIVE, {})]
            for mode, credentials in passes:
                strategy = operation.as_strategy(generation_mode=mode, **credentials)

                @settings(max_examples=EXAMPLES[mode], deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def run(case: schemathesis.Case) -> None:
                    response = case.call(base_url=server.url, session=session, timeout=30)
                    statuses[response.status_code] += 1
                    cases[case.operation.label] += 1
                    assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
                    case.validate_response(response, checks=[not_a_server_error])

                try:
                    run()
                except Unsatisfiable:  # nothing to break in an operation without input
                    assert mode is GenerationMode.NEGATIVE, operation.label
        assert server.process.poll() is None, "the server died"
        log = server.log.read_text()
        assert "Traceback" not in log and "Exception in ASGI application" not in log
    finally:
        server.stop()
        total = sum(cases.values())
        summary.append(f"schemathesis: {total} cases over {len(cases)} operations; responses by "
                       f"status: {dict(sorted(statuses.items()))}; "
                       f"{sum(v for k, v in statuses.items() if k >= 500)} server errors")
