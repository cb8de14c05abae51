"""The result events partner-sync sends upstream, built from one handling's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

from qbsync_common.contract import events
from qbsync_common.contract.partner_results import PartnerFailureReason, PartnerSkipReason
from qbsync_common.contract.project_results import ProjectSkipReason


@dataclass(frozen=True)
class Outcome:
    status: str  # synced | failed | skipped
    reason: str | None = None
    message: str | None = None
    sync_key: str | None = None
    sync_token: str | None = None
    adopted: bool = False


def result_event(
    kind: str,
    partner_id: str,
    version: int,
    outcome: Outcome,
    operation_id: str,
    *,
    parent_id: str | None = None,
) -> BaseModel:
    """partner.* results for clients and vendors, project.* results for projects."""
    if kind == "project":
        return _project_result(partner_id, parent_id or "", version, outcome, operation_id)
    common: dict[str, Any] = {"kind": kind, "partner_id": partner_id, "version": version}
    if outcome.status == "synced":
        return events.PartnerSynced(
            **common,
            sync_key=outcome.sync_key or "",
            sync_token=outcome.sync_token or "0",
            adopted=outcome.adopted,
            operation_id=operation_id,
        )
    if outcome.status == "failed":
        return events.PartnerSyncFailed(
            **common,
            reason_code=cast(PartnerFailureReason, outcome.reason or "other"),
            message=outcome.message or "",
            operation_id=operation_id,
        )
    return events.PartnerSkipped(
        **common,
        reason_code=cast(PartnerSkipReason, outcome.reason),
        message=outcome.message or "",
    )


def _project_result(
    project_id: str, client_id: str, version: int, outcome: Outcome, operation_id: str
) -> BaseModel:
    common: dict[str, Any] = {"project_id": project_id, "client_id": client_id, "version": version}
    if outcome.status == "synced":
        return events.ProjectSynced(
            **common,
            sync_key=outcome.sync_key or "",
            sync_token=outcome.sync_token or "0",
            adopted=outcome.adopted,
            operation_id=operation_id,
        )
    if outcome.status == "failed":
        return events.ProjectSyncFailed(
            **common,
            reason_code=cast(PartnerFailureReason, outcome.reason or "other"),
            message=outcome.message or "",
            operation_id=operation_id,
        )
    return events.ProjectSkipped(
        **common,
        reason_code=cast(ProjectSkipReason, outcome.reason),
        message=outcome.message or "",
    )
