"""Long-term memory: the same behaviour from SQLite (FTS5, bm25) and from DynamoDB (under moto)."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.config import reload_settings
from chalicelib.contracts import RunState, StepRecord
from chalicelib.execution.lessons import facts_for_run
from chalicelib.memory.longterm import (
    DynamoDBLongTermMemory,
    Fact,
    SqliteLongTermMemory,
    get_long_term_memory,
    remember_facts,
)
from chalicelib.perception.request_reader import perceive
from chalicelib.planning.planner import make_plan


@pytest.fixture(params=["sqlite", "dynamodb"])
def memory(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteLongTermMemory(tmp_path / "memory.sqlite3")
        return
    import boto3
    from moto import mock_aws

    with mock_aws():
        store = DynamoDBLongTermMemory(
            f"maoo-memory-{uuid.uuid4().hex[:8]}", client=boto3.client("dynamodb", region_name="us-east-1")
        )
        store.create_table()
        yield store


def endpoint_fact(key: str, ok: bool, signal: str, at: float, run_id: str = "run-1") -> Fact:
    state = "healthy (it answered)" if ok else signal.replace("_", "-")
    return Fact(
        kind="endpoint",
        key=key,
        text=f"endpoint {key} was {state}",
        data={"ok": ok, "signal": signal},
        run_id=run_id,
        created_at=at,
    )


RATES = [
    Fact(
        kind="metric",
        key="error_rate payments 1h",
        text="last known error rate of payments 1h = 2 %",
        data={"value": 2.0},
    ),
    Fact(
        kind="metric",
        key="error_rate search 1h",
        text="last known error rate of search 1h = 6.5 %",
        data={"value": 6.5},
    ),
    Fact(
        kind="endpoint",
        key="GET /data",
        text="endpoint GET /data was healthy (it answered)",
        data={"ok": True},
    ),
]


def test_remember_returns_how_many_facts_were_stored(memory):
    assert memory.remember(RATES) == 3


def test_latest_is_the_newest_fact_under_a_key(memory):
    key = "GET /services/payments/metrics"
    memory.remember(
        [
            endpoint_fact(key, False, "rate_limited", at=100.0, run_id="run-old"),
            endpoint_fact(key, True, "ok", at=300.0, run_id="run-new"),
            endpoint_fact("GET /data", False, "transient", at=500.0),
        ]
    )

    latest = memory.latest("endpoint", key)

    assert latest is not None and latest.run_id == "run-new" and latest.data == {"ok": True, "signal": "ok"}
    assert latest.created_at == 300.0


def test_latest_of_a_key_never_filed_is_none(memory):
    memory.remember(RATES)

    assert memory.latest("endpoint", "GET /nowhere") is None
    assert memory.latest("metric", "GET /data") is None  # same key, other kind


def test_recent_lists_the_newest_facts_of_a_kind_first(memory):
    memory.remember(
        [Fact(kind="run", key=f"run-{n}", text=f"request number {n}", created_at=float(n)) for n in (3, 1, 2)]
    )
    memory.remember(RATES)

    assert [f.key for f in memory.recent("run")] == ["run-3", "run-2", "run-1"]
    assert [f.key for f in memory.recent("run", limit=2)] == ["run-3", "run-2"]
    assert memory.recent("nothing") == []


def test_search_puts_the_most_relevant_fact_first_and_leaves_out_unrelated_ones(memory):
    memory.remember(RATES)

    found = memory.search("what is the error rate of payments")

    assert [r.fact.key for r in found][:2] == ["error_rate payments 1h", "error_rate search 1h"]
    assert "GET /data" not in [r.fact.key for r in found]
    assert found[0].score > found[1].score


def test_search_can_be_limited_to_one_kind_and_a_number_of_results(memory):
    memory.remember(RATES)

    assert [r.fact.kind for r in memory.search("error rate data endpoint", kind="endpoint")] == ["endpoint"]
    assert len(memory.search("error rate", limit=1)) == 1


def test_search_with_no_matching_or_only_common_words_finds_nothing(memory):
    memory.remember(RATES)

    assert memory.search("the of and") == []
    assert memory.search("kubernetes") == []
    assert memory.search("") == []


def test_a_fact_comes_back_as_it_was_filed(memory):
    fact = Fact(
        kind="endpoint",
        key="POST /incidents",
        text="endpoint POST /incidents was failing with server errors",
        data={"ok": False, "signal": "transient", "signals": ["transient", "transient"]},
        run_id="run-7",
        created_at=1234.5,
    )
    memory.remember([fact])

    assert memory.latest("endpoint", "POST /incidents") == fact
    assert memory.search("incidents failing")[0].fact == fact


def test_the_store_setting_chooses_the_backend(monkeypatch):
    assert isinstance(get_long_term_memory(), SqliteLongTermMemory)

    monkeypatch.setenv("MAOO_STORE", "dynamodb")
    monkeypatch.setenv("MAOO_MEMORY_TABLE", "team-memory")
    reload_settings()
    chosen = get_long_term_memory()

    assert isinstance(chosen, DynamoDBLongTermMemory) and chosen.table_name == "team-memory"


def _finished_run() -> RunState:
    """A run that was rate-limited on the metrics endpoint, replanned to the database, and succeeded."""
    perception = perceive("What is the error rate of payments over the last hour?")
    plan = make_plan(perception, {"s1"})
    url = make_plan(perception).steps[0].args["url"]
    records = [
        StepRecord(
            step_id="s1",
            tool="http_get",
            args={"url": url},
            attempt=a,
            ok=False,
            signal="rate_limited",
            decision="retry" if a < 3 else "replan",
        )
        for a in (1, 2, 3)
    ]
    records += [
        StepRecord(
            step_id="s1b",
            tool="db_query",
            args=plan.steps[0].args,
            attempt=1,
            ok=True,
            signal="ok",
            decision="continue",
        ),
        StepRecord(
            step_id="s2",
            tool="calc",
            args={"expression": "round(240 / 12000 * 100, 4)"},
            attempt=1,
            ok=True,
            signal="ok",
            decision="continue",
        ),
    ]
    return RunState(
        run_id="run-42",
        request="What is the error rate of payments over the last hour?",
        started_at=0.0,
        perception=perception,
        plan=plan,
        steps=records,
        status="succeeded",
        results={
            "s1b": {"rows": [{"requests": 12000, "errors": 240}]},
            "s2": {"expression": "...", "value": 2},
        },
    )


def test_a_finished_run_files_endpoint_health_error_rates_and_its_outcome():
    stored = remember_facts("run-42", facts_for_run(_finished_run()))

    memory = get_long_term_memory()
    endpoint = memory.latest("endpoint", "GET /services/payments/metrics")
    assert stored == 3
    assert endpoint is not None and endpoint.data["ok"] is False and endpoint.data["signal"] == "rate_limited"
    assert "rate-limited" in endpoint.text and endpoint.run_id == "run-42"
    assert memory.latest("metric", "error_rate payments 1h").data["value"] == 2
    outcome = memory.latest("run", "run-42")
    assert "succeeded" in outcome.text and "db_query -> calc" in outcome.text
    assert outcome.data["request"] == "What is the error rate of payments over the last hour?"


def test_a_memory_that_cannot_be_written_does_not_fail_the_run(monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("MAOO_STORE", "dynamodb")
    monkeypatch.setenv("MAOO_MEMORY_TABLE", f"missing-{uuid.uuid4().hex[:8]}")
    reload_settings()
    with mock_aws():
        assert remember_facts("run-42", facts_for_run(_finished_run())) == 0
