"""`python -m infra.plan`: the offline plan's command name; the tool lives in devtools/plan.py."""

from devtools.plan import exit_now, main

if __name__ == "__main__":
    exit_now(main())
