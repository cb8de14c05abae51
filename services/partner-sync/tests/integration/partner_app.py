"""partner-sync as a process for the crash tests: the real wiring on the test's private queue,
schema and emulator company (env QBSYNC_TEST_*), with the crash hook from QBSYNC_CRASH_AT."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from partner_harness import Harness, make_service

from qbsync_common.faults import CrashHook
from qbsync_common.logs import configure_logging
from qbsync_common.settings import ServiceSettings


def harness_from_env() -> Harness:
    env = os.environ
    return Harness(
        dsn=env["QBSYNC_TEST_DSN"],
        database_url=env["QBSYNC_TEST_DATABASE_URL"],
        broker_url=env["QBSYNC_TEST_BROKER_URL"],
        schema=env["QBSYNC_TEST_SCHEMA"],
        queue=env["QBSYNC_TEST_QUEUE"],
        emulator_url=env["QBSYNC_TEST_EMULATOR_URL"],
        realm=env["QBSYNC_TEST_REALM"],
        tenant=env["QBSYNC_TEST_TENANT"],
    )


async def main() -> None:
    configure_logging(ServiceSettings(service_name="partner-sync-crash-test", log_level="WARNING"))
    sut = make_service(harness_from_env(), crash_hook=CrashHook.from_env("test"))
    sut.runtime.install_signal_handlers()
    await sut.runtime.run()


if __name__ == "__main__":
    asyncio.run(main())
