"""`python -m ovcf_core.cli` runs the `ovcf` command."""

import sys

from ovcf_core.cli import main

sys.exit(main())
