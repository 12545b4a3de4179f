"""The operator's monthly plans: read and checked from a TOML file (PLANS_FILE, the shipped
wallet/plans.toml by default), and the destination group of a number.

A plan has a name, a monthly price in ETT, included minutes per destination group, and the
entitlements it grants: direct numbers (DIDs), IVR, tracking numbers, voicemail (stored and
shown; IVR, tracking numbers and voicemail are not services of the exchange yet).
Destination groups are lists of E.164 prefixes with a display name per language; the longest
matching prefix wins, as in the tariff file (wallet/tariffs.py). A plan may list `aliases`
(other spellings of its name, e.g. in Cyrillic) that the chat accepts. Every error is a
PlanError (PlanFileError) naming the file's full path, the plan and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from domain.money import to_units
from domain.numbers import is_e164, is_internal, normalize

SHIPPED_PLANS = Path(__file__).resolve().parent / "plans.toml"
MAX_NAME = 64  # PlanSubscription.plan
MAX_GROUP = 32  # PlanUsage.dest_group
MAX_MINUTES = 1_000_000  # a month has 44 640 minutes; more is a typo
_PLAN_FIELDS = {
    "name",
    "aliases",
    "price_ett",
    "minutes",
    "dids",
    "ivr",
    "tracking_numbers",
    "voicemail",
}
_GROUP_FIELDS = {"prefixes", "label"}


class PlanError(ValueError):
    """The plan file is malformed (the message names the file's path, the plan and the
    field)."""


PlanFileError = PlanError


@dataclass(frozen=True)
class Plan:
    """One plan: `price` in ETT units a month; `minutes`: included minutes per group."""

    name: str
    price: int
    minutes: MappingProxyType[str, int]
    dids: int = 0
    ivr: bool = False
    tracking_numbers: int = 0
    voicemail: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def included_seconds(self) -> dict[str, int]:
        """Included seconds per destination group (groups with none left out)."""
        return {group: minutes * 60 for group, minutes in self.minutes.items() if minutes}


@dataclass(frozen=True)
class Catalogue:
    """The plans on offer (in the file's order) and the destination groups: `groups` maps
    a prefix (digits) to its group; `labels` a group to its display name per language."""

    plans: tuple[Plan, ...]
    groups: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    labels: MappingProxyType[str, MappingProxyType[str, str]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalogue:
        """Read and check a plan file (the shipped one when `path` is None or "").
        Raises PlanError naming the file, the plan and the field."""
        path = Path(path) if path else SHIPPED_PLANS
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise PlanError(f"{path}: cannot be read ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise PlanError(f"{path}: not TOML ({error})") from None
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "plans") -> Catalogue:
        """The catalogue of a parsed plan file (`source` names it in errors)."""
        unknown = set(data) - {"groups", "plan"}
        if unknown:
            raise PlanError(f"{source}: unknown section {sorted(unknown)[0]!r}")
        groups, labels = _groups(data.get("groups", {}), source)
        raw_plans = data.get("plan", [])
        if not isinstance(raw_plans, list) or not raw_plans:
            raise PlanError(f"{source}: no [[plan]]")
        plans: list[Plan] = []
        for number, raw in enumerate(raw_plans, start=1):
            plan = _plan(raw, number, set(groups.values()), source)
            if any(p.name.casefold() == plan.name.casefold() for p in plans):
                raise PlanError(f"{source}: plan {plan.name!r}: field 'name': a duplicate")
            for alias in plan.aliases:
                if (other := _catalogue_find(plans, alias)) is not None:
                    raise PlanError(
                        f"{source}: plan {plan.name!r}: field 'aliases': {alias!r} names "
                        f"plan {other.name!r} too"
                    )
            plans.append(plan)
        return cls(tuple(plans), MappingProxyType(groups), MappingProxyType(labels))

    def find(self, name: str) -> Plan | None:
        """The plan called `name` or one of its aliases (case and surrounding spaces
        ignored), None if none."""
        wanted = name.strip().casefold()
        return next(
            (p for p in self.plans if wanted in {n.casefold() for n in (p.name, *p.aliases)}),
            None,
        )

    def label(self, group: str, lang: str) -> str:
        """The display name of `group` in `lang` (else English, else the group's key)."""
        names = self.labels.get(group, MappingProxyType({}))
        return names.get(lang) or names.get("en") or group

    def group_of(self, number: str) -> str | None:
        """The destination group of an E.164 number (longest prefix); None for an
        extension or a number in no group."""
        if is_internal(number):
            return None
        text = normalize(number)
        if not is_e164(text):
            return None
        digits = text[1:]
        for length in range(len(digits), 0, -1):
            group = self.groups.get(digits[:length])
            if group is not None:
                return group
        return None


def _groups(raw: object, source: str) -> tuple[dict[str, str], dict[str, MappingProxyType]]:
    """Prefix -> group name, and group name -> {language: display name}. A group is a list
    of prefixes or a table with `prefixes` and an optional `label` table."""
    if not isinstance(raw, dict):
        raise PlanError(f"{source}: [groups] must be a table of groups")
    prefixes: dict[str, str] = {}
    labels: dict[str, MappingProxyType] = {}
    for group, body in raw.items():
        where = f"{source}: group {group!r}"
        if not group or len(group) > MAX_GROUP:
            raise PlanError(f"{where}: a name of 1 to {MAX_GROUP} characters")
        listed, labels[group] = _group_fields(body, where)
        for prefix in listed:
            digits = str(prefix).strip().lstrip("+") if isinstance(prefix, str | int) else ""
            if not digits.isdigit() or not digits.isascii():
                raise PlanError(f"{where}: prefix {prefix!r} must be digits")
            if digits in prefixes:
                raise PlanError(f"{where}: prefix {digits} is in group {prefixes[digits]!r} too")
            prefixes[digits] = group
    return prefixes, labels


def _group_fields(body: object, where: str) -> tuple[list, MappingProxyType[str, str]]:
    """A group's prefixes (not yet checked) and its labels: `body` is a list of prefixes
    or a table {prefixes, label}."""
    listed, label = body, {}
    if isinstance(body, dict):
        unknown = set(body) - _GROUP_FIELDS
        if unknown:
            raise PlanError(f"{where}: field {sorted(unknown)[0]!r}: unknown")
        listed, label = body.get("prefixes"), body.get("label", {})
    if not isinstance(listed, list) or not listed:
        raise PlanError(f"{where}: field 'prefixes': a list of E.164 prefixes")
    if not isinstance(label, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in label.items()
    ):
        raise PlanError(f"{where}: field 'label': a table of language = \"name\"")
    return listed, MappingProxyType({k: v.strip() for k, v in label.items()})


def _catalogue_find(plans: list[Plan], name: str) -> Plan | None:
    wanted = name.casefold()
    return next((p for p in plans if wanted in {n.casefold() for n in (p.name, *p.aliases)}), None)


def _plan(raw: object, number: int, groups: set[str], source: str) -> Plan:
    if not isinstance(raw, dict):
        raise PlanError(f"{source}: plan {number}: must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise PlanError(f"{source}: plan {number}: field 'name': 1 to {MAX_NAME} characters")
    name = name.strip()
    where = f"{source}: plan {name!r}: field"
    unknown = set(raw) - _PLAN_FIELDS
    if unknown:
        raise PlanError(f"{where} {sorted(unknown)[0]!r}: unknown")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and 0 < len(a.strip()) <= MAX_NAME for a in aliases
    ):
        raise PlanError(f"{where} 'aliases': a list of names, 1 to {MAX_NAME} characters each")
    price = _price(raw.get("price_ett"), where)
    minutes = _minutes(raw.get("minutes", {}), groups, where)
    _entitlements(raw, where)
    return Plan(
        name=name,
        price=price,
        minutes=MappingProxyType(minutes),
        dids=raw.get("dids", 0),
        ivr=raw.get("ivr", False),
        tracking_numbers=raw.get("tracking_numbers", 0),
        voicemail=raw.get("voicemail", False),
        aliases=tuple(a.strip() for a in aliases),
    )


def _price(text: object, where: str) -> int:
    try:
        if isinstance(text, bool) or not isinstance(text, str | int):
            raise ValueError
        price = to_units(str(text), "ETT")
    except (ValueError, ArithmeticError):
        raise PlanError(f"{where} 'price_ett': an ETT amount such as \"20\"") from None
    if price <= 0:
        raise PlanError(f"{where} 'price_ett': must be more than 0")
    return price


def _minutes(minutes: object, groups: set[str], where: str) -> dict[str, int]:
    if not isinstance(minutes, dict):
        raise PlanError(f"{where} 'minutes': a table of group = minutes")
    for group, count in minutes.items():
        if group not in groups:
            raise PlanError(f"{where} 'minutes': no group {group!r} in [groups]")
        if not _count(count, MAX_MINUTES):
            raise PlanError(f"{where} 'minutes.{group}': whole minutes, 0 to {MAX_MINUTES}")
    return dict(minutes)


def _entitlements(raw: dict, where: str) -> None:
    for key in ("dids", "tracking_numbers"):
        if not _count(raw.get(key, 0), 1000):
            raise PlanError(f"{where} {key!r}: a whole number, 0 to 1000")
    for key in ("ivr", "voicemail"):
        if not isinstance(raw.get(key, False), bool):
            raise PlanError(f"{where} {key!r}: true or false")


def _count(value: object, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most
