"""Unit tests of the webhook wire formats, signature and retry schedule (no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from qbo_emulator.clock import Clock
from qbo_emulator.oauth import OAuthServer
from qbo_emulator.oauth.apps import App
from qbo_emulator.webhooks import (
    Change,
    WebhookDispatcher,
    build_delivery,
    cloudevents_payload,
    legacy_payload,
    retry_delay,
    signature,
)

AT = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)


def test_legacy_groups_by_realm_in_occurrence_order() -> None:
    changes = [
        Change("1", "Customer", "5", "Create", AT),
        Change("2", "Invoice", "9", "Void", AT),
        Change("1", "Vendor", "6", "Update", AT),
    ]
    payload = legacy_payload(changes)
    assert payload == {
        "eventNotifications": [
            {
                "realmId": "1",
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Customer",
                            "id": "5",
                            "operation": "Create",
                            "lastUpdated": "2026-03-04T05:06:07.891Z",
                        },
                        {
                            "name": "Vendor",
                            "id": "6",
                            "operation": "Update",
                            "lastUpdated": "2026-03-04T05:06:07.891Z",
                        },
                    ]
                },
            },
            {
                "realmId": "2",
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Invoice",
                            "id": "9",
                            "operation": "Void",
                            "lastUpdated": "2026-03-04T05:06:07.891Z",
                        }
                    ]
                },
            },
        ]
    }


@pytest.mark.parametrize(
    ("operation", "verb"),
    [("Create", "created"), ("Update", "updated"), ("Delete", "deleted"), ("Void", "voided")],
)
def test_cloudevents_type_follows_the_operation(operation: str, verb: str) -> None:
    [event] = cloudevents_payload([Change("42", "BillPayment", "7", operation, AT)], "cid")
    assert event["type"] == f"qbo.billpayment.{verb}.v1"
    assert event["intuitaccountid"] == "42"
    assert event["intuitentityid"] == "7"
    assert event["time"] == "2026-03-04T05:06:07.891Z"


def test_delivery_body_is_signed_with_the_verifier_token_not_the_secret() -> None:
    app = App("cid", "client-secret", webhook_url="http://x/h", webhook_verifier_token="vt")
    delivery = build_delivery(app, [Change("1", "Customer", "5", "Create", AT)], AT)
    expected = base64.b64encode(hmac.new(b"vt", delivery.body, hashlib.sha256).digest()).decode()
    assert delivery.headers["intuit-signature"] == expected == signature("vt", delivery.body)
    assert json.loads(delivery.body)["eventNotifications"][0]["realmId"] == "1"


def test_retry_schedule_matches_the_docs_and_scales() -> None:
    seconds = [retry_delay(n, 1.0).total_seconds() for n in range(1, 11)]
    assert seconds == [10, 20, 30, 300, 1200, 7200, 14400, 21600, 21600, 21600]
    assert retry_delay(4, 0.01) == timedelta(seconds=3)


def test_notify_queues_only_for_connected_apps_and_webhook_entities() -> None:
    clock = Clock()
    oauth = OAuthServer(clock, realms=lambda: [])
    dispatcher = WebhookDispatcher(oauth, clock)
    hooked = App("a", "s", webhook_url="http://x/h", webhook_verifier_token="vt")
    silent = App("b", "s")  # no webhook configured
    for app in (hooked, silent):
        oauth.apps.register(app)
        oauth.tokens.mint(app.client_id, "1", "com.intuit.quickbooks.accounting")
    dispatcher.notify("1", "Customer", "5", "Create", AT)
    dispatcher.notify("1", "CompanyInfo", "1", "Update", AT)  # not a webhook entity
    dispatcher.notify("2", "Customer", "5", "Create", AT)  # no grant on realm 2
    assert dispatcher.pending() == {"a": 1}
