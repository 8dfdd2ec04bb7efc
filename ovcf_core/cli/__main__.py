"""`python -m ovcf_core.cli` runs the `ovcf` command."""

from ovcf_core.cli import console

console()
