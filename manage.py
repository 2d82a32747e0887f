#!/usr/bin/env python
"""Django's manage.py; `shouwang` (see shouwang/cli.py) is the same with hyphenated names."""

from shouwang.cli import main

if __name__ == "__main__":
    main()
