"""What the embedded engine changes in moto's Step Functions interpreter, for speed alone.

moto's interpreter (LocalStack's, vendored) redoes pure work on every execution and every state:
it parses the whole ASL definition with ANTLR for each execution (about 45 ms here), builds a
yacc parser for each JSONPath it meets, and deep-copies the execution's JSON documents a dozen
times per state (about 1.8 ms per state on a 15 KB document, most of what the engine costs).
Each change below keeps what an execution does and removes only the repeated work:

- ``parse_definition``: a definition is parsed once, not once per execution (and once more per
  ``DescribeExecution``); its evaluation components are shared by its executions when they are
  declarations only (see the function).
- ``cached_jsonpath``: a JSONPath is parsed once; a parsed path is not changed by its use.
- ``share_document``: the interpreter's copies share what nobody changes. moto copies a document
  whenever it reads one so that no reader can change what another holds; with the states our
  definition uses, the only change made in place is ``ResultPath`` setting one field at the top
  of the state's input, and the Lambda integration replacing top-level parameters (it turns
  ``Payload`` into JSON bytes). A copy of the top level keeps both exact. ``shares_safely``
  says whether a definition stays inside that set; when it does not, ``copy_document`` (a full
  deep copy, done in C by pickle) is used instead.

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
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Callable
from unittest import mock

from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import json_path

_original_parse = AmazonStateLanguageParser.parse

# moto's interpreter modules that deep-copy the execution's JSON documents on every state
SHARING_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service",
)
_IMMUTABLE = (str, int, float, bool, type(None))
# what ``share_document`` is proven for: these state types, Tasks that invoke a Lambda function,
# paths into the state's input only, and ResultPaths of at most one field
SHARING_STATE_TYPES = frozenset({"Task", "Choice", "Wait", "Succeed", "Fail", "Pass"})
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_ONE_FIELD = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)?$")


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


def shares_safely(definition: dict[str, Any]) -> list[str]:
    """Why ``share_document`` would not be exact for ``definition``: one line per feature outside
    the set it is proven for (see the module's docstring). An empty list: sharing is exact."""
    reasons: list[str] = []
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        reasons.append(f"QueryLanguage {definition['QueryLanguage']}")
    for name, state in definition.get("States", {}).items():
        kind = state.get("Type")
        if kind not in SHARING_STATE_TYPES:
            reasons.append(f"state {name}: Type {kind}")
        if kind == "Task" and state.get("Resource") != LAMBDA_INVOKE:
            reasons.append(f"state {name}: Resource {state.get('Resource')}")
        for key in ("Assign", "QueryLanguage", "Arguments", "Output"):
            if key in state:
                reasons.append(f"state {name}: {key}")
        result_paths = [state.get("ResultPath")] + [catch.get("ResultPath") for catch in state.get("Catch", [])]
        for path in result_paths:
            if path is not None and not _ONE_FIELD.match(path):
                reasons.append(f"state {name}: ResultPath {path}")
        for path in _dynamic_values(state):
            if path.startswith("$$") or path.startswith("States."):
                reasons.append(f"state {name}: {path}")
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


def cached_jsonpath(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` with each path parsed once. moto parses every JSONPath on every use, building a
    fresh yacc parser each time; parsed paths are not mutated by ``find`` or ``update_or_create``."""
    return lru_cache(maxsize=512)(parse)


@lru_cache(maxsize=16)
def _parsed(definition: str) -> tuple[Any, Any, bool]:
    program, tree = _original_parse(definition)
    return program, tree, not shares_safely(json.loads(definition))


def parse_definition(definition: str) -> tuple[Any, Any]:
    """``AmazonStateLanguageParser.parse``, each definition parsed once.

    The interpreter keeps all of an execution's state in its ``Environment``; the evaluation
    components of the states ``shares_safely`` accepts hold only what the definition declares (no
    component assigns to itself while it evaluates), so executions share them. For any other
    definition each call gets components of its own, built afresh from the kept parse tree.
    Syntax errors still raise ``ASLParserException`` (an error is not kept)."""
    program, tree, shareable = _parsed(definition)
    if shareable:
        return program, tree
    return Preprocessor().visit(tree), tree


def patches(definition: dict[str, Any]) -> list[Any]:
    """The ``mock.patch`` objects that apply the changes above to executions of ``definition``;
    start them to apply them."""
    copier = copy_document if shares_safely(definition) else share_document
    return [
        mock.patch.object(json_path, "parse", cached_jsonpath(json_path.parse)),
        mock.patch.object(result_path, "parse", cached_jsonpath(result_path.parse)),
        mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse_definition)),
        *(mock.patch.object(importlib.import_module(name), "copy", SimpleNamespace(deepcopy=copier))
          for name in SHARING_MODULES),
        mock.patch.object(event_manager, "copy", SimpleNamespace(deepcopy=copy_document)),
    ]
