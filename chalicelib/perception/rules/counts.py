"""The count rule: "how many open incidents", "count the failed deployments", "number of services"."""

from __future__ import annotations

from chalicelib.contracts import Condition, make_subtask
from chalicelib.perception import fragments as fr
from chalicelib.perception.accounting import terms
from chalicelib.perception.rules.context import Context
from chalicelib.perception.rules.fetch import service_filters
from chalicelib.perception.rules.rule import Rule


def count(ctx: Context, text: str, named: list[str], window: str | None, condition: Condition | None) -> bool:
    service = ctx.pronoun_service(text, named)
    if fr.INCIDENTS.search(text):
        severity = next((v for k, v in terms(text) if k == "severity"), None)
        index = ctx.incident_count(service, fr.incident_status(text), text, severity)
        if condition:
            ctx.tasks[index] = ctx.tasks[index].model_copy(update={"condition": condition})
        ctx.last_compute = index  # "if the count is at least 2", "double it"
        return True
    resource = "deployments" if fr.DEPLOYMENTS.search(text) else "services"
    status = fr.deploy_status(text) if resource == "deployments" else fr.service_status(text)
    filters = service_filters(text) if resource == "services" else {}
    of_service = f"of {service}" if service and resource == "deployments" else ""
    what = " ".join(x for x in (status, resource, of_service) if x)
    ctx.last_compute = ctx.add(
        make_subtask(
            kind="query",
            text=text,
            params={
                "resource": resource,
                "aggregate": "count",
                "status": status,
                "service": service if resource == "deployments" else None,
                **filters,
            },
            success_criteria=[f"{what} counted"],
        ),
        condition,
    )
    return True


def _counts_something(text: str, named: list[str]) -> bool:
    counted = (
        fr.INCIDENTS.search(text)
        or fr.DEPLOYMENTS.search(text)
        or (fr.SERVICES_LIST.search(text) and not named)
    )
    return bool(fr.COUNT.search(text) and counted)


COUNT = Rule(
    "count",
    fr.COUNT,
    count,
    (
        ("how many resolved incidents are there", ("query",)),
        ("count the failed deployments", ("query",)),
        ("number of services in us-east-1", ("query",)),
    ),
    applies=_counts_something,
)
