"""local.settings.sample.json is complete: every setting the code reads (the three timers included), values the
app accepts as they are, and the sample company's time zone."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.azurite import ACCOUNT_KEY
from shared import settings
from shared.settings import _Section, load

SAMPLE = Path(__file__).resolve().parents[1] / "local.settings.sample.json"
AZURE_ONLY = {"AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__queueServiceUri"}  # managed identity


def test_the_sample_names_every_setting_and_each_value_parses() -> None:
    values = json.loads(SAMPLE.read_text(encoding="utf-8"))["Values"]
    assert set(settings.setting_names()) - AZURE_ONLY <= set(values)
    assert {"EXPORT_SCHEDULE", "IMPORT_SUBSCRIPTION_SCHEDULE", "IMPORT_RECONCILE_SCHEDULE"} <= set(values)
    for section in _Section.__subclasses__():
        load(section, values)  # as the host exports them: empty values included
    assert not [name for name in settings.SECRET_SETTINGS if values.get(name)]  # no secret is committed


def test_the_sample_matches_the_sample_company() -> None:
    values = json.loads(SAMPLE.read_text(encoding="utf-8"))["Values"]
    from sandbox.offline import product_settings

    offline = product_settings("x", "y", "z")
    assert values["OPENAIR_COMPANY_TIMEZONE"] == offline["OPENAIR_COMPANY_TIMEZONE"]
    assert (values["OPENAIR_COMPANY"], values["OPENAIR_USER"]) == (offline["OPENAIR_COMPANY"], offline["OPENAIR_USER"])
    assert ACCOUNT_KEY in values["AzureWebJobsStorage"]  # Azurite's public development key, its default ports
    assert "127.0.0.1:10002" in values["AzureWebJobsStorage"]
