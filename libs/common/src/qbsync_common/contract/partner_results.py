"""What partner-sync tells upstream about each partner snapshot it handled."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from qbsync_common.contract.bases import ResultEvent
from qbsync_common.contract.scalars import Identifier
from qbsync_common.contract.values import PartnerKind

PartnerFailureReason = Literal[
    "needs-reauthorization",
    "tenant-not-connected",
    "currency-change-refused",
    "open-balance",
    "name-conflict",
    "qbo-validation",
    "qbo-unavailable",
    "other",
]
PartnerSkipReason = Literal[
    "inactive",
    "partner-kind-disabled",
    "contact-type-filtered",
    "older-version",
]
OPERATION_DESCRIPTION = "qbsync's id for this sync attempt; support uses it to find the history."


class PartnerSynced(ResultEvent):
    """A partner is now in QBO as upstream describes it; store `sync_key` as its QBO id."""

    event_type = "qbsync.partner.synced.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "client",
                    "partner_id": "c-1042",
                    "version": 7,
                    "sync_key": "58",
                    "sync_token": "3",
                    "adopted": False,
                    "operation_id": "op-01HQ8Z6T3W",
                }
            ]
        }
    )

    kind: PartnerKind = Field(description="client (QBO Customer) or vendor (QBO Vendor).")
    partner_id: Identifier = Field(description="The partner's id in the upstream app.")
    version: int = Field(ge=0, description="The snapshot version that is now in QBO.")
    sync_key: Identifier = Field(description="The QBO Customer or Vendor id (the sync key).")
    sync_token: str = Field(description="QBO SyncToken of the record after our write.")
    adopted: bool = Field(
        description="True when an existing QBO record with the same name was adopted instead of "
        "creating one."
    )
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class PartnerSyncFailed(ResultEvent):
    """A partner could not be synced; `reason_code` says why, `message` explains it to a human."""

    event_type = "qbsync.partner.sync_failed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "client",
                    "partner_id": "c-1042",
                    "version": 8,
                    "reason_code": "currency-change-refused",
                    "message": "QBO customer 58 is in GBP; its currency cannot change to EUR.",
                    "operation_id": "op-01HQ8ZA0QK",
                }
            ]
        }
    )

    kind: PartnerKind = Field(description="client or vendor.")
    partner_id: Identifier = Field(description="The partner's id in the upstream app.")
    version: int = Field(ge=0, description="The snapshot version that failed.")
    reason_code: PartnerFailureReason = Field(
        description="needs-reauthorization (tenant must reconnect QBO), tenant-not-connected, "
        "currency-change-refused (QBO currency is fixed once set), open-balance (QBO refuses to "
        "deactivate a partner with an open balance), name-conflict (another QBO customer, vendor "
        "or employee has the name), qbo-validation (QBO rejected the data), qbo-unavailable "
        "(retries exhausted), other."
    )
    message: str = Field(description="Human-readable explanation for the upstream user.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class PartnerSkipped(ResultEvent):
    """A partner snapshot was deliberately not synced; `reason_code` says why."""

    event_type = "qbsync.partner.skipped.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "vendor",
                    "partner_id": "v-311",
                    "version": 2,
                    "reason_code": "partner-kind-disabled",
                    "message": "This tenant does not sync vendors.",
                }
            ]
        }
    )

    kind: PartnerKind = Field(description="client or vendor.")
    partner_id: Identifier = Field(description="The partner's id in the upstream app.")
    version: int = Field(ge=0, description="The snapshot version that was skipped.")
    reason_code: PartnerSkipReason = Field(
        description="inactive (never synced and inactive), partner-kind-disabled (tenant does not "
        "sync this kind), contact-type-filtered (tenant does not sync this contact type), "
        "older-version (a newer snapshot was already handled)."
    )
    message: str = Field(description="Human-readable explanation.")
