"""Index a function app from its decorators: the one source of truth for routes, schedules and queues.

`app.get_functions()` builds each function once and raises ValueError if called again on the same app, so
its result is cached per app object. Each Function's trigger and bindings are read through the
azure-functions API and turned into a `FunctionSpec` with `%SETTING%` expressions already resolved.
Functions with a trigger or binding this host cannot run are skipped with the reason, not half-run.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions.decorators.core import Binding

from sandbox.host.annotations import check_app
from sandbox.host.ncrontab import NcrontabError, Schedule
from sandbox.host.settings import AppSettings, SettingsError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")

_cache: weakref.WeakKeyDictionary[func.FunctionApp, list[func.Function]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


class AppLoadError(RuntimeError):
    """The app module or attribute cannot be imported, or is not a FunctionApp."""


@dataclass(frozen=True)
class HttpTriggerSpec:
    route: str
    methods: frozenset[str] | None  # None: every method
    auth_level: str  # anonymous | function | admin


@dataclass(frozen=True)
class TimerTriggerSpec:
    schedule: Schedule
    run_on_startup: bool


@dataclass(frozen=True)
class QueueSpec:
    """A queue trigger or a queue output binding: queue name resolved, connection setting name."""

    queue_name: str
    connection: str


@dataclass(frozen=True)
class QueueOutputSpec:
    arg_name: str  # `$return` when the return value is the message
    queue: QueueSpec


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    trigger_type: str  # httpTrigger | timerTrigger | queueTrigger
    trigger_arg: str
    user_function: Callable[..., Any]
    is_async: bool
    wants_context: bool
    outputs: tuple[QueueOutputSpec, ...]
    http: HttpTriggerSpec | None = None
    timer: TimerTriggerSpec | None = None
    queue: QueueSpec | None = None


@dataclass(frozen=True)
class Skipped:
    """A function the host does not run: unsupported (`in_error` False) or misconfigured (`in_error` True)."""

    name: str
    reason: str
    in_error: bool


@dataclass(frozen=True)
class AppIndex:
    functions: tuple[FunctionSpec, ...]
    skipped: tuple[Skipped, ...]

    def by_name(self, name: str) -> FunctionSpec | None:
        return next((f for f in self.functions if f.name.lower() == name.lower()), None)

    def of_type(self, trigger_type: str) -> list[FunctionSpec]:
        return [f for f in self.functions if f.trigger_type == trigger_type]


def load_app(target: str) -> func.FunctionApp:
    """Import `module:attr` (attr defaults to `app`) and check it is a FunctionApp."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppLoadError(f"cannot import function app module {module_name!r}: {exc}") from exc
    app = getattr(module, attr or "app", None)
    if not isinstance(app, func.FunctionApp):
        raise AppLoadError(f"{target!r} is not an azure.functions.FunctionApp (got {type(app).__name__})")
    return app


def functions_of(app: func.FunctionApp) -> list[func.Function]:
    """`app.get_functions()`, called at most once per app object."""
    with _cache_lock:
        if app not in _cache:
            _cache[app] = app.get_functions()
        return _cache[app]


def index_app(app: func.FunctionApp, settings: AppSettings) -> AppIndex:
    """Describe every function of the app.

    Like the real host, a function whose binding does not resolve (unknown %SETTING%, bad schedule, bad queue
    name, unbound parameter) is "in error" and not run, while the others still are. An annotation the Python
    worker refuses is different: the worker then fails the whole app's metadata, so AnnotationRefusedError
    refuses the whole app here too, naming every such annotation.
    """
    check_app(functions_of(app))
    specs: list[FunctionSpec] = []
    skipped: list[Skipped] = []
    for function in functions_of(app):
        name = function.get_function_name() or function.get_user_function().__name__
        reason = _unsupported(function)
        if reason:
            skipped.append(Skipped(name, reason, in_error=False))
            continue
        try:
            specs.append(_spec(name, function, settings))
        except (SettingsError, NcrontabError) as exc:
            skipped.append(Skipped(name, str(exc), in_error=True))
    return AppIndex(tuple(specs), tuple(skipped))


def _unsupported(function: func.Function) -> str | None:
    trigger = function.get_trigger()
    kind = trigger.get_binding_name() if trigger else None
    if kind not in ("httpTrigger", "timerTrigger", "queueTrigger"):
        return f"trigger type {kind!r} is not run by the local host"
    for binding in function.get_bindings():
        if binding is trigger:
            continue
        if binding.get_binding_name() not in ("http", "queue"):
            return f"binding {binding.name!r} of type {binding.get_binding_name()!r} is not supported locally"
    return None


def _spec(name: str, function: func.Function, settings: AppSettings) -> FunctionSpec:
    trigger = function.get_trigger()
    assert trigger is not None  # _unsupported() has ruled out a function without one
    user_function = function.get_user_function()
    outputs = tuple(
        QueueOutputSpec(b.name, _queue(b, settings, f"function {name!r} queue output {b.name!r}"))
        for b in function.get_bindings()
        if b is not trigger and b.get_binding_name() == "queue"
    )
    bound = {trigger.name, *(o.arg_name for o in outputs)}
    parameters = set(inspect.signature(user_function).parameters)
    # The Python worker refuses a parameter no binding fills (FunctionLoadError); so does this host.
    unbound = parameters - bound - {"context"}
    if unbound:
        raise SettingsError(f"function {name!r}: parameters {sorted(unbound)} have no binding")
    kind = trigger.get_binding_name()
    spec = FunctionSpec(
        name=name,
        trigger_type=kind,
        trigger_arg=trigger.name,
        user_function=user_function,
        is_async=inspect.iscoroutinefunction(user_function),
        wants_context="context" in parameters,
        outputs=outputs,
    )
    where = f"function {name!r} {kind}"
    if kind == "httpTrigger":
        return _with(spec, http=_http(trigger, settings, where))
    if kind == "timerTrigger":
        expression = settings.resolve(str(getattr(trigger, "schedule", "")), where=where)
        try:
            schedule = Schedule.parse(expression)
        except NcrontabError as exc:
            raise NcrontabError(f"{where}: {exc}") from exc
        return _with(spec, timer=TimerTriggerSpec(schedule, bool(getattr(trigger, "run_on_startup", False))))
    return _with(spec, queue=_queue(trigger, settings, where))


def _with(spec: FunctionSpec, **changes: Any) -> FunctionSpec:
    return FunctionSpec(**{**spec.__dict__, **changes})


def _http(trigger: Binding, settings: AppSettings, where: str) -> HttpTriggerSpec:
    methods: Iterable[Any] | None = getattr(trigger, "methods", None)
    auth_level = getattr(trigger, "auth_level", None)
    return HttpTriggerSpec(
        route=settings.resolve(str(getattr(trigger, "route", "")), where=where).strip("/"),
        methods=frozenset(_text(m).upper() for m in methods) if methods else None,
        auth_level=_text(auth_level).lower() if auth_level is not None else "function",
    )


def _queue(binding: Binding, settings: AppSettings, where: str) -> QueueSpec:
    queue_name = settings.resolve(str(getattr(binding, "queue_name", "")), where=where)
    if not _QUEUE_NAME.match(queue_name):
        raise SettingsError(
            f"{where}: {queue_name!r} is not a valid queue name "
            "(3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)"
        )
    return QueueSpec(queue_name, str(getattr(binding, "connection", "") or DEFAULT_CONNECTION))


def _text(value: Any) -> str:
    # Decorators store enums (AuthLevel, HttpMethod) or plain strings, depending on how they were called.
    return str(getattr(value, "value", value))
