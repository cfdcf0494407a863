"""``python -m bench`` (or ``make bench``): measure, side by side, medians of several repetitions.

Writes ``runtime/bench/results.json`` and ``runtime/bench/results.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

WORKLOADS = {
    "happy": ("Fetch mock data, calculate 2 + 2, and summarize the result", {}),
    "20-step": (", ".join(f"calculate {i} + {i}" for i in range(1, 21)), {"max_steps": 40, "budget": 100}),
}


class Timed:
    """Wraps the handlers to add up the time spent inside them, per function."""

    def __init__(self, handlers: dict[str, Any]):
        self.real = dict(handlers)
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def wrapped(self) -> dict[str, Any]:
        def wrap(name, handler):
            def timed(event, context):
                started = time.perf_counter()
                try:
                    return handler(event, context)
                finally:
                    self.seconds[name] += time.perf_counter() - started
                    self.calls[name] += 1

            return timed

        return {name: wrap(name, handler) for name, handler in self.real.items()}

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Checkpoints:
    """Times MAOO's checkpoint writes (``chalicelib.durable.checkpoints.save``), or leaves them out.

    The embedded engine runs durable (a checkpoint per Task state, as always). The direct loop and
    LangGraph drive the same handlers without MAOO's checkpoints, so that LangGraph with its own
    SQLite checkpointer is the durable peer, and LangGraph without it the in-memory one."""

    def __init__(self) -> None:
        from chalicelib.durable import checkpoints

        self.module = checkpoints
        self.real = checkpoints.save
        self.seconds = 0.0
        self.count = 0

    def timed(self) -> None:
        real = self.real

        def save(*args: Any, **kwargs: Any) -> int:
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.count += 1

        self.seconds, self.count = 0.0, 0
        self.module.save = save

    def off(self) -> None:
        self.module.save = lambda *args, **kwargs: 0

    def restore(self) -> None:
        self.module.save = self.real


def _headline_pair(
    number: int, service: Any, durable_graph: Any, saves: Checkpoints, request: str, guards: dict[str, Any]
) -> tuple[float, float]:
    """The headline, side by side, alternating which goes first: a whole run as ``POST /runs``
    makes it (execution, run document, trace stored), and LangGraph's whole invoke of the same
    handlers with its SQLite checkpointer, each after a full garbage collection. Milliseconds
    each (the peer's NaN without the extra)."""
    from bench.drivers import run_langgraph
    from chalicelib.config import get_settings
    from chalicelib.workflow.runs import initial_state

    whole_ms = peer_ms = float("nan")
    for turn in (0, 1) if number % 2 == 0 else (1, 0):
        gc.collect()  # neither side pays for the other's garbage
        if turn == 0:
            t = time.perf_counter()
            status, doc = service.start(json.dumps({"request": request, "guards": guards}))
            whole_ms = (time.perf_counter() - t) * 1000
            assert status == 200 and doc["status"] == "succeeded", doc
        elif durable_graph is not None:
            saves.off()  # LangGraph checkpoints with its own saver, not MAOO's
            t = time.perf_counter()
            final = run_langgraph(
                durable_graph, initial_state(request, get_settings(), guards).model_dump(mode="json")
            )
            peer_ms = (time.perf_counter() - t) * 1000
            assert final["status"] == "succeeded", final.get("stop_reason")
            saves.restore()
    return whole_ms, peer_ms


def measure_engines(repeat: int) -> dict[str, Any]:
    import tempfile

    from bench.drivers import build_langgraph, run_direct, run_langgraph, sqlite_checkpointer
    from chalicelib.workflow.runs import execute, initial_state
    from embedded_engine import get_embedded_engine
    from localrun.session import Session

    saves = Checkpoints()
    folder = tempfile.mkdtemp(prefix="maoo-bench-langgraph-")

    results: dict[str, Any] = {}
    with Session() as session:
        session.arm_faults([])
        session.run("calculate 1 + 1")  # engine and mock API warm
        engine = get_embedded_engine(session.settings, {})  # the engine the warm-up run started
        timed = Timed(engine.handlers)
        engine.handlers.update(timed.wrapped())
        runner = engine.runner()
        from app import app
        from chalicelib.api import RunService
        from embedded_engine import open_embedded_runner

        service = RunService(lambda: app.handler_map, embedded=open_embedded_runner)  # POST /runs' own
        try:
            graph = build_langgraph(timed.wrapped())
        except ImportError:
            graph = None
        try:
            durable_graph = build_langgraph(
                timed.wrapped(), sqlite_checkpointer(os.path.join(folder, "langgraph.sqlite3"))
            )
        except ImportError:  # langgraph-checkpoint-sqlite: the bench extra
            durable_graph = None
        for label, (request, guards) in WORKLOADS.items():
            rows: dict[str, list[float]] = defaultdict(list)
            per_function: dict[str, list[float]] = defaultdict(list)
            calls: dict[str, int] = {}
            for number in range(repeat):
                whole_ms, peer_ms = _headline_pair(number, service, durable_graph, saves, request, guards)
                rows["whole_run_ms"].append(whole_ms)
                if durable_graph is not None:
                    rows["langgraph_sqlite_ms"].append(peer_ms)
                    rows["whole_over_langgraph_sqlite_paired"].append(whole_ms / peer_ms)

                start = initial_state(request, session.settings, guards)
                timed.reset()
                saves.timed()
                t = time.perf_counter()
                arn = runner.start(start.run_id, start.model_dump(mode="json"))
                described = runner.wait(arn)
                exec_s = (
                    time.perf_counter() - t
                )  # start to end of the execution; reading the history is apart
                rows["checkpoint_ms_per_state"].append(saves.seconds / max(saves.count, 1) * 1000)
                rows["checkpoints"].append(saves.count)
                execution = runner.collect(arn, described)
                states = sum(1 for e in execution.history if "stateEnteredEventDetails" in e)
                assert execution.status == "SUCCEEDED", execution.error
                rows["embedded_execution_ms"].append(exec_s * 1000)
                rows["embedded_per_state_overhead_ms"].append((exec_s - timed.total) / states * 1000)
                rows["states"].append(states)
                for name, seconds in timed.seconds.items():
                    per_function[name].append(seconds / timed.calls[name] * 1000)
                calls = dict(timed.calls)
                runner.release(arn)

                t = time.perf_counter()
                execute(
                    runner, session.settings, initial_state(request, session.settings, guards), "embedded"
                )
                rows["embedded_run_ms"].append((time.perf_counter() - t) * 1000)

                saves.off()  # the peers below run the layers without MAOO's checkpoints
                timed.reset()
                t = time.perf_counter()
                _, visited = run_direct(
                    timed.real, initial_state(request, session.settings, guards).model_dump(mode="json")
                )
                rows["direct_ms"].append((time.perf_counter() - t) * 1000)
                rows["direct_states"].append(visited)

                if graph is not None:
                    timed.reset()
                    t = time.perf_counter()
                    run_langgraph(
                        graph, initial_state(request, session.settings, guards).model_dump(mode="json")
                    )
                    rows["langgraph_ms"].append((time.perf_counter() - t) * 1000)
                    rows["langgraph_per_state_overhead_ms"].append(
                        ((time.perf_counter() - t) - timed.total) / visited * 1000
                    )
                saves.restore()
            summary: dict[str, Any] = {key: round(_median(values), 3) for key, values in rows.items()}
            summary["embedded_over_direct"] = round(
                summary["embedded_execution_ms"] / summary["direct_ms"], 2
            )
            if graph is not None:
                summary["embedded_over_langgraph"] = round(
                    summary["embedded_execution_ms"] / summary["langgraph_ms"], 2
                )
            if durable_graph is not None:
                summary["embedded_over_langgraph_sqlite"] = round(
                    summary["embedded_execution_ms"] / summary["langgraph_sqlite_ms"], 2
                )
                summary["whole_over_langgraph_sqlite"] = round(
                    summary["whole_run_ms"] / summary["langgraph_sqlite_ms"], 2
                )
            summary["handler_ms_per_call"] = {name: round(_median(v), 3) for name, v in per_function.items()}
            summary["calls_per_run"] = calls
            results[label] = summary
        engine.handlers.update(timed.real)
    saves.restore()
    return results


def measure_eval(workers: tuple[int, ...]) -> dict[str, Any]:
    """Eval throughput: every scenario of eval/scenarios.json through the state machine, per worker count."""
    import tempfile

    from eval.models import load_scenarios
    from eval.runner import run_scenarios

    scenarios = load_scenarios()
    results = {}
    saved = os.environ.pop("MAOO_MOCK_API_URL", None)  # workers start their own mock API
    try:
        for count in workers:
            with tempfile.TemporaryDirectory(prefix="maoo-bench-eval-") as folder:
                run = run_scenarios(scenarios, workers=count, runtime_dir=Path(folder))
            results[f"workers_{count}"] = {
                "scenarios": len(scenarios),
                "seconds": round(run.duration_s, 2),
                "scenarios_per_second": round(len(scenarios) / run.duration_s, 2),
                "failing": len(run.failing),
            }
    finally:
        if saved is not None:
            os.environ["MAOO_MOCK_API_URL"] = saved
    return results


def _headline(engines: dict[str, Any]) -> list[str]:
    lines = [
        "Headline: a whole run (POST /runs with wait: execution, run document and trace stored) against "
        "LangGraph + SqliteSaver's whole invoke of the same handlers, warm, in one process, interleaved "
        "(alternating which goes first); execution only (start to end of the execution) is secondary:",
        "",
        "| workload | states | MAOO whole run (ms) | LangGraph + SqliteSaver (ms) | whole/peer | whole/peer, "
        "median of pairs | MAOO execution only (ms) | execution/peer |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in engines.items():
        lines.append(
            f"| {label} | {row['states']:.0f} | {row['whole_run_ms']:.1f} | "
            f"{row.get('langgraph_sqlite_ms', float('nan')):.1f} | "
            f"{row.get('whole_over_langgraph_sqlite', float('nan')):.2f}x | "
            f"{row.get('whole_over_langgraph_sqlite_paired', float('nan')):.2f}x | "
            f"{row['embedded_execution_ms']:.1f} | {row.get('embedded_over_langgraph_sqlite', float('nan')):.2f}x |"
        )
    return lines


def _markdown(data: dict[str, Any]) -> str:
    from bench import cold_cli, soak, soak_http, trace_sizes

    lines = [
        f"Machine: {data['machine']}; Python {data['python']}; {data['date']}; median of {data['repeat']} runs.",
        "",
        *_headline(data["engines"]),
    ]
    if "trace_sizes" in data:
        lines += ["", *trace_sizes.markdown(data["trace_sizes"])]
    lines += [
        "",
        "Engines, execution only (no run document, no trace):",
        "",
    ]
    lines += [
        "| workload | states | embedded run (ms) | embedded execution (ms) | per-state overhead (ms) "
        "| direct (ms) | LangGraph (ms) | embedded/direct | embedded/LangGraph |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in data["engines"].items():
        lines.append(
            f"| {label} | {row['states']:.0f} | {row['embedded_run_ms']:.1f} | {row['embedded_execution_ms']:.1f} | "
            f"{row['embedded_per_state_overhead_ms']:.2f} | {row['direct_ms']:.1f} | "
            f"{row.get('langgraph_ms', float('nan')):.1f} | "
            f"{row['embedded_over_direct']:.1f}x | {row.get('embedded_over_langgraph', float('nan')):.1f}x |"
        )
    lines += [
        "",
        "Durable runs: MAOO checkpoints after every Task state (SQLite, WAL, synchronous=NORMAL); LangGraph with "
        "langgraph-checkpoint-sqlite's SqliteSaver checkpoints after every super-step:",
        "",
        "| workload | MAOO durable execution (ms) | LangGraph + SqliteSaver (ms) | MAOO/LangGraph+SQLite | "
        "checkpoints per run | cost of a checkpoint (ms per state) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in data["engines"].items():
        lines.append(
            f"| {label} | {row['embedded_execution_ms']:.1f} | {row.get('langgraph_sqlite_ms', float('nan')):.1f} | "
            f"{row.get('embedded_over_langgraph_sqlite', float('nan')):.2f}x | {row.get('checkpoints', 0):.0f} | "
            f"{row.get('checkpoint_ms_per_state', float('nan')):.2f} |"
        )
    cold = data["cold_start"]
    lines += [
        "",
        f"Cold start (fresh interpreter; interpreter alone {cold['interpreter_start_ms']:.0f} ms):",
        "",
        "| handler | import app (ms) | first call (ms) | import + first call (ms) | peak RSS (MB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in cold["handlers"].items():
        lines.append(
            f"| {name} | {row['import_ms']:.0f} | {row['first_call_ms']:.0f} | {row['import_ms'] + row['first_call_ms']:.0f} | "
            f"{row['peak_rss_mb']:.0f} |"
        )
    lines += [
        "",
        f"AWS cost per 1,000 runs (prices {data['prices_as_of']}):",
        "",
        "| workload | Lambda | Standard workflow | Express workflow | total (Standard) | total (Express) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, row in data["cost_per_1000_runs"].items():
        lines.append(
            f"| {label} | ${row['lambda_usd']:.4f} | ${row['standard_workflow_usd']:.4f} | ${row['express_workflow_usd']:.4f} | "
            f"${row['total_standard_usd']:.4f} | ${row['total_express_usd']:.4f} |"
        )
    if "cold_cli" in data:
        lines += ["", *cold_cli.markdown(data["cold_cli"])]
    if "soak" in data:
        lines += ["", *soak.markdown(data["soak"])]
    if "soak_http" in data:
        lines += ["", *soak_http.markdown(data["soak_http"])]
    evals = data["eval"]
    lines += [
        "",
        "Eval throughput: "
        + (
            "; ".join(
                f"{k.replace('_', ' ')}: {v['scenarios_per_second']} scenarios/s ({v['scenarios']} in {v['seconds']} s)"
                for k, v in evals.items()
            )
            if "skipped" not in evals
            else evals["skipped"]
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    from bench import cold_cli, coldstart, cost, soak, soak_http, trace_sizes

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(os.environ.get("MAOO_RUNTIME_DIR", "runtime"), "bench"))
    parser.add_argument("--no-eval", action="store_true", help="skip the eval throughput measurement")
    parser.add_argument(
        "--cold-repeat", type=int, default=7, help="fresh processes per cold CLI / LangGraph row"
    )
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another checkout whose cold CLI runs side by side"
    )
    parser.add_argument(
        "--soak-runs", type=int, default=1000, help="runs in one long-lived process (0 skips)"
    )
    parser.add_argument(
        "--headline", action="store_true", help="measure and print the headline table only (no files written)"
    )
    args = parser.parse_args()
    os.environ.setdefault("MAOO_BACKOFF_BASE_SECONDS", "0")

    load = os.getloadavg()
    engines = measure_engines(args.repeat)
    if args.headline:
        after = os.getloadavg()
        print("\n".join(_headline(engines)))
        print(f"\nmedian of {args.repeat}; load average (1 min) {load[0]:.2f} before, {after[0]:.2f} after")
        return
    data: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "repeat": args.repeat,
        "engines": engines,
        "trace_sizes": trace_sizes.measure((20, 40)),
        "cold_start": coldstart.measure(repeat=3),
        "cold_cli": cold_cli.measure_apart(args.cold_repeat, args.baseline),
        "eval": {"skipped": "--no-eval"} if args.no_eval else measure_eval((1, 2)),
        "prices_as_of": cost.PRICES_AS_OF,
    }
    if args.soak_runs:
        data["soak"] = soak.measure(args.soak_runs, settle=min(100, args.soak_runs))
        data["soak_http"] = soak_http.measure(args.soak_runs, concurrency=8, settle=min(100, args.soak_runs))
    data["cost_per_1000_runs"] = {
        label: cost.per_thousand_runs(
            transitions=row["states"],
            invocations={
                name: (row["calls_per_run"][name], ms) for name, ms in row["handler_ms_per_call"].items()
            },
            run_seconds=row["embedded_execution_ms"] / 1000,
        )
        for label, row in engines.items()
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    table = _markdown(data)
    (out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
