"""`partner-sync run|migrate|parking`: the service's command line."""

from __future__ import annotations

import sys

from qbsync_common.service import main as service_main

from partner_sync.bootstrap import DEFINITION


def main() -> None:
    sys.exit(service_main(DEFINITION))


if __name__ == "__main__":
    main()
