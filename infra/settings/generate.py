"""`python -m infra.settings.generate`: the command name of devtools/settings_docs.py."""

from devtools.settings_docs import main

if __name__ == "__main__":
    raise SystemExit(main())
