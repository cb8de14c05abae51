"""`python -m qbsync_dev run|migrate|bench`: what `make run`, `make migrate` and `make bench` do.

`run` listens on 8090 (emulator) and 8080-8083 (gateway, partner-sync, invoice-sync,
payment-poller); QBSYNC_DEV_<NAME>_PORT moves one (e.g. QBSYNC_DEV_OAUTH_GATEWAY_PORT=9080), and
qbsync-demo reads the same variables. QBSYNC_DATABASE_URL and QBSYNC_BROKER_URL pick the database
and the broker (vhost included).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from urllib.parse import urlsplit

import asyncpg

from qbsync_common import aio
from qbsync_dev import bench, supervisor
from qbsync_dev.database import ensure_database, migrate_all
from qbsync_dev.stack import StackSpec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qbsync_dev")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the database if missing and migrate every service")
    sub.add_parser("run", help="migrate, start the emulator and every service, Ctrl-C stops all")
    b = sub.add_parser("bench", help="run the benchmarks and print their results")
    b.add_argument("--only", help="run only the named case(s), comma-separated")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        asyncio.run(ensure_database())
        migrate_all()
        return 0
    if args.command == "run":
        try:
            spec = StackSpec.default()  # before migrating: a bad port setting fails at once
        except ValueError as exc:
            print(f"qbsync_dev run: {exc}", file=sys.stderr)
            return 2
        try:
            asyncio.run(ensure_database(spec.database_url))
            migrate_all(spec.database_url)
        except (OSError, asyncpg.PostgresError) as exc:
            where = urlsplit(spec.database_url)
            database = f"{where.hostname}:{where.port or 5432}{where.path}"
            print(f"qbsync_dev run: cannot create the database {database}: {exc}", file=sys.stderr)
            return 2
        except subprocess.CalledProcessError as exc:
            # The service's own output above says why; name the one that failed.
            print(f"qbsync_dev run: migrating {exc.cmd[2]} failed", file=sys.stderr)
            return 1
        except KeyboardInterrupt:  # Ctrl-C before the stack started: nothing to stop
            return 130
        return asyncio.run(supervisor.run_stack(spec))
    return aio.run(bench.run(args.only.split(",") if args.only else None))


if __name__ == "__main__":
    sys.exit(main())
