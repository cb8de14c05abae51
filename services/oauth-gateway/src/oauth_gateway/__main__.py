"""`oauth-gateway run|migrate|parking|rekey`: the service's command line."""

from __future__ import annotations

import asyncio
import sys

from oauth_gateway.bootstrap import DEFINITION, METADATA
from oauth_gateway.config import Settings
from oauth_gateway.custody.rekey import run_rekey
from qbsync_common.logs import configure_logging
from qbsync_common.service import main as service_main


def main() -> None:
    # `rekey` is gateway-specific; everything else is the command line every service shares.
    if sys.argv[1:2] == ["rekey"]:
        sys.exit(_rekey())
    sys.exit(service_main(DEFINITION))


def _rekey() -> int:
    """Re-encrypt every stored token under the primary key of QBSYNC_TOKEN_KEYS."""
    settings = Settings()
    configure_logging(settings)
    return asyncio.run(run_rekey(settings, METADATA))


if __name__ == "__main__":
    main()
