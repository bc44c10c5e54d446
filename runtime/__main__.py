from digitgen.cli import main

main()
