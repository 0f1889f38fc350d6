"""``python -m weightwise`` runs the ``weightwise`` command, so that
``torchrun --nproc-per-node 2 -m weightwise compare …`` launches it on every rank."""

from weightwise.cli import main

if __name__ == "__main__":
    main()
