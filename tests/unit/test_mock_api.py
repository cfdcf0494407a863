"""The mock ops API as a client sees it: routes, idempotent writes, every fault, plans and chaos."""

from __future__ import annotations

import warnings

import pytest
import requests
from starlette.exceptions import StarletteDeprecationWarning

from mock_api.app import create_app
from mock_api.faults import FAULT_NAMES
from mock_api.server import main as server_main
from mock_api.server import start_in_thread

with warnings.catch_warnings():
    # starlette asks for httpx2; the project pins httpx, which works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

INCIDENT = {"service": "search", "title": "Search errors above 5%", "severity": "sev2"}


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app())


def _side_effects(client) -> list[dict]:
    return client.get("/_admin/side-effects").json()["side_effects"]


def _set_plan(client, *rules: dict) -> None:
    response = client.post("/_admin/faults", json={"rules": list(rules)})
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------- routes


def test_health_and_mock_data(client):
    assert client.get("/health").json() == {"status": "ok"}
    data = client.get("/data").json()
    assert data["dataset"] == "mock" and data["items"][0] == {"id": 1, "name": "alpha", "value": 10}


def test_services_list_and_lookup(client):
    names = [s["name"] for s in client.get("/services").json()["services"]]
    assert {"payments", "checkout", "search", "auth", "inventory"} <= set(names)
    assert client.get("/services/search").json()["status"] == "degraded"


def test_unknown_service_is_a_json_404(client):
    for path in ("/services/nope", "/services/nope/metrics"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found" and "nope" in response.json()["detail"]


def test_metrics_default_to_1h_and_match_the_estate(client):
    assert client.get("/services/payments/metrics").json() == {
        "service": "payments",
        "window": "1h",
        "requests": 12000,
        "errors": 240,
        "p50_ms": 48,
        "p95_ms": 230,
    }
    assert client.get("/services/search/metrics", params={"window": "5m"}).json()["window"] == "5m"


def test_unknown_metrics_window_is_a_field_level_422(client):
    response = client.get("/services/payments/metrics", params={"window": "2h"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation"
    assert [f["field"] for f in response.json()["fields"]] == ["window"]


def test_incidents_filter_by_service_and_status(client):
    found = client.get("/incidents", params={"service": "checkout", "status": "open"}).json()
    assert [i["id"] for i in found["incidents"]] == ["INC-1001", "INC-1002"]
    assert client.get("/incidents", params={"status": "closed"}).status_code == 422


def test_deployments_filter_by_service(client):
    found = client.get("/deployments", params={"service": "auth"}).json()["deployments"]
    assert [(d["service"], d["status"]) for d in found] == [("auth", "rolled_back")]


def test_create_incident_returns_201_with_the_next_id_and_records_one_side_effect(client):
    response = client.post("/incidents", json=INCIDENT)
    assert response.status_code == 201
    assert response.json() == {
        **INCIDENT,
        "id": "INC-1007",
        "status": "open",
        "opened_at": "2025-06-02T12:00:01Z",
    }
    assert (
        client.get("/incidents", params={"service": "search", "status": "open"}).json()["incidents"][-1]["id"]
        == "INC-1007"
    )
    [effect] = _side_effects(client)
    assert effect["kind"] == "incident_created" and effect["object"]["id"] == "INC-1007"


def test_bad_incident_body_lists_every_bad_field(client):
    response = client.post(
        "/incidents", json={"service": "nope", "title": "", "severity": "sev9", "extra": 1}
    )
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["fields"]}
    assert set(fields) == {"service", "title", "severity", "extra"}
    assert "unknown service" in fields["service"]
    assert _side_effects(client) == []


def test_replayed_idempotency_key_returns_the_first_answer_without_a_second_write(client):
    headers = {"Idempotency-Key": "run-1-step-3"}
    first = client.post("/incidents", json=INCIDENT, headers=headers)
    again = client.post("/incidents", json=INCIDENT, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(_side_effects(client)) == 1


def test_same_idempotency_key_with_a_different_body_is_409(client):
    headers = {"Idempotency-Key": "k"}
    client.post("/incidents", json=INCIDENT, headers=headers)
    response = client.post("/incidents", json={**INCIDENT, "title": "other"}, headers=headers)
    assert response.status_code == 409 and response.json()["error"] == "idempotency_conflict"
    assert len(_side_effects(client)) == 1


def test_notifications_are_created_once_per_idempotency_key(client):
    body = {"channel": "#ops", "message": "search error rate is 6.5%"}
    first = client.post("/notifications", json=body, headers={"Idempotency-Key": "n1"})
    again = client.post("/notifications", json=body, headers={"Idempotency-Key": "n1"})
    assert (first.status_code, again.status_code) == (201, 200)
    [effect] = _side_effects(client)
    assert effect["kind"] == "notification_sent" and effect["idempotency_key"] == "n1"


# ---------------------------------------------------------------- faults per request


@pytest.mark.parametrize(
    "fault,status",
    [("http_500", 500), ("http_502", 502), ("http_503", 503), ("http_401", 401), ("http_404", 404)],
)
def test_status_fault_returns_its_status_with_a_json_error(client, fault, status):
    response = client.get("/services/payments/metrics", headers={"X-Mock-Fault": fault})
    assert response.status_code == status
    assert "error" in response.json()


def test_http_429_sets_retry_after_from_its_parameter(client):
    default = client.get("/health", headers={"X-Mock-Fault": "http_429"})
    custom = client.get("/health", headers={"X-Mock-Fault": "http_429;retry_after=2"})
    assert (default.status_code, default.headers["Retry-After"]) == (429, "1")
    assert (custom.status_code, custom.headers["Retry-After"]) == (429, "2")


def test_http_422_fault_has_field_level_errors(client):
    response = client.post("/incidents", json=INCIDENT, headers={"X-Mock-Fault": "http_422;field=severity"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "severity"
    assert _side_effects(client) == []


def test_fault_can_be_asked_for_by_query_parameter(client):
    assert client.get("/health", params={"_fault": "http_503"}).status_code == 503


def test_per_request_fault_applies_to_that_request_only(client):
    assert client.get("/health", headers={"X-Mock-Fault": "http_500"}).status_code == 500
    assert client.get("/health").status_code == 200


def test_malformed_json_is_a_200_json_response_that_does_not_parse(client):
    response = client.get("/services/payments/metrics", headers={"X-Mock-Fault": "malformed_json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


def test_schema_drift_renames_metrics_fields(client):
    body = client.get("/services/payments/metrics", headers={"X-Mock-Fault": "schema_drift"}).json()
    assert body["request_count"] == 12000 and body["error_count"] == 240
    assert "requests" not in body and "errors" not in body


@pytest.mark.parametrize(
    "path,missing",
    [
        ("/health", "status"),
        ("/data", "items"),
        ("/services", "services.0.status"),
        ("/services/auth", "status"),
        ("/incidents", "incidents.0.status"),
        ("/deployments", "deployments.0.status"),
    ],
)
def test_schema_drift_removes_a_documented_field_from_every_route(client, path, missing):
    body = client.get(path, headers={"X-Mock-Fault": "schema_drift"}).json()
    *parents, leaf = missing.split(".")
    for key in parents:
        body = body[int(key)] if key.isdigit() else body[key]
    assert leaf not in body


def test_slow_fault_waits_then_succeeds(client):
    response = client.get("/health", headers={"X-Mock-Fault": "slow;delay=0.01"})
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_unknown_fault_or_parameter_is_a_400(client):
    assert client.get("/health", headers={"X-Mock-Fault": "meteor"}).status_code == 400
    assert client.get("/health", headers={"X-Mock-Fault": "http_503;delay=1"}).status_code == 400


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_every_catalogue_fault_is_implemented(client, fault):
    spec = f"{fault};delay=0" if fault in ("timeout", "slow") else fault
    client.get("/health", headers={"X-Mock-Fault": spec})
    [record] = client.get("/_admin/requests").json()["requests"]
    assert record["fault"] == fault
    assert {f["name"] for f in client.get("/_admin/catalogue").json()["faults"]} == set(FAULT_NAMES)


# ---------------------------------------------------------------- fault plan


def test_plan_rule_fails_count_times_then_passes(client):
    _set_plan(client, {"path": "/services/*/metrics", "method": "GET", "fault": "http_503", "count": 2})
    statuses = [client.get("/services/search/metrics").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    [rule] = client.get("/_admin/faults").json()["rules"]
    assert rule["remaining"] == 0 and rule["hits"] == 2


def test_plan_rule_matches_method_and_path_pattern(client):
    _set_plan(client, {"path": "/incidents", "method": "POST", "fault": "http_500"})
    assert client.get("/incidents").status_code == 200
    assert client.get("/services/payments/metrics").status_code == 200
    assert client.post("/incidents", json=INCIDENT).status_code == 500
    assert _side_effects(client) == []


def test_plan_rules_are_tried_in_order_and_exhausted_rules_are_skipped(client):
    _set_plan(
        client,
        {"path": "/health", "fault": "http_429", "count": 1, "params": {"retry_after": 3}},
        {"path": "/*", "fault": "http_502", "count": 1},
    )
    first, second, third = (client.get("/health") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "3")
    assert (second.status_code, third.status_code) == (502, 200)


def test_plan_rule_without_count_applies_until_cleared(client):
    _set_plan(client, {"path": "/health", "fault": "http_503"})
    assert [client.get("/health").status_code for _ in range(4)] == [503] * 4
    assert client.delete("/_admin/faults").json() == {"rules": []}
    assert client.get("/health").status_code == 200


def test_plan_with_unknown_fault_or_parameter_is_rejected(client):
    bad_fault = client.post("/_admin/faults", json={"rules": [{"path": "/x", "fault": "meteor"}]})
    bad_param = client.post(
        "/_admin/faults", json={"rules": [{"path": "/x", "fault": "http_503", "params": {"delay": 1}}]}
    )
    assert (bad_fault.status_code, bad_param.status_code) == (422, 422)
    assert "delay" in bad_param.json()["fields"][0]["message"]


def test_admin_routes_are_never_faulted_nor_recorded(client):
    _set_plan(client, {"path": "*", "fault": "http_500"})
    client.post("/_admin/chaos", json={"seed": 1, "rate": 1.0, "faults": ["drop"]})
    assert client.get("/_admin/requests", headers={"X-Mock-Fault": "http_503"}).status_code == 200
    assert client.get("/_admin/requests").json() == {"requests": []}


# ---------------------------------------------------------------- chaos


def _chaos_faults(seed: int) -> list[str | None]:
    client = TestClient(create_app())
    client.post("/_admin/chaos", json={"seed": seed, "rate": 0.5, "faults": ["http_503", "http_429"]})
    for _ in range(30):
        client.get("/health")
    return [r["fault"] for r in client.get("/_admin/requests").json()["requests"]]


def test_chaos_with_the_same_seed_gives_the_same_fault_sequence():
    first = _chaos_faults(7)
    assert first == _chaos_faults(7)
    assert {"http_503", "http_429", None} == set(first)
    assert first != _chaos_faults(8)


def test_chaos_stops_when_deleted(client):
    client.post("/_admin/chaos", json={"seed": 7, "rate": 1.0, "faults": ["http_503"]})
    assert client.get("/health").status_code == 503
    assert client.get("/_admin/chaos").json()["decisions"] == 1
    assert client.delete("/_admin/chaos").json() == {"enabled": False}
    assert client.get("/health").status_code == 200


# ---------------------------------------------------------------- recording and reset


def test_requests_are_recorded_with_idempotency_key_fault_and_status(client):
    client.post("/incidents", json=INCIDENT, headers={"Idempotency-Key": "k1", "X-Mock-Fault": "http_503"})
    client.get("/health", params={"x": "1"})
    first, second = client.get("/_admin/requests").json()["requests"]
    assert first["seq"] == 1 and first["method"] == "POST" and first["path"] == "/incidents"
    assert first["headers"]["idempotency-key"] == "k1"
    assert (first["fault"], first["fault_source"], first["status"]) == ("http_503", "header", 503)
    assert (second["query"], second["fault"], second["status"]) == ({"x": "1"}, None, 200)


def test_reset_clears_records_faults_chaos_and_created_objects(client):
    client.post("/incidents", json=INCIDENT)
    _set_plan(client, {"path": "/health", "fault": "http_503"})
    client.post("/_admin/chaos", json={"seed": 1, "rate": 0.5})
    assert client.post("/_admin/reset").json() == {"status": "reset"}
    assert client.get("/_admin/faults").json() == {"rules": []}
    assert client.get("/_admin/chaos").json() == {"enabled": False}
    assert _side_effects(client) == []
    assert "INC-1007" not in {i["id"] for i in client.get("/incidents").json()["incidents"]}
    assert client.post("/incidents", json=INCIDENT).json()["id"] == "INC-1007"


def test_each_app_has_its_own_state():
    one, two = TestClient(create_app()), TestClient(create_app())
    _set_plan(one, {"path": "*", "fault": "http_503"})
    one.post("/incidents", json=INCIDENT)
    assert two.get("/health").status_code == 200
    assert _side_effects(two) == []


# ---------------------------------------------------------------- over real loopback HTTP


@pytest.fixture(scope="module")
def live():
    with start_in_thread() as api:
        yield api


@pytest.fixture
def live_url(live) -> str:
    requests.post(f"{live.url}/_admin/reset", timeout=2)
    return live.url


def test_start_in_thread_serves_on_a_free_loopback_port(live_url):
    assert live_url.startswith("http://127.0.0.1:")
    assert requests.get(f"{live_url}/health", timeout=2).json() == {"status": "ok"}


def test_drop_breaks_the_response_and_applies_nothing(live_url):
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(f"{live_url}/incidents", json=INCIDENT, headers={"X-Mock-Fault": "drop"}, timeout=2)
    assert requests.get(f"{live_url}/_admin/side-effects", timeout=2).json() == {"side_effects": []}
    assert requests.get(f"{live_url}/health", timeout=2).status_code == 200


def test_timeout_fault_outlasts_a_short_client_timeout(live_url):
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{live_url}/health", params={"_fault": "timeout;delay=1.0"}, timeout=0.2)


def test_applied_no_response_applies_the_write_once_though_the_client_sees_a_failure(live_url):
    headers = {"Idempotency-Key": "create-inc-1"}
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(
            f"{live_url}/incidents",
            json=INCIDENT,
            headers={**headers, "X-Mock-Fault": "applied_no_response"},
            timeout=2,
        )
    retry = requests.post(f"{live_url}/incidents", json=INCIDENT, headers=headers, timeout=2)
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    effects = requests.get(f"{live_url}/_admin/side-effects", timeout=2).json()["side_effects"]
    assert [e["object"]["id"] for e in effects] == [retry.json()["id"]]
    recorded = requests.get(f"{live_url}/_admin/requests", timeout=2).json()["requests"]
    assert [r["status"] for r in recorded] == [None, 200]


def test_non_loopback_hosts_are_refused_unless_allowed(capsys):
    with pytest.raises(ValueError):
        start_in_thread(host="0.0.0.0")
    with pytest.raises(SystemExit) as exit_info:
        server_main(["--host", "0.0.0.0"])
    assert exit_info.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err
