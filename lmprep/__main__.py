from lmprep.cli import main

main()
