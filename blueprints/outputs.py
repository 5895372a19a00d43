"""Annotations of output bindings, written in the one form the Python worker accepts.

When the worker indexes the app it checks each annotation with the azure-functions library's converters; on
Python 3.11 the queue converter accepts `typing.List[str]` and refuses the builtin `list[str]`, and a single
refusal stops every function of the app (Azure/azure-functions-python-worker#1034). `sandbox/host` applies the
same check, so a builtin generic here fails the local host and the tests, not a deploy.
"""

import typing

import azure.functions as func

# Several queue messages from one invocation (one per mailbox, one per record).
QueueMessages = func.Out[typing.List[str]]  # noqa: UP006 - see the module docstring
# One queue message.
QueueMessage = func.Out[str]
