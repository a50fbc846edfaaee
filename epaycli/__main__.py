from epaycli.cli.main import main

main()
