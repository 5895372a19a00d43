"""Export bindings (OpenAir → Microsoft 365): the timer that plans the tenant and the per-mailbox worker."""

import azure.functions as func

from blueprints.outputs import QueueMessages
from shared.jobs import export
from shared.jobs.contracts import EXPORT_QUEUE
from shared.runtime import services

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves __init__ unannotated


@bp.function_name("export_timer")
@bp.timer_trigger(schedule="%EXPORT_SCHEDULE%", arg_name="timer", run_on_startup=False)
@bp.queue_output(arg_name="work", queue_name=EXPORT_QUEUE, connection="AzureWebJobsStorage")
async def export_timer(timer: func.TimerRequest, work: QueueMessages) -> None:
    """Read OpenAir once for the tenant, plan every mailbox, fan out one message per mailbox with work."""
    result = await export.run_export_timer(services())
    work.set(result.messages)


@bp.function_name("export_mailbox")
@bp.queue_trigger(arg_name="msg", queue_name=EXPORT_QUEUE, connection="AzureWebJobsStorage")
async def export_mailbox(msg: func.QueueMessage) -> None:
    """Apply one user's planned changes to their mailbox; failures retry, then land in export-mailbox-poison."""
    await export.run_export_mailbox(services(), msg.get_body(), dequeue_count=msg.dequeue_count or 1)
