"""``python -m gpt_from_scratch.gpt``: a thin entry into the commands floor."""

import sys

from gpt_from_scratch.commands.gpt import main

if __name__ == "__main__":
    sys.exit(main())
