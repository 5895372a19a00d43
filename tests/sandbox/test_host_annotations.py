"""The Python worker's annotation rule, as `sandbox/host` applies it with the azure-functions converters.

The worker refuses the whole app when one bound parameter's annotation fails its binding's converter; on
Python 3.11 `func.Out[list[str]]` is such an annotation (Azure/azure-functions-python-worker#1034). The local
host must refuse the same app, naming the function, the parameter, the annotation and a form that works.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from typing import Any

import azure.functions as func
import pytest

import function_app
from sandbox.host import LocalHost
from sandbox.host.annotations import AnnotationRefusedError, check_app, check_function, refusal, return_refusal
from sandbox.host.loader import functions_of
from tests.infra.bicep import REPO


def test_every_function_of_the_app_passes_the_workers_converters() -> None:
    problems = [p.message() for f in functions_of(function_app.app) for p in check_function(f)]
    assert problems == []


@pytest.mark.parametrize(
    ("annotation", "binding_type", "out"),
    [
        (func.Out[typing.List[str]], "queue", True),  # noqa: UP006 - the form the worker accepts
        (func.Out[str], "queue", True),
        (func.Out[bytes], "queue", True),
        (func.QueueMessage, "queueTrigger", False),
        (func.TimerRequest, "timerTrigger", False),
        (func.HttpRequest, "httpTrigger", False),
        (str, "queueTrigger", False),  # str and bytes go to the worker's generic binding
    ],
)
def test_annotations_the_worker_accepts(annotation: Any, binding_type: str, out: bool) -> None:
    assert refusal(annotation, binding_type, out=out) is None


@pytest.mark.parametrize(
    ("annotation", "binding_type", "out", "reason"),
    [
        (func.Out[list[str]], "queue", True, "builtin generics"),
        (func.Out[dict[str, str]], "queue", True, "builtin generics"),
        (func.Out[int], "queue", True, "queue converter"),
        (str, "queue", True, "needs a func.Out"),
        (func.Out[str], "queueTrigger", False, "on an input binding"),
        (func.HttpRequest, "queueTrigger", False, "queueTrigger converter"),
        (func.QueueMessage, "timerTrigger", False, "timerTrigger converter"),
    ],
)
def test_annotations_the_worker_refuses(annotation: Any, binding_type: str, out: bool, reason: str) -> None:
    assert reason in (refusal(annotation, binding_type, out=out) or "accepted")


def test_return_annotation_is_checked_against_its_own_binding() -> None:
    assert return_refusal(func.HttpResponse, "http") is None
    assert return_refusal(str, "queue") is None
    assert "http converter" in (return_refusal(int, "http") or "")
    assert "must not be func.Out" in (return_refusal(func.Out[str], "queue") or "")


def _app_with_a_builtin_generic_output() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="fine", methods=["GET"])
    def fine(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    @app.function_name("fan_out")
    @app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
    @app.queue_output(arg_name="work", queue_name="work-items", connection="AzureWebJobsStorage")
    def fan_out(timer: func.TimerRequest, work: func.Out[list[str]]) -> None:
        work.set(["a", "b"])

    return app


def test_host_refuses_the_whole_app_naming_function_parameter_annotation_and_a_fix() -> None:
    with pytest.raises(AnnotationRefusedError) as refused:
        LocalHost(_app_with_a_builtin_generic_output(), {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    message = str(refused.value)
    assert "'fan_out'" in message
    assert "'work'" in message
    assert "func.Out[list[str]]" in message
    assert "use func.Out[typing.List[str]]" in message
    assert "'fine'" not in message  # the good function is not blamed, yet it does not run either
    assert [p.function for p in refused.value.problems] == ["fan_out"]


def test_check_app_names_every_refusal_at_once() -> None:
    app = _app_with_a_builtin_generic_output()

    @app.function_name("second")
    @app.queue_trigger(arg_name="msg", queue_name="work-items", connection="AzureWebJobsStorage")
    def second(msg: func.HttpRequest) -> None:
        return None

    with pytest.raises(AnnotationRefusedError) as refused:
        check_app(app.get_functions())
    assert [(p.function, p.parameter) for p in refused.value.problems] == [("fan_out", "work"), ("second", "msg")]
    assert "use func.QueueMessage" in refused.value.problems[1].message()


BAD_APP = """
import azure.functions as func
app = func.FunctionApp()
@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
@app.queue_output(arg_name="work", queue_name="work-items", connection="AzureWebJobsStorage")
def fan_out(timer: func.TimerRequest, work: func.Out[list[str]]) -> None:
    work.set([])
"""


def test_cli_refuses_to_start_and_says_what_to_fix(tmp_path: Any) -> None:
    (tmp_path / "bad_app.py").write_text(BAD_APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.host", "--app", "bad_app:app", "--port", "0",
         "--settings", str(tmp_path / "none.json"), "--host-json", str(tmp_path / "host.json")],
        cwd=tmp_path, env={"PYTHONPATH": f"{tmp_path}:{REPO}", "AzureWebJobsStorage": "UseDevelopmentStorage=true"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""  # no URL: nothing is served
    assert "host not started" in done.stderr
    assert "'fan_out', parameter 'work' annotated func.Out[list[str]]" in done.stderr
    assert "func.Out[typing.List[str]]" in done.stderr
