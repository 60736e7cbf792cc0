"""HUD FY2026 4.02 Income and Sources, 4.03 Non-Cash Benefits, 4.04 Health Insurance (one
IncomeBenefits.csv row) and 4.11 Domestic Violence (HealthAndDV.csv): the columns, named after
HUD's CSV columns in snake_case, and their pure checks.

Each of the three "from any source" answers (list 1.8) decides its sources:

* 1 (Yes): every source is answered 0/1 (an unanswered source is 0) and at least one is 1; an
  income source that is 1 has its monthly amount (> 0); TotalMonthlyIncome (4.02.18) is the sum
  of the amounts (computed; a total sent must match);
* 0 (No, "no sources"): every source is 0 (unanswered ones are filled with 0), no amounts,
  TotalMonthlyIncome 0;
* 8 / 9 / 99 (doesn't know / prefers not to answer / not collected): no source is recorded,
  TotalMonthlyIncome empty.

The "identify" texts (4.02.P, 4.03.A, 4.04.12A) go with their "other" source being 1, and the
"why not" reasons of 4.04 (list 4.04.A) only with a source that is 0. Every check raises
``ValidationFailed`` naming the field and the HUD element.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.errors import ValidationFailed
from app.reference import YES_NO, YES_NO_REASONS, codes

# (HUD element, source column, monthly amount column)
INCOME_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("4.02.3", "earned", "earned_amount"),
    ("4.02.4", "unemployment", "unemployment_amount"),
    ("4.02.5", "ssi", "ssi_amount"),
    ("4.02.6", "ssdi", "ssdi_amount"),
    ("4.02.7", "va_disability_service", "va_disability_service_amount"),
    ("4.02.8", "va_disability_non_service", "va_disability_non_service_amount"),
    ("4.02.9", "private_disability", "private_disability_amount"),
    ("4.02.10", "workers_comp", "workers_comp_amount"),
    ("4.02.11", "tanf", "tanf_amount"),
    ("4.02.12", "ga", "ga_amount"),
    ("4.02.13", "soc_sec_retirement", "soc_sec_retirement_amount"),
    ("4.02.14", "pension", "pension_amount"),
    ("4.02.15", "child_support", "child_support_amount"),
    ("4.02.16", "alimony", "alimony_amount"),
    ("4.02.17", "other_income_source", "other_income_amount"),
)
# (HUD element, source column)
BENEFIT_SOURCES: tuple[tuple[str, str], ...] = (
    ("4.03.3", "snap"),
    ("4.03.4", "wic"),
    ("4.03.5", "tanf_child_care"),
    ("4.03.6", "tanf_transportation"),
    ("4.03.7", "other_tanf"),
    ("4.03.8", "other_benefits_source"),
)
# (HUD element, source column, "why not" reason column or None)
INSURANCE_SOURCES: tuple[tuple[str, str, str | None], ...] = (
    ("4.04.3", "medicaid", "no_medicaid_reason"),
    ("4.04.4", "medicare", "no_medicare_reason"),
    ("4.04.5", "schip", "no_schip_reason"),
    ("4.04.6", "vha_services", "no_vha_reason"),
    ("4.04.7", "employer_provided", "no_employer_provided_reason"),
    ("4.04.8", "cobra", "no_cobra_reason"),
    ("4.04.9", "private_pay", "no_private_pay_reason"),
    ("4.04.10", "state_health_ins", "no_state_health_ins_reason"),
    ("4.04.11", "indian_health_services", "no_indian_health_services_reason"),
    ("4.04.12", "other_insurance", None),
)
INCOME_SOURCE_COLUMNS = tuple(s for _, s, _ in INCOME_SOURCES)
INCOME_AMOUNT_COLUMNS = tuple(a for _, _, a in INCOME_SOURCES)
BENEFIT_SOURCE_COLUMNS = tuple(s for _, s in BENEFIT_SOURCES)
INSURANCE_SOURCE_COLUMNS = tuple(s for _, s, _ in INSURANCE_SOURCES)
INSURANCE_REASON_COLUMNS = tuple(r for _, _, r in INSURANCE_SOURCES if r is not None)
NO_INSURANCE_REASONS = codes("4.04.A")

# 4.11 Domestic Violence
DV_WHEN_OCCURRED = codes("4.11.A")

# 5.03.1 DataCollectionStage: 4.02-4.04 are collected at entry, update, annual and exit; 4.11 at
# project start and update (HUD's collection points).
INCOME_STAGES = (1, 2, 3, 5)
DV_STAGES = (1, 2)

NO_SOURCES = 0
YES = 1


def _fail(prefix: str, name: str, msg: str) -> ValidationFailed:
    return ValidationFailed(msg, field=f"{prefix}.{name}" if prefix else name)


def _check_group(
    v: dict[str, Any],
    prefix: str,
    *,
    element: str,
    any_field: str,
    sources: tuple[tuple[str, str], ...],
    other: tuple[str, str, str],
) -> None:
    """One "from any source" answer and its sources (``v`` is completed in place)."""
    answer = v.get(any_field)
    if answer is not None and answer not in YES_NO_REASONS:
        raise _fail(prefix, any_field, f"HUD {element}: {answer} is not a list 1.8 code.")
    other_source, other_text, other_element = other
    for el, name in sources:
        value = v.get(name)
        if value is not None and answer is None:
            raise _fail(
                prefix, any_field, f"HUD {element}: {any_field} is required with its sources."
            )
        if value is not None and value not in YES_NO:
            raise _fail(prefix, name, f"HUD {el}: {name} is 0 (No) or 1 (Yes).")
        if value is not None and value != 0 and answer != YES:
            raise _fail(
                prefix,
                name,
                f"HUD {el}: {name} is 1 (Yes) only when {any_field} ({element}) is 1 (Yes).",
            )
        if value is not None and answer not in (0, 1):
            raise _fail(
                prefix,
                name,
                f"HUD {el}: no source is recorded when {any_field} ({element}) is {answer}.",
            )
    if v.get(other_text) is not None and v.get(other_source) != 1:
        raise _fail(
            prefix,
            other_text,
            f"HUD {other_element}: {other_text} is recorded only when {other_source} is 1.",
        )
    if v.get(other_source) == 1 and not v.get(other_text):
        raise _fail(
            prefix,
            other_text,
            f"HUD {other_element}: {other_text} is required when {other_source} is 1 (Yes).",
        )
    if answer in (0, 1):
        for _, name in sources:
            if v.get(name) is None:
                v[name] = 0
    if answer == YES and not any(v.get(name) == 1 for _, name in sources):
        raise _fail(
            prefix,
            any_field,
            f"HUD {element}: {any_field} is 1 (Yes) but no source is 1; answer the sources, or "
            f"{any_field} 0 (No) when there are none.",
        )


def check_income_benefits(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Check a 4.02-4.04 record; returns it completed (unanswered sources of a Yes/No answer
    filled with 0, TotalMonthlyIncome computed)."""
    v = dict(values)
    if all(
        v.get(f) is None
        for f in ("income_from_any_source", "benefits_from_any_source", "insurance_from_any_source")
    ):
        raise _fail(
            prefix,
            "income_from_any_source",
            "HUD 4.02 / 4.03 / 4.04: answer at least one of income_from_any_source, "
            "benefits_from_any_source and insurance_from_any_source.",
        )
    # 4.02 Income and Sources
    _check_group(
        v,
        prefix,
        element="4.02.2",
        any_field="income_from_any_source",
        sources=tuple((el, s) for el, s, _ in INCOME_SOURCES),
        other=("other_income_source", "other_income_source_identify", "4.02.P"),
    )
    total = Decimal("0")
    for el, source, amount_name in INCOME_SOURCES:
        amount = v.get(amount_name)
        if v.get(source) == 1:
            if amount is None or Decimal(amount) <= 0:
                raise _fail(
                    prefix,
                    amount_name,
                    f"HUD {el}: {amount_name} (the monthly amount, more than 0) is required when "
                    f"{source} is 1 (Yes).",
                )
            total += Decimal(amount)
        elif amount is not None:
            raise _fail(
                prefix, amount_name, f"HUD {el}: {amount_name} is recorded only when {source} is 1."
            )
    answer = v.get("income_from_any_source")
    sent = v.get("total_monthly_income")
    expected = total if answer in (0, 1) else None
    if sent is not None and (expected is None or Decimal(sent) != expected):
        should = expected if expected is not None else "empty unless the answer is 0 or 1"
        raise _fail(
            prefix,
            "total_monthly_income",
            f"HUD 4.02.18: total_monthly_income must be the sum of the source amounts ({should}).",
        )
    v["total_monthly_income"] = expected
    # 4.03 Non-Cash Benefits
    _check_group(
        v,
        prefix,
        element="4.03.2",
        any_field="benefits_from_any_source",
        sources=BENEFIT_SOURCES,
        other=("other_benefits_source", "other_benefits_source_identify", "4.03.A"),
    )
    # 4.04 Health Insurance
    _check_group(
        v,
        prefix,
        element="4.04.2",
        any_field="insurance_from_any_source",
        sources=tuple((el, s) for el, s, _ in INSURANCE_SOURCES),
        other=("other_insurance", "other_insurance_identify", "4.04.12A"),
    )
    for el, source, reason in INSURANCE_SOURCES:
        if reason is None or v.get(reason) is None:
            continue
        if v[reason] not in NO_INSURANCE_REASONS:
            raise _fail(prefix, reason, f"HUD {el}A: {v[reason]} is not a list 4.04.A code.")
        if v.get(source) != 0:
            raise _fail(
                prefix, reason, f"HUD {el}A: {reason} is recorded only when {source} is 0 (No)."
            )
    return v


def check_domestic_violence(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """4.11: WhenOccurred (4.11.A) and CurrentlyFleeing (4.11.B) are asked, and required, exactly
    when DomesticViolenceSurvivor (4.11.2) is 1 (Yes)."""
    v = dict(values)
    survivor = v.get("domestic_violence_survivor")
    if survivor not in YES_NO_REASONS:
        raise _fail(
            prefix,
            "domestic_violence_survivor",
            "HUD 4.11.2: domestic_violence_survivor is required (list 1.8).",
        )
    for name, element, allowed in (
        ("when_occurred", "4.11.A", DV_WHEN_OCCURRED),
        ("currently_fleeing", "4.11.B", YES_NO_REASONS),
    ):
        value = v.get(name)
        if survivor == YES:
            if value is None:
                raise _fail(
                    prefix,
                    name,
                    f"HUD {element}: {name} is required when domestic_violence_survivor is 1.",
                )
            if value not in allowed:
                raise _fail(prefix, name, f"HUD {element}: {value} is not an allowed code.")
        elif value is not None:
            raise _fail(
                prefix,
                name,
                f"HUD {element}: {name} is asked only when domestic_violence_survivor is 1 (Yes).",
            )
    return v
