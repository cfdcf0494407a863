"""The parsed definition is kept between processes, under a key that changes with the definition
and with moto, and a cache file that cannot be trusted is parsed afresh."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chalicelib.workflow.definition import load_definition
from embedded_engine import interpreter_speedups as speedups
from embedded_engine.definition_cache import DefinitionCache, ParsedDefinition, cache_key

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = json.dumps(load_definition())


def test_the_key_changes_with_the_definition_and_with_moto():
    same = cache_key(DEFINITION, "5.2.5")

    assert cache_key(DEFINITION, "5.2.5") == same
    assert cache_key(DEFINITION, "5.2.6") != same
    assert cache_key(DEFINITION.replace("Perceive", "Perceived"), "5.2.5") != same


def test_a_stored_parse_loads_back_only_for_its_own_definition_and_moto(tmp_path):
    cache = DefinitionCache(tmp_path, "5.2.5")
    cache.store(DEFINITION, ParsedDefinition(program={"components": 1}, variable_references={"x": []}))

    loaded = cache.load(DEFINITION)
    assert (
        loaded is not None and loaded.program == {"components": 1} and loaded.variable_references == {"x": []}
    )
    assert DefinitionCache(tmp_path, "5.2.6").load(DEFINITION) is None
    assert cache.load(DEFINITION + " ") is None


def test_a_corrupt_or_misnamed_cache_file_is_a_miss(tmp_path):
    cache = DefinitionCache(tmp_path, "5.2.5")
    cache.path_for(DEFINITION).write_bytes(b"not a pickle")
    assert cache.load(DEFINITION) is None

    other = DefinitionCache(tmp_path, "9.9.9")
    other.store(DEFINITION, ParsedDefinition(program=1, variable_references=None))
    other.path_for(DEFINITION).rename(cache.path_for(DEFINITION))  # a file under a name that is not its key
    assert cache.load(DEFINITION) is None


def test_a_parse_is_written_once_and_the_next_start_reads_it_instead_of_parsing(tmp_path):
    cache = DefinitionCache(tmp_path, "5.2.5")
    speedups.patches(load_definition(), cache)
    try:
        program, tree = speedups.parse_definition(DEFINITION)
        references = speedups.variable_references(DEFINITION)
        assert cache.load(DEFINITION) is not None

        speedups.patches(load_definition(), cache)  # what the next process's start does: memory forgotten
        again, lazy_tree = speedups.parse_definition(DEFINITION)
        assert isinstance(lazy_tree, speedups._TreeOnDemand)
        assert type(again) is type(program) and again is not program
        assert speedups.variable_references(DEFINITION) == references
        assert lazy_tree.getText() == tree.getText()  # the real tree, parsed when something asks for it
    finally:
        speedups.patches(load_definition())  # no cache for the rest of this process


def test_a_second_process_runs_from_the_cached_parse(tmp_path):
    probe = (
        "import json, sys\n"
        "from localrun.session import Session\n"
        "from embedded_engine import interpreter_speedups as s\n"
        "with Session() as session:\n"
        "    doc = session.run('calculate 2 + 2', use_memory=False)\n"
        "print(json.dumps({'status': doc['status'], 'from_cache': bool(s._loaded_references) and\n"
        "    all(isinstance(s._parsed(d)[1], s._TreeOnDemand) for d in s._loaded_references)}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "MAOO_RUNTIME_DIR": str(tmp_path), "POWERTOOLS_TRACE_DISABLED": "true"}
    seen = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        ).stdout
        seen.append(json.loads(out.strip().splitlines()[-1]))

    assert seen == [{"status": "succeeded", "from_cache": False}, {"status": "succeeded", "from_cache": True}]
    assert len(list((tmp_path / "cache").glob("asl-*.pickle"))) == 1
