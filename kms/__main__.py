"""`python -m kms …` runs the command-line interface."""

from kms.cli import main

raise SystemExit(main())
