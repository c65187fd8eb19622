"""`python -m needradar` runs the CLI."""

from needradar.cli import main

main()
