"""`python -m advrf` is the `advrf` command."""

import sys

from advrf.cli import main

sys.exit(main())
