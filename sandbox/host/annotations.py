"""The Python worker's annotation rule: every bound parameter's annotation must pass its binding's converter.

When the real worker indexes a v2 app it reads each function's type hints and asks the azure-functions
library's converters (`azure.functions._registry().get(binding_type)`) whether they accept
them: `check_input_type_annotation` for input and trigger parameters, `check_output_type_annotation` for
`func.Out[...]` parameters and the `$return` annotation (azure-functions-python-worker,
`azure_functions_worker/functions.py`, `validate_function_params`). One refusal fails the metadata of the
whole app, so after a deploy that "succeeded" no function runs at all. This module states that rule once,
with the library's own converters, so the local host refuses what Azure refuses.

Two details of the worker matter and are reproduced here: only classes and `typing` generics count as
types (a builtin generic such as `list[str]` does not, so `func.Out[list[str]]` is refused on Python 3.11,
Azure/azure-functions-python-worker#1034), and a `str`/`bytes` annotation on a binding without implicit
output is checked by the worker's "generic" binding, which takes `str` and `bytes` (and `bytearray` out).
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.decorators.core import BindingDirection

RETURN = "$return"

# Forms offered in the refusal message; each is offered only where the converter accepts it.
_CANDIDATES: tuple[Any, ...] = (
    func.HttpRequest,
    func.TimerRequest,
    func.QueueMessage,
    func.HttpResponse,
    func.Out[str],
    func.Out[typing.List[str]],  # noqa: UP006 - the worker's converters take typing generics, not builtin ones
    func.Out[func.HttpResponse],
    str,
    bytes,
)
# A builtin generic and the typing generic the worker accepts in its place.
_TYPING_EQUIVALENT: dict[Any, Any] = {list: typing.List, dict: typing.Dict}  # noqa: UP006


@dataclass(frozen=True)
class AnnotationProblem:
    """One parameter (or the return value) whose annotation the worker would refuse."""

    function: str
    parameter: str
    annotation: str
    binding_type: str
    reason: str
    accepted: tuple[str, ...]

    def message(self) -> str:
        accepted = f"; use {self.accepted[0]}" if self.accepted else ""
        others = f" (also accepted: {', '.join(self.accepted[1:])})" if len(self.accepted) > 1 else ""
        return (
            f"function {self.function!r}, parameter {self.parameter!r} annotated {self.annotation} "
            f"({self.binding_type} binding): {self.reason}{accepted}{others}"
        )


class AnnotationRefusedError(RuntimeError):
    """The worker would refuse the whole app: at least one annotation does not pass its converter."""

    def __init__(self, problems: list[AnnotationProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {problem.message()}" for problem in problems)
        super().__init__(
            f"the Python worker would refuse this app (no function would run on Azure); fix these annotations:\n{lines}"
        )


def check_app(functions: Iterable[func.Function]) -> None:
    """Raise AnnotationRefusedError naming every refused annotation of every function; None when all pass."""
    problems = [problem for function in functions for problem in check_function(function)]
    if problems:
        raise AnnotationRefusedError(problems)


def check_function(function: func.Function) -> list[AnnotationProblem]:
    """The worker's verdict on one function: every bound parameter and the `$return` annotation."""
    user_function = function.get_user_function()
    name = function.get_function_name() or user_function.__name__
    try:
        hints = typing.get_type_hints(user_function)
    except Exception as exc:  # an annotation that does not evaluate stops the worker the same way
        return [AnnotationProblem(name, "*", "?", "?", f"type hints do not evaluate ({exc})", ())]
    bindings = {binding.name: binding for binding in function.get_bindings()}
    kinds = {name: str(binding.type) for name, binding in bindings.items()}
    problems: list[AnnotationProblem] = []
    for parameter in inspect.signature(user_function).parameters:
        binding = bindings.get(parameter)
        if binding is not None and parameter in hints:
            reason = refusal(hints[parameter], kinds[parameter], out=_is_output(binding.direction))
            if reason:
                problems.append(_problem(name, parameter, hints[parameter], kinds[parameter], reason, out=None))
        elif parameter == "context" and "context" in hints and hints["context"] is not func.Context:
            problems.append(_problem(name, parameter, hints[parameter], "context", "expected func.Context", None))
    returned = bindings.get(RETURN)
    if returned is not None and "return" in hints:
        reason = return_refusal(hints["return"], kinds[RETURN])
        if reason:
            problems.append(_problem(name, RETURN, hints["return"], kinds[RETURN], reason, out=True))
    return problems


def refusal(annotation: Any, binding_type: str, *, out: bool) -> str | None:
    """Why the worker refuses `annotation` on a parameter bound to `binding_type`, or None if it accepts it."""
    is_out = _is_out(annotation)
    if is_out:
        arguments = typing.get_args(annotation)
        if len(arguments) != 1:
            return "func.Out takes exactly one type argument"
        python_type = arguments[0]
    else:
        python_type = annotation
    if not _is_type(python_type):
        return "not a class or typing generic (builtin generics such as list[str] are refused)"
    if out and not is_out:
        return "an output binding needs a func.Out[...] annotation"
    if is_out and not out:
        return "func.Out[...] on an input binding"
    converter_type = _converter_type(binding_type, python_type)
    accepts = _checker(converter_type, out=out)
    if not accepts(python_type):
        return f"the {converter_type} converter of azure-functions refuses {describe(python_type)}"
    return None


def return_refusal(annotation: Any, binding_type: str) -> str | None:
    """Why the worker refuses a return annotation for a `$return` binding of `binding_type`, or None."""
    if _is_out(annotation):
        return "a return annotation must not be func.Out"
    if not isinstance(annotation, type):
        return "not a class"
    # The worker checks the return type against the binding's own converter (never the generic one).
    if not _checker(binding_type, out=True)(annotation):
        return f"the {binding_type} converter of azure-functions refuses {describe(annotation)}"
    return None


def describe(annotation: Any) -> str:
    """An annotation as it is written in the app: `func.Out[typing.List[str]]`, `str`, `func.HttpRequest`."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        module = annotation.__module__
        return f"func.{annotation.__name__}" if module.startswith("azure.functions") else annotation.__qualname__
    text = repr(annotation)
    return re.sub(r"azure\.functions\.(?:[A-Za-z_]+\.)*(?=[A-Z])", "func.", text)


def _problem(
    function: str, parameter: str, annotation: Any, binding_type: str, reason: str, out: bool | None
) -> AnnotationProblem:
    direction = _is_out(annotation) if out is None else out
    accepted = _accepted_forms(annotation, binding_type, out=direction, is_return=parameter == RETURN)
    return AnnotationProblem(function, parameter, describe(annotation), binding_type, reason, accepted)


def _accepted_forms(annotation: Any, binding_type: str, *, out: bool, is_return: bool) -> tuple[str, ...]:
    """Forms this binding accepts, the one nearest to what was written first (list[str] -> typing.List[str])."""
    nearest = []
    inner = typing.get_args(annotation)[0] if _is_out(annotation) and typing.get_args(annotation) else annotation
    origin = typing.get_origin(inner)
    if origin in _TYPING_EQUIVALENT:
        equivalent: Any = _TYPING_EQUIVALENT[origin][typing.get_args(inner)]
        out_type: Any = func.Out
        nearest.append(out_type[equivalent] if _is_out(annotation) else equivalent)

    def accepted(candidate: Any) -> bool:
        if is_return:
            return return_refusal(candidate, binding_type) is None
        return refusal(candidate, binding_type, out=out) is None

    forms = [describe(c) for c in (*nearest, *_CANDIDATES) if accepted(c)]
    return tuple(dict.fromkeys(forms))


def _is_output(direction: Any) -> bool:
    # Built functions hold the direction as the enum's value (an int); decorators as the enum.
    return bool(getattr(direction, "value", direction) == BindingDirection.OUT.value)


def _is_out(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and bool(origin.__name__ == "Out")


def _is_type(annotation: Any) -> bool:
    """A class, or a generic from `typing` (the worker's vendored typing_inspect.is_generic_type)."""
    if isinstance(annotation, type):
        return True
    # typing's generic aliases (List[str], bare List) count; builtin ones (list[str]) and Union/Callable do not.
    typing_aliases = (typing._GenericAlias, typing._SpecialGenericAlias)  # type: ignore[attr-defined]
    excluded = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)
    return isinstance(annotation, typing_aliases) and bool(typing.get_origin(annotation) not in excluded)


def _converter_type(binding_type: str, python_type: Any) -> str:
    if python_type in (str, bytes) and not _has_implicit_output(binding_type):
        return "generic"
    return binding_type


def _has_implicit_output(binding_type: str) -> bool:
    converter = _registry().get(binding_type)
    return bool(converter is not None and getattr(converter, "has_implicit_output", lambda: False)())


def _registry() -> Any:
    return meta.get_binding_registry()  # type: ignore[no-untyped-call]  # azure-functions leaves it unannotated


def _checker(binding_type: str, *, out: bool) -> Callable[[Any], bool]:
    converter = _registry().get(binding_type)
    if converter is None:
        # The worker's GenericBinding: str and bytes in; str, bytes and bytearray out.
        accepted = (str, bytes, bytearray) if out else (str, bytes)
        return lambda python_type: isinstance(python_type, type) and issubclass(python_type, accepted)
    check = converter.check_output_type_annotation if out else converter.check_input_type_annotation

    def accepts(python_type: Any) -> bool:
        try:
            return bool(check(python_type))
        except TypeError:  # converters call issubclass(), which a generic alias can make raise: a refusal too
            return False

    return accepts
