"""Webhook signature and body parsing (legacy and CloudEvents), without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from oauth_gateway.webhooks.payload import MalformedPayload, changes_by_realm
from oauth_gateway.webhooks.signature import is_authentic, sign

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "verifier-token"


def test_signature_is_hmac_sha256_of_the_raw_bytes() -> None:
    body = b'{"eventNotifications": []}'
    header = sign(TOKEN, body)
    assert is_authentic(TOKEN, body, header)
    assert not is_authentic(TOKEN, body + b" ", header)  # same JSON, different bytes
    assert not is_authentic("other-token", body, header)
    assert not is_authentic(TOKEN, body, None)
    assert not is_authentic(TOKEN, body, "not base64 !!")
    assert not is_authentic("", body, sign("", body))  # an unset token accepts nothing


def test_legacy_payload_groups_entities_by_realm() -> None:
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "111",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": "1",
                                "operation": "Create",
                                "lastUpdated": "2015-10-05T14:42:19-0700",
                            },
                            {
                                "name": "Customer",
                                "id": "9",
                                "operation": "Merge",
                                "lastUpdated": "2015-10-05T14:42:19.000Z",
                                "deletedID": "7",
                            },
                        ]
                    },
                },
                {
                    "realmId": "222",
                    "dataChangeEvent": {
                        "entities": [{"name": "Payment", "id": "5", "operation": "Teleport"}]
                    },
                },
            ]
        }
    ).encode()
    changes = changes_by_realm(body, NOW)
    assert list(changes) == ["111", "222"]
    assert changes["111"][0] == {
        "name": "Customer",
        "id": "1",
        "operation": "Create",
        "last_updated": "2015-10-05T14:42:19-07:00",
    }
    assert changes["111"][1]["deleted_id"] == "7"
    # An unknown operation is still a change; a missing time falls back to receipt time.
    assert changes["222"][0]["operation"] == "Update"
    assert changes["222"][0]["last_updated"] == NOW.isoformat()


def test_cloudevents_payload_maps_type_realm_and_entity() -> None:
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "e1",
                "type": "qbo.invoice.voided.v1",
                "time": "2025-09-10T21:31:25.179851517Z",
                "intuitentityid": "130",
                "intuitaccountid": "310687",
                "data": {},
            },
            {
                "specversion": "1.0",
                "id": "e2",
                "type": "qbo.customer.merged.v1",
                "intuitentityid": "8",
                "intuitaccountid": "999",
                "data": {"deletedid": "4"},
            },
            {
                "specversion": "1.0",
                "id": "e3",
                "type": "qbo.billpayment.created.v1",
                "intuitentityid": "3",
                "intuitaccountid": "310687",
            },
        ]
    ).encode()
    changes = changes_by_realm(body, NOW)
    assert [c["name"] for c in changes["310687"]] == ["Invoice", "BillPayment"]
    assert changes["310687"][0]["operation"] == "Void"
    assert changes["310687"][0]["last_updated"] == "2025-09-10T21:31:25.179851+00:00"
    assert changes["999"][0] == {
        "name": "Customer",
        "id": "8",
        "operation": "Merge",
        "last_updated": NOW.isoformat(),
        "deleted_id": "4",
    }


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"something": 1}',
        b'[{"type": "qbo.invoice.created.v1"}]',
        b'{"eventNotifications": [{"dataChangeEvent": {}}]}',
        b'[{"intuitaccountid": "1", "type": "x"}]',
    ],
)
def test_unknown_shapes_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        changes_by_realm(body, NOW)
