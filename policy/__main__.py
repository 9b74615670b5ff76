"""Policy pack entry point: `pulumi preview --policy-pack policy/` runs this file.

Constructing the PolicyPack starts the analyzer's gRPC server and blocks, so this file does
nothing else; the rules live in `policy.rules` and are tested as plain functions.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script by the policy host (cwd = policy/): make `policy.*` importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, policies

if __name__ == "__main__":
    PolicyPack(
        name=PACK_NAME,
        policies=policies(),
        enforcement_level=EnforcementLevel.MANDATORY,
        description="Identity-first Airflow -> Atlas: no passwords, least privilege, "
        "short-lived credentials, audit, protected state.",
    )
