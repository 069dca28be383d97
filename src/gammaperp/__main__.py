"""``python -m gammaperp`` runs the CLI."""

from gammaperp.cli import main

main()
