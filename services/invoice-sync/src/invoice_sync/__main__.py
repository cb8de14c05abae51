"""`invoice-sync run|migrate|parking`: the service's command line."""

from __future__ import annotations

import sys

from invoice_sync.bootstrap import DEFINITION
from qbsync_common.service import main as service_main


def main() -> None:
    sys.exit(service_main(DEFINITION))


if __name__ == "__main__":
    main()
