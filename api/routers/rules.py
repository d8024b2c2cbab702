"""The alert rules workers evaluate (read with a read key, changed with an admin key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException

from alerts import rules
from alerts.rules import Rule
from api.deps import ERRORS, AdminKey, ReadKey, RuleId, SettingsDep
from schemas.api import Problem

router = APIRouter(tags=["alerts"])
T = TypeVar("T")


@router.get("/v1/rules", responses=ERRORS)
def list_rules(key: ReadKey, settings: SettingsDep) -> list[Rule]:
    """The alert rules in effect (workers re-read them within seconds of a change)."""
    return list(_rule_call(rules.current_rules, settings.rules_file).rules)


@router.put("/v1/rules/{rule_id}", responses=ERRORS | {409: {"model": Problem}})
def put_rule(rule_id: RuleId, rule: Rule, key: AdminKey, settings: SettingsDep) -> dict[str, Any]:
    """Add or replace rule ``rule_id`` (the body's ``id`` must match); idempotent."""
    if rule.id != rule_id:
        raise HTTPException(422, f"the body's id {rule.id!r} does not match the path's {rule_id!r}")
    changed = _rule_call(rules.add_rule, rule, settings.rules_file, True)
    return {"rule": rule_id, "changed": changed}


@router.delete("/v1/rules/{rule_id}", responses=ERRORS)
def delete_rule(rule_id: RuleId, key: AdminKey, settings: SettingsDep) -> dict[str, Any]:
    """Remove rule ``rule_id``; removing a rule that does not exist changes nothing."""
    changed = _rule_call(rules.remove_rule, rule_id, settings.rules_file)
    return {"rule": rule_id, "changed": changed}


def _rule_call(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    except rules.RuleError as exc:
        raise HTTPException(409, str(exc)) from None
