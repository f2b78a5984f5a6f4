"""`python -m api.cli`: the orderchain command line."""

from api.cli import main

main()
