"""The cut-off rules of `ovcf analyze --cutoff` and the pages: the names, parsing and spelling.

Without numpy, pandas or scipy, so the command line checks `--cutoff` before anything heavy is imported.
"""

from __future__ import annotations

import enum


class CutoffRule(enum.StrEnum):
    """How the cut-off is chosen (pROC's best.method, and coords at a given sensitivity/specificity)."""

    YOUDEN = "youden"  # max sensitivity + specificity - 1
    CLOSEST_TOPLEFT = "closest_topleft"  # min (1 - sensitivity)^2 + (1 - specificity)^2
    SENSITIVITY = "sensitivity"  # highest specificity with sensitivity >= target
    SPECIFICITY = "specificity"  # highest sensitivity with specificity >= target


def parse_cutoff_rule(text: str) -> tuple[CutoffRule, float | None]:
    """Parse 'youden', 'closest_topleft', 'sensitivity:0.9' or 'specificity:0.9' into (rule, target).

    ValueError says what is wrong (a fixed sensitivity or specificity needs a target in (0, 1]).
    """
    name, colon, rest = text.strip().lower().partition(":")
    try:
        rule = CutoffRule(name)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a cut-off rule (use youden, closest_topleft, sensitivity:T or specificity:T)"
        ) from None
    if rule not in (CutoffRule.SENSITIVITY, CutoffRule.SPECIFICITY):
        if colon:
            raise ValueError(f"'{text}': {rule.value} takes no target")
        return rule, None
    try:
        target = float(rest)
    except ValueError:
        raise ValueError(f"'{text}': {rule.value} needs a target, e.g. {rule.value}:0.90") from None
    if not 0.0 < target <= 1.0:
        raise ValueError(f"'{text}': the target {rule.value} must be above 0 and at most 1")
    return rule, target


def cutoff_rule_text(rule: CutoffRule | str, target: float | None) -> str:
    """Spell the rule as the JSON's `cutoff_rule` does: 'youden', 'closest_topleft', 'sensitivity:0.9'."""
    rule = CutoffRule(rule)
    return f"{rule.value}:{target:g}" if target is not None else rule.value
