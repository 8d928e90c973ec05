"""``python -m gpt_from_scratch.makemore --help``: see :mod:`gpt_from_scratch.makemore.cli`."""

from gpt_from_scratch.makemore.cli import main

raise SystemExit(main())
