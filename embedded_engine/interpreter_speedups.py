"""What the embedded engine changes in moto's Step Functions interpreter, for speed alone.

moto's interpreter (LocalStack's, vendored) redoes pure work on every execution and every state:
it parses the whole ASL definition with ANTLR for each execution and each ``DescribeExecution``
(about 45 ms here), builds a yacc parser for each JSONPath it meets, deep-copies the execution's
JSON documents a dozen times per state (about 1.8 ms per state on a 15 KB document, most of what
the engine cost), and starts a thread per Task state to time it out. Each change below keeps
what an execution does and removes only the repeated work.

Changes that hold for any definition:

- ``parse_definition``: a definition is parsed once; the ANTLR tree is kept.
- ``cached_jsonpath``: a JSONPath is parsed once; a parsed path is not changed by its use.
- ``result_paths``: a one-field ``ResultPath`` on a dict sets the field, without jsonpath-ng's
  walk over the whole document afterwards (see ``_SetField``).
- ``copy_document``: the deep copies are made by ``pickle``, a copy by the same rules as
  ``copy.deepcopy`` (shared references stay shared) done in C.
- variable references (what ``DescribeExecution`` reports) are worked out once per definition.
- with a ``DefinitionCache``, the parse and the variable references of a proven definition are
  kept between processes (``definition_cache``), so a cold process does not run ANTLR at all.

Changes that hold for the definitions ``unproven_features`` accepts (Task, Choice, Wait, Pass,
Succeed and Fail states; Tasks that invoke a Lambda function, with no timeout of their own;
JSONPath into the state's input; ResultPaths of at most one field), which ours is:

- ``share_document``: the interpreter's copies share what nobody changes. moto copies a document
  whenever it reads one so that no reader can change what another holds; with these states the
  only changes made in place are ``ResultPath`` setting one field at the top of the state's
  input, and the Lambda integration replacing top-level parameters (it turns ``Payload`` into
  JSON bytes). A new top level over the same items keeps both exact.
- evaluation components are shared by a definition's executions: the interpreter keeps an
  execution's state in its ``Environment``, and no component of these states assigns to itself
  while it evaluates.
- ``HistoryText``: the JSON text of the history is kept between copies of a document (see
  ``history_text``).
- ``PayloadSharing``: a Lambda Task's answer shares the fields it left unchanged with the document
  the function was given, instead of being parsed anew (see ``shared_payloads``).
- ``InlineThread``: a Task with no ``TimeoutSeconds`` waits for its evaluation without a time
  limit, so the thread moto starts to time it is replaced by running it where it is.

For any other definition the interpreter keeps its deep copies (made by ``copy_document``), its
components per execution and its Task threads.

They are patched in by ``EmbeddedEngine.start`` and out by ``stop``; the versions they rely on
are pinned with moto in ``pyproject.toml``. Importing this module imports moto's interpreter: only
the embedded engine does, when it starts.
"""

from __future__ import annotations

import copy
import importlib
import json
import pickle
import re
from collections.abc import Callable
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.static_analyser.variable_references_static_analyser import (
    VariableReferencesStaticAnalyser,
)
from moto.stepfunctions.parser.asl.utils import encoding, json_path
from moto.stepfunctions.parser.backend import execution_worker

from embedded_engine.definition_cache import DefinitionCache, ParsedDefinition
from embedded_engine.history_text import HistoryText
from embedded_engine.shared_payloads import PayloadSharing

_original_parse = AmazonStateLanguageParser.parse
_original_variable_references = VariableReferencesStaticAnalyser.process_and_get

# moto's modules that write a state's documents as JSON text on every state (``to_json_str``)
TEXT_WRITING_MODULES = (
    "moto.stepfunctions.parser.quotas",
    "moto.stepfunctions.parser.asl.component.state.state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)
# moto's interpreter modules that deep-copy the execution's JSON documents on every state
COPYING_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)
_IMMUTABLE = (str, int, float, bool, type(None))
PROVEN_STATE_TYPES = frozenset({"Task", "Choice", "Wait", "Succeed", "Fail", "Pass"})
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_ONE_FIELD = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_UNPROVEN_KEYS = (
    "Assign",
    "QueryLanguage",
    "Arguments",
    "Output",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
)


def unproven_features(definition: dict[str, Any]) -> list[str]:
    """Why the definition-dependent changes would not be exact for ``definition``: one line per
    feature outside the set they are proven for (see the module's docstring). Empty: exact."""
    reasons: list[str] = []
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        reasons.append(f"QueryLanguage {definition['QueryLanguage']}")
    for name, state in definition.get("States", {}).items():
        kind = state.get("Type")
        if kind not in PROVEN_STATE_TYPES:
            reasons.append(f"state {name}: Type {kind}")
        if kind == "Task" and state.get("Resource") != LAMBDA_INVOKE:
            reasons.append(f"state {name}: Resource {state.get('Resource')}")
        reasons += [f"state {name}: {key}" for key in _UNPROVEN_KEYS if key in state]
        result_paths = [state.get("ResultPath")] + [
            catch.get("ResultPath") for catch in state.get("Catch", [])
        ]
        reasons += [
            f"state {name}: ResultPath {path}"
            for path in result_paths
            if path is not None and not _ONE_FIELD.match(path)
        ]
        reasons += [
            f"state {name}: {path}" for path in _dynamic_values(state) if path.startswith(("$$", "States."))
        ]
    return reasons


def _dynamic_values(value: Any):
    """Every path or intrinsic a state evaluates: the values of ``*.$`` and ``*Path`` keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith(".$") or key.endswith("Path")):
                yield item
            else:
                yield from _dynamic_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dynamic_values(item)


def copy_document(value: Any, memo: Any = None) -> Any:
    """``copy.deepcopy`` for the interpreter's documents, several times faster on a JSON document.

    Scalars are returned as they are (as ``deepcopy`` does); dicts and lists go through a pickle
    round trip; anything pickle cannot take falls back to ``copy.deepcopy``."""
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) in (dict, list):
        try:
            return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - an object pickle refuses: deepcopy knows more kinds
            pass
    return copy.deepcopy(value, memo)


def share_document(value: Any, memo: Any = None) -> Any:
    """The interpreter's ``copy.deepcopy`` where only the top level of a document is ever changed:
    a new dict or list whose items are shared. Other kinds are deep-copied as before."""
    kind = type(value)
    if kind is dict:
        return dict(value)
    if kind is list:
        return list(value)
    if isinstance(value, _IMMUTABLE):
        return value
    return copy.deepcopy(value, memo)


def cached_jsonpath(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` with each path parsed once. moto parses every JSONPath on every use, building a
    fresh yacc parser each time; parsed paths are not mutated by ``find`` or ``update_or_create``."""
    return lru_cache(maxsize=512)(parse)


class _SetField:
    """A parsed one-field ``ResultPath`` (``$.name``): on a dict, ``update_or_create`` is setting
    that field. jsonpath-ng's own then walks the whole document to undo list markers that only its
    own list creation makes (an ``object()`` key, which no JSON document holds); on anything but a
    dict the parsed path itself is used."""

    def __init__(self, name: str, parsed: Any):
        self.name = name
        self.parsed = parsed

    def update_or_create(self, data: Any, val: Any) -> Any:
        if type(data) is dict:
            data[self.name] = val
            return data
        return self.parsed.update_or_create(data, val)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.parsed, attribute)


def result_paths(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` for ``ResultPath``: each path parsed once, one-field paths set directly."""

    @lru_cache(maxsize=512)
    def parse_result_path(path: str) -> Any:
        parsed = parse(path)
        return _SetField(path[2:], parsed) if _ONE_FIELD.match(path) and len(path) > 1 else parsed

    return parse_result_path


_disk: DefinitionCache | None = None  # set by ``patches``: where parsed definitions outlive the process
_loaded_references: dict[str, Any] = {}  # variable references that came from ``_disk``


class _TreeOnDemand:
    """Stands for the ANTLR tree of a definition whose components came from the disk cache: moto
    reads the tree only in static analysers, and the one it runs is answered from the cache too.
    Anything else that asks gets the real tree, parsed then."""

    def __init__(self, definition: str):
        self._definition = definition
        self._tree: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        if self._tree is None:
            self._tree = _original_parse(self._definition)[1]
        return getattr(self._tree, attribute)


@lru_cache(maxsize=16)
def _parsed(definition: str) -> tuple[Any, Any, bool]:
    shared = not unproven_features(json.loads(definition))
    if shared and _disk is not None and (cached := _disk.load(definition)) is not None:
        _loaded_references[definition] = cached.variable_references
        return cached.program, _TreeOnDemand(definition), True
    program, tree = _original_parse(definition)
    if shared and _disk is not None:  # keep what this parse gave for the next process
        analyser = VariableReferencesStaticAnalyser()
        analyser.visit(tree)  # what process_and_get does after its own parse
        references = analyser.get_variable_references()
        _loaded_references[definition] = references
        _disk.store(definition, ParsedDefinition(program=program, variable_references=references))
    return program, tree, shared


def parse_definition(definition: str) -> tuple[Any, Any]:
    """``AmazonStateLanguageParser.parse``, each definition parsed once. A proven definition's
    executions share its evaluation components; any other gets components of its own, built
    afresh from the kept tree. Syntax errors still raise ``ASLParserException`` (not kept)."""
    program, tree, shared = _parsed(definition)
    if shared:
        return program, tree
    return Preprocessor().visit(tree), tree


@lru_cache(maxsize=16)
def _variable_references(definition: str) -> Any:
    _parsed(definition)  # a cached or kept parse brings its variable references along
    if definition in _loaded_references:
        return _loaded_references[definition]
    return _original_variable_references(definition)


def variable_references(definition: str) -> Any:
    """``VariableReferencesStaticAnalyser.process_and_get`` worked out once per definition (each
    caller gets its own copy of the small answer)."""
    return copy.deepcopy(_variable_references(definition))


class InlineThread:
    """Stands in for the ``threading.Thread`` moto starts to time a Task's evaluation: ``start``
    runs the evaluation in the calling thread. Only patched in for definitions whose Tasks have no
    timeout, which moto waits for without a time limit (an execution's own ``TimeoutSeconds`` is
    timed by another thread, which still runs)."""

    def __init__(self, target: Callable[[], None], daemon: bool | None = None):
        self._target: Callable[[], None] | None = target

    def start(self) -> None:
        target, self._target = self._target, None  # as Thread does: keep nothing alive once run
        if target is not None:
            target()

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False


class _Discard(list):
    """moto appends every thread it starts to a module-level list nobody reads, so it grows by one
    per Task state for the life of the process; this list keeps none of them."""

    def append(self, item: Any) -> None:
        return None


def patches(definition: dict[str, Any], cache: DefinitionCache | None = None) -> list[Any]:
    """The ``mock.patch`` objects that apply the changes above to executions of ``definition``;
    start them to apply them. ``cache`` keeps parsed definitions between processes."""
    global _disk
    proven = not unproven_features(definition)
    copier = share_document if proven else copy_document
    _parsed.cache_clear()  # each start decides afresh which definitions share their components
    _variable_references.cache_clear()
    _loaded_references.clear()
    _disk = cache
    applied = [
        mock.patch.object(json_path, "parse", cached_jsonpath(json_path.parse)),
        mock.patch.object(result_path, "parse", result_paths(result_path.parse)),
        mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse_definition)),
        mock.patch.object(
            VariableReferencesStaticAnalyser, "process_and_get", staticmethod(variable_references)
        ),
        *(
            mock.patch.object(importlib.import_module(name), "copy", SimpleNamespace(deepcopy=copier))
            for name in COPYING_MODULES
        ),
        mock.patch.object(event_manager, "copy", SimpleNamespace(deepcopy=copy_document)),
        mock.patch.object(execute_state, "TMP_THREADS", _Discard()),
        mock.patch.object(execution_worker, "TMP_THREADS", _Discard()),
    ]
    if proven:
        applied.append(mock.patch.object(execute_state, "Thread", InlineThread))
        text = HistoryText(encoding._DateTimeEncoder)
        sharing = PayloadSharing(text)
        applied += [
            mock.patch.object(importlib.import_module(name), "to_json_str", text)
            for name in TEXT_WRITING_MODULES
        ]
        applied += [
            mock.patch.object(
                lambda_eval_utils,
                "to_payload_type",
                sharing.to_payload_type(lambda_eval_utils.to_payload_type),
            ),
            mock.patch.object(
                lambda_eval_utils, "_from_payload", sharing.from_payload(lambda_eval_utils._from_payload)
            ),
        ]
    return applied
