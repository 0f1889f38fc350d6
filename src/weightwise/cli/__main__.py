"""``python -m weightwise.cli`` runs the ``weightwise`` command."""

from weightwise.cli import main

main()
