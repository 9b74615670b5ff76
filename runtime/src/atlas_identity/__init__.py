"""Identity-first MongoDB Atlas access for Airflow: per-pipeline, short-lived credentials."""

from atlas_identity.contract import AuthMode, ContractError, parse_extras
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.hook import AtlasIdentityMongoHook

__all__ = [
    "AtlasIdentityError",
    "AtlasIdentityMongoHook",
    "AuthMode",
    "ContractError",
    "Step",
    "parse_extras",
]
__version__ = "0.1.0"
