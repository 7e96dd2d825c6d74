"""Data templates: per prefix and version, the items an identifier's values must follow.

A template lists items (display name, value type, index ≥ 2000, required, enabled, constraints). An identifier
whose TEMPLATE value (index 1001) names a version is checked against that version of its prefix's template:
every business value (index ≥ 2000) must be an enabled item with the same index and type and meet its
constraints, and every required item must be there. Messages are in Chinese, as the SNMS clients expect, and
name the item.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .errors import InvalidInput, InvalidValue
from .handle import normalise_prefix
from .values import FIRST_BUSINESS_INDEX, TEMPLATE, TEMPLATE_INDEX, HandleValue, StringData

MAX_VERSION = 128
MAX_TYPE = 128
CONSTRAINT_TYPES = ("string", "number", "date")
_INDUSTRY = {
    "industryCategory": re.compile(r"[A-T]\Z"),
    "industrySpecific": re.compile(r"\d{2}\Z"),
    "industryTrade": re.compile(r"\d{3}\Z"),
    "industrySubclass": re.compile(r"\d{4}\Z"),
}


class InvalidTemplate(InvalidInput):
    """模板内容不正确"""


def _fail(message: str) -> InvalidTemplate:
    return InvalidTemplate(message)


@dataclass(frozen=True, slots=True)
class Constraint:
    type: str = "string"
    min_length: int | None = None
    max_length: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.min_length is not None:
            out["minLength"] = self.min_length
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        return out


@dataclass(frozen=True, slots=True)
class TemplateItem:
    name: str
    id_type: str
    id_index: int
    required: bool = False
    enabled: bool = True
    constraint: Constraint = field(default_factory=Constraint)

    @property
    def label(self) -> str:
        return f"{self.id_type}（{self.name}）"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "idType": self.id_type,
            "idIndex": self.id_index,
            "required": self.required,
            "state": 1 if self.enabled else 0,
            "metadata": self.constraint.to_json(),
        }

    def check(self, text: str) -> None:
        """Raise `InvalidValue` naming the item when `text` breaks its constraints."""
        rule = self.constraint
        if rule.min_length is not None and len(text) < rule.min_length:
            raise InvalidValue(f"模板项 {self.label} 的值过短，至少 {rule.min_length} 个字符")
        if rule.max_length is not None and len(text) > rule.max_length:
            raise InvalidValue(f"模板项 {self.label} 的值过长，最多 {rule.max_length} 个字符")
        if rule.type == "number" and not _is_number(text):
            raise InvalidValue(f"模板项 {self.label} 的值应为数字：{text}")
        if rule.type == "date" and not _is_date(text):
            raise InvalidValue(f"模板项 {self.label} 的值应为日期（yyyy-MM-dd）：{text}")


_NUMBER = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _is_number(text: str) -> bool:
    return _NUMBER.match(text) is not None


def _is_date(text: str) -> bool:
    # Exactly yyyy-MM-dd: fromisoformat alone also takes 20261122 and week dates.
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Template:
    prefix: str
    version: str
    items: tuple[TemplateItem, ...]
    industry: dict[str, str] = field(default_factory=dict)
    type: int = 1
    description: str = ""
    # The items by index: every value of every record checked against the template looks its item up.
    _by_index: dict[int, TemplateItem] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_index: dict[int, TemplateItem] = {}
        for item in self.items:
            by_index.setdefault(item.id_index, item)  # the first of an index, as a scan would find
        object.__setattr__(self, "_by_index", by_index)

    def item(self, index: int) -> TemplateItem | None:
        return self._by_index.get(index)

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "version": self.version,
            **self.industry,
            "type": self.type,
            "description": self.description,
            "items": [item.to_json() for item in self.items],
        }

    def check(self, values: Sequence[HandleValue]) -> None:
        """Raise `InvalidValue` naming the item when `values` do not follow this template."""
        present = set()
        for value in values:
            if value.index < FIRST_BUSINESS_INDEX:
                continue  # system values (URL, HS_ADMIN, TEMPLATE…) are not the template's business
            item = self.item(value.index)
            if item is None:
                raise InvalidValue(
                    f"模板 {self.version} 中没有索引为 {value.index} 的模板项（类型 {value.type}）"
                )
            if item.id_type != value.type:
                raise InvalidValue(f"索引 {value.index} 的模板项是 {item.label}，值的类型却是 {value.type}")
            if not item.enabled:
                raise InvalidValue(f"模板项 {item.label} 已停用")
            if not isinstance(value.data, StringData):
                raise InvalidValue(f"模板项 {item.label} 的值应为字符串")
            item.check(value.data.value)
            present.add(value.index)
        for item in self.items:
            if item.required and item.enabled and item.id_index not in present:
                raise InvalidValue(f"缺少必填模板项 {item.label}")


def template_version(values: Sequence[HandleValue]) -> str | None:
    """The template version a record names in its TEMPLATE value, if it names one."""
    for value in values:
        if value.index == TEMPLATE_INDEX:
            if value.type != TEMPLATE or not isinstance(value.data, StringData):
                raise InvalidValue("索引 1001 保留给 TEMPLATE（模板版本，字符串）")
            return value.data.value
    return None


# -- parsing the SNMS JSON form --------------------------------------------------------------------------


def _text(obj: dict[str, Any], key: str, *, limit: int, required: bool = True) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(f"{key} 必须是{'非空' if required else ''}字符串")
    if len(value) > limit:
        raise _fail(f"{key} 最多 {limit} 个字符")
    return value


def _optional_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(f"metadata.{key} 必须是非负整数")
    return value


def _constraint(obj: Any) -> Constraint:
    if obj is None:
        return Constraint()
    if not isinstance(obj, dict):
        raise _fail("metadata 必须是对象")
    kind = obj.get("type", "string")
    if kind not in CONSTRAINT_TYPES:
        raise _fail(f"metadata.type 只能是 {', '.join(CONSTRAINT_TYPES)}")
    low, high = _optional_int(obj, "minLength"), _optional_int(obj, "maxLength")
    if low is not None and high is not None and low > high:
        raise _fail("metadata.minLength 不能大于 maxLength")
    return Constraint(kind, low, high)


def _item(obj: Any, position: int) -> TemplateItem:
    if not isinstance(obj, dict):
        raise _fail(f"items[{position}] 必须是对象")
    try:
        index = obj.get("idIndex")
        if not isinstance(index, int) or isinstance(index, bool) or not FIRST_BUSINESS_INDEX <= index < 2**31:
            raise _fail(f"idIndex 必须是不小于 {FIRST_BUSINESS_INDEX} 的整数")
        state = obj.get("state", 1)
        if isinstance(state, bool) or state not in (0, 1):
            raise _fail("state 只能是 1（启用）或 0（停用）")
        required = obj.get("required", False)
        if not isinstance(required, bool):
            raise _fail("required 必须是布尔值")
        return TemplateItem(
            name=_text(obj, "name", limit=128),
            id_type=_text(obj, "idType", limit=MAX_TYPE),
            id_index=index,
            required=required,
            enabled=state == 1,
            constraint=_constraint(obj.get("metadata")),
        )
    except InvalidTemplate as exc:
        raise _fail(f"items[{position}]：{exc.message}") from None


def _industry(obj: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, pattern in _INDUSTRY.items():
        value = obj.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not pattern.match(value):
            raise _fail(f"{key} 不符合 GB/T 4754 行业分类代码")
        found[key] = value
    if "industryCategory" not in found:
        raise _fail("industryCategory（GB/T 4754 门类，A–T）必填")
    codes = [found[k] for k in ("industrySpecific", "industryTrade", "industrySubclass") if k in found]
    if any(not longer.startswith(shorter) for shorter, longer in itertools.pairwise(codes)):
        raise _fail("行业大类、中类、小类代码必须逐级对应")
    return found


def parse_template(obj: Any) -> Template:
    """A template from its SNMS JSON form, or `InvalidTemplate` saying (in Chinese) what is wrong."""
    if not isinstance(obj, dict):
        raise _fail("模板必须是 JSON 对象")
    prefix = normalise_prefix(_text(obj, "prefix", limit=64))
    kind = obj.get("type", 1)
    if isinstance(kind, bool) or kind not in (1, 2):
        raise _fail("type 只能是 1（主动标识载体）或 2（其他）")
    items_in = obj.get("items")
    if not isinstance(items_in, list) or not items_in:
        raise _fail("items 必须是非空数组")
    items = tuple(_item(item, n) for n, item in enumerate(items_in))
    if len({i.id_index for i in items}) != len(items):
        raise _fail("模板项的 idIndex 不能重复")
    return Template(
        prefix=prefix,
        version=_text(obj, "version", limit=MAX_VERSION),
        items=items,
        industry=_industry(obj),
        type=kind,
        description=_text(obj, "description", limit=1000, required=False),
    )
