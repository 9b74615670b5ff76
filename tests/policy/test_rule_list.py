"""CONTRIBUTING.md's rule list is the registry: same rules, order, kinds, settings and limits."""

from __future__ import annotations

import re

from policy.rules import RULES, StackRule
from tests.paths import ROOT

CONTRIBUTING = ROOT / "CONTRIBUTING.md"
HEADING = "Rules (all mandatory; settings in brackets, with defaults):"
BULLET = re.compile(r"^- `(?P<name>[a-z0-9-]+)`(?P<stack> \(stack\))? — ")


def documented_rules() -> list[tuple[str, bool, str]]:
    """(name, marked `(stack)`, bullet text) per bullet of the list under HEADING."""
    lines = CONTRIBUTING.read_text().split(HEADING, 1)[1].split("\n\n", 1)[0].strip().splitlines()
    bullets: list[tuple[str, bool, str]] = []
    for line in lines:
        match = BULLET.match(line)
        if match:
            bullets.append((match["name"], match["stack"] is not None, line))
        else:
            assert line.startswith("  "), f"not a bullet or its continuation: {line!r}"
            name, stack, text = bullets[-1]
            bullets[-1] = (name, stack, f"{text} {line.strip()}")
    return bullets


def test_the_list_names_every_rule_in_registry_order_with_its_kind() -> None:
    assert [(name, stack) for name, stack, _ in documented_rules()] == [
        (rule.name, isinstance(rule, StackRule)) for rule in RULES
    ]


def test_each_bullet_names_its_settings_and_integer_defaults() -> None:
    bullets = {name: text for name, _, text in documented_rules()}
    named = {
        (rule.name, setting.name)
        for rule in RULES
        for setting in rule.settings
        if re.search(rf"\b{setting.name}\b", bullets[rule.name])
    }
    assert named == {(rule.name, s.name) for rule in RULES for s in rule.settings}
    defaults = {
        (rule.name, setting.name)
        for rule in RULES
        for setting in rule.settings
        if setting.type == "integer" and f"[{setting.default}]" not in bullets[rule.name]
    }
    assert defaults == set(), "integer settings whose default is not shown as [default]"
