"""Schemathesis against ``/api/openapi.json``: every operation of the JSON API, called with data
generated from the document itself (and a valid token), answers no 5xx and only responses the
document describes (status code, content type, headers, body schema).

Bounded so the file runs in well under a minute: a few examples per operation, no shrinking.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from runner.services import tokens
from runner.store import transaction
from web_helpers import case_id_for_code

REPORT = {"judul": "Jalan berlubang", "isi_laporan": "Lubang besar di depan pasar.", "nama_pelapor": "Budi",
          "kontak_pelapor": "0812345678"}

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


@pytest.fixture
def token(factory, seeded):
    with transaction(factory) as s:
        return tokens.create_token(s, "admin_utama", "schemathesis").secret


@pytest.fixture
def report(app):
    """A filed report (case id, tracking code), so some calls find something: ids start at 1."""
    r = app.test_client().post("/api/v1/sops/laporisp4n/flows/pengaduan/reports", json={"fields": REPORT})
    assert r.status_code == 201
    return r.get_json()["tracking_code"]


def test_api_conforms_to_its_openapi_document(app, token, report, factory):
    """Each operation in turn with Hypothesis (schemathesis' pytest loader needs pytest < 9, so the
    operations are walked here; the checks are schemathesis' own)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    headers = {"Authorization": f"Bearer {token}"}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
    # and the answers that find something: they must conform too
    case_id = case_id_for_code(factory, report)
    by_label = {op.label: op for op in operations}
    found = [
        by_label["GET /api/v1/sops"].Case(query={"lang": "en"}),
        by_label["GET /api/v1/track/{code}"].Case(path_parameters={"code": report}),
        by_label["GET /api/v1/tasks"].Case(),
        by_label["GET /api/v1/cases/{case_id}"].Case(path_parameters={"case_id": case_id}),
        by_label["POST /api/v1/cases/{case_id}/actions/{action_id}"].Case(
            path_parameters={"case_id": case_id, "action_id": "simpan"}, media_type="application/json",
            body={"version": 1, "fields": {"kanal": "web", "kategori": "Infrastruktur"}}),
    ]
    for case in found:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == 200, (case.operation.label, response.text[:300])
