"""Alerts (infra/app/alerts.bicep): failed runs, poison messages and a fired deletion guard, as log search alert
rules over Application Insights that mail the administrator; each query matches what the app really logs."""

from __future__ import annotations

import re

from tests.infra.bicep import REPO, get, items, literal, load, properties, text, text_at

ALERTS = "infra/app/alerts.bicep"
MAIN = "infra/main.bicep"


def rules() -> dict[str, dict[str, str]]:
    found = {}
    for rule in items(load(ALERTS).var("rules")):
        values = {name: text(node) for name, node in properties(rule).items()}
        values["query"] = str(literal(properties(rule)["query"]))
        found[str(literal(properties(rule)["name"]))] = values
    return found


def test_the_three_alerts_exist_and_notify_the_action_group() -> None:
    assert set(rules()) == {"failed-runs", "poison-messages", "deletion-guard"}
    alerts = load(ALERTS)
    rule = alerts.declarations("resource")["alertRules"]
    assert rule.target.startswith("Microsoft.Insights/scheduledQueryRules@")
    loop = rule.node.named_children[-1]
    body = loop.named_children[-1]
    assert text_at(body, "kind") == "'LogAlert'"
    assert text_at(body, "properties", "scopes") == "[applicationInsights.id]"
    assert text_at(body, "properties", "actions", "actionGroups") == "actionGroups"
    assert text(alerts.var("actionGroups")) == "empty(alertEmail) ? [] : [administrators.id]"


def test_the_action_group_mails_the_administrator_given_as_a_parameter() -> None:
    alerts = load(ALERTS)
    group = alerts.declarations("resource")["administrators"]
    assert group.target.startswith("Microsoft.Insights/actionGroups@")
    assert text(group.condition) == "(!empty(alertEmail))"
    (receiver,) = items(get(group.body, "properties", "emailReceivers"))
    assert text_at(receiver, "emailAddress") == "alertEmail"
    assert len(str(literal(get(group.body, "properties", "groupShortName")))) <= 12  # Azure's limit
    main = load(MAIN)
    assert "alertEmail" in main.declarations("param")
    assert literal(main.param_default("alertEmail")) == ""
    module = main.declarations("module")["alerts"]
    assert module.target == "app/alerts.bicep"
    assert text_at(module.body, "params", "alertEmail") == "alertEmail"
    assert text_at(module.body, "params", "applicationInsightsName") == "monitoring.outputs.applicationInsightsName"


def _logged_messages() -> set[str]:
    """Every message the app logs at error level (log.error("...")), from its source."""
    found: set[str] = set()
    for path in (REPO / "shared").rglob("*.py"):
        found.update(re.findall(r'log\.error\(\s*"([^"]+)"', path.read_text(encoding="utf-8")))
    # (The run recorder, shared/jobs/runs.py, logs each worker's poison line word for word, so it is found here.)
    return found


def test_every_message_an_alert_waits_for_is_one_the_app_logs() -> None:
    logged = _logged_messages()
    for name in ("poison-messages", "deletion-guard"):
        query = rules()[name]["query"]
        wanted = re.findall(r'"([^"]+)"', query)
        assert wanted, name
        assert set(wanted) <= logged, f"{name}: {set(wanted) - logged} is never logged"
    poisoned = {m for m in logged if m.endswith("message poisoned")}
    assert poisoned <= set(re.findall(r'"([^"]+)"', rules()["poison-messages"]["query"]))
    guards = {m for m in logged if "deletion budget exceeded" in m}
    assert guards <= set(re.findall(r'"([^"]+)"', rules()["deletion-guard"]["query"]))


def test_failed_runs_count_failed_invocations_per_function() -> None:
    failed = rules()["failed-runs"]
    assert failed["query"] == "requests | where success == false"
    assert "operation_Name" in failed["dimensions"]
