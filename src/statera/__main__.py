"""`python -m statera` is the same as the `statera` console script."""

from statera.cli.main import main

main()
