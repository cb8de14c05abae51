"""Emulator settings, built once by the CLI or a test and passed to `create_app`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CompanySeed(BaseModel):
    realm_id: str
    company_name: str = "Sandbox Company"
    country: str = "US"
    multicurrency: bool = False
    seeded: bool = True


class EmulatorConfig(BaseModel):
    # Bearer tokens accepted for every realm without OAuth (tests and benchmarks). Empty by
    # default, so that only tokens issued by the emulated Intuit OAuth server work.
    static_tokens: frozenset[str] = frozenset()
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    companies: list[CompanySeed] = Field(default_factory=list)
    webhooks: bool = True
