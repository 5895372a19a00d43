"""Azure Functions bindings (v2 programming model). Thin: parse the trigger, call `shared.jobs`, shape the answer.

HTTP routes are function-key protected by default (never anonymous). Schedules come from app settings
(`%EXPORT_SCHEDULE%`, NCRONTAB in UTC); the local host (`python -m sandbox.host`) reads these same decorators.
"""

import azure.functions as func

import functions_admin
import import_functions
import push_functions
from shared import jobs
from shared.runtime import services

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(push_functions.bp)
app.register_functions(functions_admin.bp)
app.register_functions(import_functions.bp)


@app.function_name("export_timer")
@app.timer_trigger(schedule="%EXPORT_SCHEDULE%", arg_name="timer", run_on_startup=False)
@app.queue_output(arg_name="work", queue_name=jobs.EXPORT_QUEUE, connection="AzureWebJobsStorage")
async def export_timer(timer: func.TimerRequest, work: func.Out[list[str]]) -> None:
    """Read OpenAir once for the tenant, plan every mailbox, fan out one message per mailbox with work."""
    result = await jobs.run_export_timer(services())
    work.set(result.messages)


@app.function_name("export_mailbox")
@app.queue_trigger(arg_name="msg", queue_name=jobs.EXPORT_QUEUE, connection="AzureWebJobsStorage")
async def export_mailbox(msg: func.QueueMessage) -> None:
    """Apply one user's planned changes to their mailbox; failures retry, then land in export-mailbox-poison."""
    await jobs.run_export_mailbox(services(), msg.get_body(), dequeue_count=msg.dequeue_count or 1)
