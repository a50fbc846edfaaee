from epaycli.cli.console import main

main()
