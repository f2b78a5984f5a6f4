"""`python -m api.cli`: the orderchain command line."""

from . import main

main()
