"""The Azure Functions app (v2 programming model): one blueprint per concern, registered here.

HTTP routes are function-key protected by default (never anonymous). Schedules come from app settings
(`%EXPORT_SCHEDULE%` and friends, NCRONTAB in UTC); the local host (`python -m sandbox.host`) reads these same
decorators. See `blueprints/__init__.py` for what each blueprint holds.
"""

import azure.functions as func

from blueprints import admin, export, importing, push
from shared.logging_setup import configure_logging

# Once per process, before any function runs: every record carries its run's context and no secret.
configure_logging()
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (export, importing, push, admin):
    app.register_functions(blueprint.bp)
