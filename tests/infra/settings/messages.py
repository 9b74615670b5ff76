"""Settings messages that list a model table, built from that table: adding a preset or a
grantable action changes the model alone, not the tests that quote these messages."""

from __future__ import annotations

from model.access import KNOWN_ACTIONS, PRESETS

PRESET_NAMES = ", ".join(PRESETS)  # in the table's order, as the message lists them


def not_a_preset(path: str, value: str) -> str:
    """The problem line for `access: <value>` where value names no preset."""
    return f"{path}: '{value}' is not a preset; use one of {PRESET_NAMES}, or list explicit actions"


def neither_preset_nor_actions(path: str) -> str:
    """The problem line for a grant with both or neither of `access` and `actions`."""
    return (
        f"{path}: set exactly one of access (a preset: {PRESET_NAMES}) or actions (explicit "
        "Atlas actions)"
    )


def not_grantable(path: str, action: str) -> str:
    """The problem line for an action outside the grantable set (listed sorted)."""
    return (
        f"{path}: '{action}' is not a grantable Atlas action; use one of "
        f"{', '.join(sorted(KNOWN_ACTIONS))}"
    )
