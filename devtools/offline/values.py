"""The two views of a value on the engine's wire: what a provider reads, what the plan shows.

Inputs reach the mock engine in the SDK's RPC form: secrets wrapped in a marker, unknowns (during
preview) as a sentinel, numbers as floats. The mocks compute outputs from `unwrap_secrets(...)`;
the recorded plan shows `mask_secrets(...)`, so a secret never appears in it.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import rpc

SECRET = "[secret]"  # noqa: S105 (the mask, not a credential)
UNKNOWN = "[unknown]"


def unwrap_secrets(value: Any) -> Any:
    """Inputs with the secret wrappers removed (what a provider would see)."""
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def mask_secrets(value: Any) -> Any:
    """Secrets shown as "[secret]", unknowns (preview) as "[unknown]", whole numbers as integers.

    The engine's wire format (protobuf Struct) carries every number as a float; a provider reads
    `3600.0` as the integer it was declared as, so the plan shows `3600`.
    """
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pulumi.FileAsset):
        # The engine uploads the file's bytes; the plan names the file (its hash is an input).
        return {"fileAsset": str(value.path)}
    return value
