"""Azure Functions bindings (v2 programming model). Thin: parse the trigger, call `shared`, shape the answer.

Admin and webhook routes are function-key protected by default (never anonymous).
"""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
