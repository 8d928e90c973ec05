"""``python -m gpt_from_scratch.micrograd``: a thin entry into the commands floor."""

import sys

from gpt_from_scratch.commands.micrograd import main

if __name__ == "__main__":
    sys.exit(main())
