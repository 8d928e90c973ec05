"""``python -m gpt_from_scratch.micrograd``: a thin entry into the commands floor."""

from gpt_from_scratch.commands.micrograd import main

if __name__ == "__main__":
    main()
