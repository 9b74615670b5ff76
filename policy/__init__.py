"""Security invariants of the stack: a CrossGuard policy pack and its offline twin.

`policy.rules` holds the validators (plain functions, importable anywhere), `policy.pack` adapts
them to pulumi_policy, `policy.check` runs them over offline plan JSON. Only `policy/__main__.py`
starts a policy pack (it blocks serving the engine), so nothing here does on import.
"""
