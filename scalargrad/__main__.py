from scalargrad.cli import main

main()
