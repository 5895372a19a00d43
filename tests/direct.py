"""Call an HTTP function of the app as the Python worker does, without a host: its user function, a built
`func.HttpRequest` and output bindings that keep what the function set. The handlers' answers are tested this way;
the HTTP worlds (local host, Azurite, simulators) are left to the end-to-end and proof suites."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import azure.functions as func
from azure.functions.decorators.function_app import FunctionBuilder

T = TypeVar("T")


class Output(Generic[T]):
    """An output binding (`func.Out`): what the function set, None when it set nothing (nothing is enqueued)."""

    def __init__(self) -> None:
        self.value: T | None = None

    def set(self, val: T) -> None:
        self.value = val

    def get(self) -> T | None:
        return self.value


def request(
    method: str,
    route: str,
    *,
    body: bytes = b"",
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    route_params: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    """The request the worker hands a function for `method /api/<route>`."""
    return func.HttpRequest(method, f"https://app.example/api/{route}", body=body, params=dict(params or {}),
                            headers=dict(headers or {}), route_params=dict(route_params or {}))  # fmt: skip


async def call(function: FunctionBuilder, req: func.HttpRequest, **outputs: Output[Any]) -> func.HttpResponse:
    """Run the function on `req` with these output bindings (by argument name); sync functions run inline."""
    answer = function.build().get_user_function()(req, **outputs)
    if inspect.isawaitable(answer):
        answer = await answer
    assert isinstance(answer, func.HttpResponse), answer
    return answer
