"""Commands one qbsync service sends another over qbsync.events."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from qbsync_common.contract.bases import InternalEvent
from qbsync_common.contract.partner_snapshot import PartnerSnapshot
from qbsync_common.contract.scalars import Identifier
from qbsync_common.contract.values import DocumentKind, PartnerKind


class SyncPartner(InternalEvent):
    """Command: sync this partner now (e.g. its first invoice arrived, or an operator asked).

    partner-sync answers with partner.synced, partner.sync_failed or partner.skipped carrying the
    same partner id; `correlation_id` lets the requester match the answer to its waiting work.
    """

    event_type = "qbsync.partner.sync_requested.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "client",
                    "partner_id": "c-1042",
                    "requested_by": "invoice-sync",
                    "reason": "first-invoice",
                    "correlation_id": "inv-5521",
                }
            ]
        }
    )

    kind: PartnerKind = Field(description="client or vendor.")
    partner_id: Identifier = Field(description="Upstream id of the partner to sync.")
    requested_by: str = Field(
        min_length=1,
        max_length=100,
        description="Who asked: a service name (e.g. 'invoice-sync') or 'operator:<name>'.",
    )
    reason: Literal[
        "first-invoice", "dependency", "operator-resync", "initial-sync", "connection-recovered"
    ] = Field(
        description="Why: first-invoice (a document needs the partner), dependency (a vendor "
        "invoice references this client), operator-resync, initial-sync (bulk sync of a newly "
        "connected tenant), connection-recovered (partner-sync re-drives a partner that failed "
        "with needs-reauthorization once the tenant reconnected)."
    )
    correlation_id: str | None = Field(
        None, max_length=200, description="Opaque id the requester uses to match the answer."
    )
    partner: PartnerSnapshot | None = Field(
        None,
        description="The partner's snapshot if the requester has one (e.g. from the invoice); "
        "used when it is newer than the one partner-sync holds, or partner-sync holds none.",
    )


class RecreateDocument(InternalEvent):
    """Command: a synced document vanished from QBO and was not found by number; create it again."""

    event_type = "qbsync.document.recreate_requested.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "invoice",
                    "document_id": "inv-5521",
                    "missing_sync_key": "1877",
                    "reason": "not-found-in-qbo",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description="invoice, bill or credit_memo.")
    document_id: Identifier = Field(description="Upstream id of the document to recreate.")
    missing_sync_key: Identifier | None = Field(
        None, description="The QBO id that could no longer be found."
    )
    reason: Literal["not-found-in-qbo", "operator-request"] = Field(
        description="not-found-in-qbo (neither by id nor by number) or operator-request."
    )
