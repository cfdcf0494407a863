"""The CLI's in-process mock API starts only when a run connects to it; its address is known, and
allowlisted exactly, from the start."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from localrun.mock_on_demand import MockApiOnDemand
from localrun.session import Session


def test_a_run_that_calls_no_http_tool_never_starts_the_mock_api():
    with Session() as session:
        doc = session.run("calculate 2 + 2", use_memory=False)
        session.arm_faults([])  # nothing to reset on a server that never started

        assert doc["status"] == "succeeded" and "4" in doc["final_output"]
        assert session.mock is not None and session.mock.started is False
        assert session.settings.allowed_origins() == (session.mock.url,)


def test_a_run_that_fetches_starts_it_on_its_first_call_and_reaches_exactly_that_origin():
    with Session() as session:
        doc = session.run("Fetch mock data, calculate 2 + 2, and summarize the result", use_memory=False)

        assert doc["status"] == "succeeded", doc["stop_detail"]
        assert session.mock.started is True
        fetched = [step for step in doc["steps"] if step["tool"] == "http_get"]
        assert fetched and fetched[0]["ok"] is True
        origin = urlsplit(session.mock.url)
        assert urlsplit(fetched[0]["args"]["url"])[:2] == origin[:2]


def test_a_server_started_on_demand_answers_and_stopping_frees_the_port():
    with Session() as session:
        session.mock.ensure_started()
        session.arm_faults([])  # a started server is reset
        port = urlsplit(session.mock.url).port
        assert session.mock.started

    probe = socket.socket()
    try:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more
    finally:
        probe.close()


def test_stopping_a_server_that_never_started_frees_the_port_at_once():
    mock = MockApiOnDemand()
    port = urlsplit(mock.url).port
    mock.stop()

    probe = socket.socket()
    try:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        probe.close()


def test_a_stop_not_waited_for_still_frees_the_port_for_the_next_server_on_it():
    """A CLI command stops the mock API without waiting (its process ends); in a process that goes
    on, the next server on the same port (a resume in the same process) still gets it."""
    first = MockApiOnDemand()
    first.ensure_started()
    port = urlsplit(first.url).port
    first.stop(wait=False)

    second = MockApiOnDemand(port=port)  # waits for the first to let go of the port
    try:
        second.ensure_started()
        assert second.url == first.url and second.started
    finally:
        second.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # free once a waited-for stop returns
