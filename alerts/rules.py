"""Threshold rules: what to watch, over which window, when to fire and when to re-arm.

Rules live in a YAML file (``alerts/rules.yaml`` ships the defaults; ``finsent alerts rules add``
writes ``$FINSENT_DATA_DIR/rules.yaml``, seeded from the defaults). Durations are written
``30s``, ``5m``, ``1h``.

A rule's ``scope`` and ``target`` say what it watches:

- ``scope: symbol`` with ``target: NVDA``: one symbol; ``target: "*"``: every symbol, each on its own;
- ``scope: topic`` with a topic name, or ``"*"`` for every topic;
- ``scope: all``: all documents together (the market as a whole).

Symbol rules read the text's sentiment toward the symbol (the document's where the text does not
mention it) and may skip documents less relevant to it than ``min_relevance`` (0-100); topic and
market rules read the document's sentiment.
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alerts.exceptions import AlertsError
from schemas.alerts import Scope, Severity
from schemas.durations import parse_duration

log = logging.getLogger(__name__)

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.yaml")
BUCKET_S = 10
"""Windows, hops and cooldowns are whole multiples of this many seconds (the engine's bucket size)."""
MIN_WINDOW_S, MAX_WINDOW_S = 60, 3_600
EVERY = "*"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: a tenth of the pure-Python loader's CPU per read."""
MAX_DESCRIPTION_CHARS = 500
MAX_TARGET_CHARS = 64
MAX_RULES = 200
"""Rules a file may hold: with the field caps, this bounds what every reader of the file parses."""

Metric = Literal["mean_score", "negative_share", "volume", "volume_zscore", "score_change", "class_psi", "model_psi"]
Comparison = Literal["<", "<=", ">", ">="]
THRESHOLD_RANGES: dict[str, tuple[float, float]] = {
    "mean_score": (-1.0, 1.0),
    "negative_share": (0.0, 1.0),
    "volume": (0.0, float("inf")),
    "volume_zscore": (float("-inf"), float("inf")),
    "score_change": (-2.0, 2.0),
    "class_psi": (0.0, float("inf")),
    "model_psi": (0.0, float("inf")),
}
"""The values each metric can take: a threshold outside them could never (or would always) fire."""
BASELINE_METRICS = frozenset({"volume_zscore", "score_change", "class_psi"})
"""Metrics measured against the trailing baseline (the ``baseline_windows`` windows before the current one)."""

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class RuleError(AlertsError, ValueError):
    """A rule or rules file is malformed; the message names the rule and the field."""


Duration = Annotated[int, BeforeValidator(parse_duration)]
"""Seconds, written as in every finsent duration (``schemas.durations``): 90, 30s, 5m, 1h."""


class Rule(BaseModel):
    """One threshold rule (see the module doc for scope and target)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="lower-case, digits, '.', '_' or '-'")
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    scope: Scope
    target: str = Field(EVERY, max_length=MAX_TARGET_CHARS, description="a symbol or topic name, or '*'")
    metric: Metric
    window: Duration = Field(300, description="window length, 1m to 1h")
    hop: Duration = Field(30, description="how far consecutive windows advance")
    comparison: Comparison
    threshold: float = Field(allow_inf_nan=False)
    min_docs: int = Field(10, ge=1)
    severity: Severity = "warning"
    cooldown: Duration = Field(900, ge=0, description="no second alert for the same target within this time")
    hysteresis: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="how far past the threshold the metric must recover to re-arm"
    )
    baseline_windows: int = Field(12, ge=2, le=48, description="windows of trailing baseline for *_zscore/*_change")
    min_relevance: int = Field(
        0, ge=0, le=100, description="symbol rules: count only documents at least this relevant to the symbol"
    )
    novel_only: bool = Field(
        False, description="count only each story's first document in 24 h, so reposts of one story cannot fire it"
    )

    @field_validator("target")
    @classmethod
    def _strip_target(cls, value: str) -> str:
        return value.strip()

    @field_validator("threshold")
    @classmethod
    def _threshold_in_metric_range(cls, value: float, info: ValidationInfo) -> float:
        metric = info.data.get("metric")
        if metric in THRESHOLD_RANGES:
            low, high = THRESHOLD_RANGES[metric]
            if not low <= value <= high:
                raise ValueError(f"a {metric} threshold must be between {low:g} and {high:g}, got {value:g}")
        return value

    @field_validator("window")
    @classmethod
    def _window_in_range(cls, value: int) -> int:
        if not MIN_WINDOW_S <= value <= MAX_WINDOW_S:
            raise ValueError(f"must be between 1m and 1h, got {value}s")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("window", "hop", "cooldown"):
            if getattr(self, name) % BUCKET_S:
                raise ValueError(f"{name} must be a multiple of {BUCKET_S}s, got {getattr(self, name)}s")
        if not BUCKET_S <= self.hop <= self.window:
            raise ValueError(f"hop must be between {BUCKET_S}s and the window ({self.window}s), got {self.hop}s")
        if self.scope == "all" and self.target not in ("", EVERY):
            raise ValueError("a rule with scope 'all' takes no target")
        if self.scope != "all" and not self.target:
            raise ValueError(f"a rule with scope {self.scope!r} needs a target ({self.scope} name, or '*')")
        if self.scope != "symbol" and self.min_relevance:
            raise ValueError("min_relevance applies to symbol rules only (relevance is that of a document to a symbol)")
        if self.scope == "symbol" and self.target != EVERY:
            object.__setattr__(self, "target", self.target.upper())
        return self

    def fires(self, value: float) -> bool:
        """Whether ``value`` crosses the threshold."""
        return _COMPARE[self.comparison](value, self.threshold)

    def recovered(self, value: float) -> bool:
        """Whether ``value`` is back on the safe side by at least ``hysteresis`` (the rule re-arms)."""
        margin = self.hysteresis if self.comparison in ("<", "<=") else -self.hysteresis
        return not _COMPARE[self.comparison](value, self.threshold + margin)

    def applies_to(self, scope: Scope, key: str) -> bool:
        """Whether this rule watches the scope key ``key`` (a symbol, a topic, or '' for all)."""
        return self.scope == scope and (scope == "all" or self.target in (EVERY, key))

    @property
    def lookback_s(self) -> int:
        """How much history the rule needs: its window, plus the baseline for baseline metrics."""
        return self.window * (1 + self.baseline_windows if self.metric in BASELINE_METRICS else 1)

    @property
    def looks_for_negative(self) -> bool:
        """Whether the rule watches for bad news (its alerts list the most negative headlines first)."""
        if self.metric == "negative_share":
            return self.comparison in (">", ">=")
        return self.comparison in ("<", "<=")


class RuleSet(BaseModel):
    """The contents of a rules file."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self

    def by_id(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


def load_rules(path: Path) -> RuleSet:
    """Read and validate a rules file; RuleError says which rule and field is wrong."""
    try:
        data = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
    except OSError as exc:
        raise RuleError(f"cannot read rules file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"rules file {path} is not valid YAML: {_yaml_position(exc)}") from None
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleError(f"rules file {path}: {_describe(exc, data)}") from None


def _yaml_position(error: yaml.YAMLError) -> str:
    """Where and what the YAML problem is, without echoing the file's contents (which may hold anything)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "cannot parse"
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else str(problem)


def save_rules(path: Path, rules: Iterable[Rule]) -> None:
    """Write ``rules`` to ``path`` atomically (a temporary file renamed over it)."""
    rule_set = RuleSet(rules=list(rules))
    body = {"rules": [rule.model_dump(exclude_defaults=True) | {"id": rule.id} for rule in rule_set.rules]}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
    partial.replace(path)


class RuleBook:
    """The rules a worker evaluates: ``path`` when it exists, else the shipped defaults.

    The file is checked at most every ``check_every_s`` and re-read when it appears, changes
    or disappears; a file that became invalid keeps the last good rules (and logs why).
    """

    def __init__(
        self,
        path: Path,
        check_every_s: float = 5.0,
        clock: Callable[[], float] | None = None,
        fallback: Path = DEFAULT_RULES_FILE,
    ) -> None:
        self.path = path
        self._fallback = fallback
        self._clock = clock or time.monotonic
        self._check_every_s = check_every_s
        self._checked_at = float("-inf")
        self._rules = load_rules(self.source)
        self._stamp = self._file_stamp()

    @property
    def source(self) -> Path:
        """The file the rules come from now."""
        return self.path if self.path.exists() else self._fallback

    @property
    def rules(self) -> Sequence[Rule]:
        """The current rules."""
        now = self._clock()
        if now - self._checked_at >= self._check_every_s:
            self._checked_at = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._rules.rules

    def _reload(self) -> None:
        source = self.source
        try:
            self._rules = load_rules(source)
            log.info("alert rules reloaded from %s: %d rules", source, len(self._rules.rules))
        except RuleError as exc:
            log.error("alert rules not reloaded, keeping the previous ones: %s", exc)

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size


def _describe(exc: ValidationError, data: object) -> str:
    problems = []
    for error in exc.errors():
        location = list(error["loc"])
        where = ".".join(str(part) for part in location)
        if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
            rules = data.get("rules") if isinstance(data, dict) else None
            rule = rules[location[1]] if isinstance(rules, list) and location[1] < len(rules) else None
            rule_id = rule.get("id") if isinstance(rule, dict) else None
            field = ".".join(str(part) for part in location[2:]) or "rule"
            where = f"rule {rule_id or '#' + str(location[1] + 1)!s}: {field}"
        problems.append(f"{where}: {error_message(error)}")
    return "; ".join(problems)


def error_message(error: Any) -> str:
    """A pydantic error's message without its ``Value error, `` prefix."""
    return str(error["msg"]).removeprefix("Value error, ")


def rules_file(editable: Path) -> Path:
    """The rules file in effect: the editable one (``Settings.rules_file``) once it exists, else the defaults."""
    return editable if editable.exists() else DEFAULT_RULES_FILE


def current_rules(editable: Path) -> RuleSet:
    """The rules in effect (see ``rules_file``)."""
    return load_rules(rules_file(editable))


def add_rule(rule: Rule, editable: Path, replace: bool = False) -> bool:
    """Add ``rule`` to the editable rules file (seeded from the rules in effect); whether anything changed.

    Adding a rule identical to one present is a no-op; a different rule under the same id is a
    RuleError unless ``replace``.
    """
    rules = list(current_rules(editable).rules)
    existing = next((r for r in rules if r.id == rule.id), None)
    if existing == rule:
        return False
    if existing is not None and not replace:
        raise RuleError(f"a different rule {rule.id!r} exists; remove it first or replace it")
    if existing is None and len(rules) >= MAX_RULES:
        raise RuleError(f"there are already {MAX_RULES} rules, the most a rules file may hold; remove one first")
    rules = [rule if r.id == rule.id else r for r in rules] if existing else [*rules, rule]
    save_rules(editable, rules)
    return True


def remove_rule(rule_id: str, editable: Path) -> bool:
    """Remove rule ``rule_id`` from the editable rules file; False if there was no such rule."""
    rules = list(current_rules(editable).rules)
    kept = [rule for rule in rules if rule.id != rule_id]
    if len(kept) == len(rules):
        return False
    save_rules(editable, kept)
    return True
