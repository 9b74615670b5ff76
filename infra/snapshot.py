"""`python -m infra.snapshot`: the command name of devtools/snapshot.py."""

from devtools.snapshot import main

if __name__ == "__main__":
    raise SystemExit(main())
