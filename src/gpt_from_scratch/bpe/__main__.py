"""``python -m gpt_from_scratch.bpe``: a thin entry into the commands floor."""

import sys

from gpt_from_scratch.commands.bpe import main

if __name__ == "__main__":
    sys.exit(main())
