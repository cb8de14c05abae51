"""Base classes of event data: who publishes an event decides its exchange and how strict it is."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

EVENTS_EXCHANGE = "qbsync.events"
"""Upstream domain events and qbsync's internal commands and events (topic exchange)."""
RESULTS_EXCHANGE = "qbsync.results"
"""What qbsync tells upstream: sync keys, failures, skips, payments, tenant state (topic)."""

Direction = Literal["upstream", "internal", "result"]


class EventData(BaseModel):
    """The `data` of one event type; subclasses set `event_type` and inherit their direction."""

    event_type: ClassVar[str]
    direction: ClassVar[Direction]
    exchange: ClassVar[str]

    # Data is a snapshot of something that happened: nobody should change it after the fact.
    model_config = ConfigDict(frozen=True)


class UpstreamEvent(EventData):
    """Published by an upstream app into qbsync.

    Unknown fields are refused so that a typo upstream is parked with its name instead of the
    value being silently ignored.
    """

    direction: ClassVar[Direction] = "upstream"
    exchange: ClassVar[str] = EVENTS_EXCHANGE
    model_config = ConfigDict(frozen=True, extra="forbid")


class InternalEvent(EventData):
    """Published by one qbsync service for another (commands, gateway notices).

    Unknown fields are ignored so that a newer publisher never breaks an older consumer mid-deploy.
    """

    direction: ClassVar[Direction] = "internal"
    exchange: ClassVar[str] = EVENTS_EXCHANGE
    model_config = ConfigDict(frozen=True, extra="ignore")


class ResultEvent(EventData):
    """Published by qbsync for upstream apps (and read by other qbsync services).

    Unknown fields are ignored for the same reason as internal events; upstream consumers should
    ignore fields they do not know, since v1 may gain optional fields.
    """

    direction: ClassVar[Direction] = "result"
    exchange: ClassVar[str] = RESULTS_EXCHANGE
    model_config = ConfigDict(frozen=True, extra="ignore")
