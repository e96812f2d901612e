import sys

from ecinstruct_eval.cli import main

sys.exit(main())
