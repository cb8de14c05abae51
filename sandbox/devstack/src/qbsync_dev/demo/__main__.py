"""`python -m qbsync_dev.demo` is `qbsync-demo`."""

import sys

from qbsync_dev.demo.cli import main

sys.exit(main())
