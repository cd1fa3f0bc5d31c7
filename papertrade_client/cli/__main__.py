"""`python -m papertrade_client.cli`: the same as the `papertrade` command."""

from papertrade_client.cli import main

main()
