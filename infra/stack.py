"""`python -m infra.stack`: the command name of devtools/stack.py."""

from devtools.stack import main

if __name__ == "__main__":
    raise SystemExit(main())
