"""Builds token custody from Settings; bootstrap.py calls `assemble` and mounts what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.config import Settings
from oauth_gateway.custody.api import token_router
from oauth_gateway.custody.crash import Crash, crash_after_token_response
from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.custody.intuit import IntuitOAuth
from oauth_gateway.custody.job import RefreshJob
from oauth_gateway.custody.keyring import KeyRing
from oauth_gateway.custody.metrics import CustodyMetrics
from oauth_gateway.custody.policy import RefreshPolicy
from oauth_gateway.custody.ports import TenantEvents
from oauth_gateway.custody.refresher import Refresher
from oauth_gateway.custody.repository import TokenRepository
from oauth_gateway.custody.tables import tokens_table
from oauth_gateway.custody.vault import TokenVault


@dataclass(frozen=True)
class Custody:
    intuit: IntuitOAuth
    repository: TokenRepository
    refresher: Refresher
    vault: TokenVault
    job: RefreshJob
    router: APIRouter


def policy_from(settings: Settings) -> RefreshPolicy:
    return RefreshPolicy(
        access_margin=timedelta(seconds=settings.token_refresh_margin_s),
        max_refresh_age=timedelta(days=settings.token_max_refresh_age_days),
        hard_expiry_warning=timedelta(days=settings.token_hard_expiry_warning_days),
        failure_backoff=timedelta(seconds=settings.token_failure_backoff_s),
    )


def repository_from(settings: Settings, metadata: MetaData) -> TokenRepository:
    keyring = KeyRing.from_json(settings.token_keys.get_secret_value())
    return TokenRepository(tokens_table(metadata), keyring)


def _never(_point: str) -> None:
    return None


def assemble(
    settings: Settings,
    metadata: MetaData,
    sessions: async_sessionmaker[AsyncSession],
    events: TenantEvents,
    registry: CollectorRegistry | None = None,
    crash: Crash | None = None,
) -> Custody:
    """`crash` is the fault-injection switch (the service's CrashHook, QBSYNC_CRASH_AT); None = never."""
    intuit = IntuitOAuth(
        settings.intuit_discovery_url,
        settings.intuit_client_id,
        settings.intuit_client_secret.get_secret_value(),
        settings.intuit_redirect_uri,
        timeout=settings.intuit_timeout_s,
    )
    repository = repository_from(settings, metadata)
    refresher = Refresher(
        sessions,
        repository,
        intuit,
        events,
        CustodyMetrics(settings.service_name, registry),
        policy=policy_from(settings),
        after_token_response=crash_after_token_response(crash or _never),
    )
    cache_ttl = timedelta(seconds=settings.token_cache_ttl_s)
    vault = TokenVault(refresher, settings.qbo_api_base_url, cache_ttl=cache_ttl)
    credentials = ServiceCredentials.from_json(settings.service_credentials.get_secret_value())
    return Custody(
        intuit=intuit,
        repository=repository,
        refresher=refresher,
        vault=vault,
        job=RefreshJob(refresher, interval=timedelta(seconds=settings.token_refresh_interval_s)),
        router=token_router(vault, credentials),
    )
