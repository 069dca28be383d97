"""``python -m gammaperp.cli`` runs the CLI."""

from gammaperp.cli import main

main()
