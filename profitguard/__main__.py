"""`python -m profitguard`: the same as the `profitguard` command."""

import sys

from profitguard.cli import main

sys.exit(main())
