"""Shared pieces of the specification models: YAML loading and error wording."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from ..errors import SpecError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, and so are NaN and infinite numbers
    (no bound, coefficient, reference, target or descriptor can be one)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _no_boolean(v: Any) -> Any:
    # pydantic reads true as 1, and YAML 1.1 reads yes/no/on/off/true/false as booleans, so a
    # `choices: [yes, no]` would silently become [1, 0]
    if isinstance(v, bool):
        raise ValueError(
            "a boolean (YAML reads unquoted yes, no, on, off, true and false as booleans) is "
            "not a setting here; write a number, or quote the word ('yes') if it is text"
        )
    return v


Number = Annotated[float, BeforeValidator(_no_boolean)]
"""A float field of a spec (refuses booleans)."""
Count = Annotated[int, BeforeValidator(_no_boolean)]
"""An int field of a spec (refuses booleans)."""
Choice = Annotated[str | int | float, BeforeValidator(_no_boolean)]
"""A value a categorical setting may take (refuses booleans)."""


class _DuplicateKey(Exception):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last).

    Checked on each mapping as written, before merge keys (``<<: *anchor``) are expanded, so
    overriding a merged key stays allowed, and two keys on one line (``{min: 1, min: 2}``) are
    caught too.
    """

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key = (key_node.tag, key_node.value)
            mark = key_node.start_mark
            if key in seen:
                first = seen[key]
                where = (
                    f"line {mark.line + 1}"
                    if first.line == mark.line
                    else f"lines {first.line + 1} and {mark.line + 1}"
                )
                raise _DuplicateKey(
                    f"key {key_node.value!r} is given twice ({where}); keep one of them"
                )
            seen[key] = mark
        return node


def load_yaml(path: Path, what: str) -> tuple[dict[str, Any], str]:
    """Read a YAML mapping from ``path``; return it and the exact text."""
    src = f"{what} file {path}"
    if not path.exists():
        raise SpecError(src, "the file does not exist; check the path")
    if path.is_dir():
        raise SpecError(src, "is a directory; give the path of a YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(src, f"cannot be read as UTF-8 text ({exc})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKey as exc:
        raise SpecError(src, str(exc)) from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(src, f"is not valid YAML{where}: {problem}; fix the syntax") from None
    if data is None:
        raise SpecError(src, f"is empty; write a {what} specification (see examples/)")
    if not isinstance(data, dict):
        raise SpecError(
            src, f"must be a YAML mapping of keys to values, not a {type(data).__name__}"
        )
    return data, text


def _loc(loc: tuple[Any, ...], data: Any = None) -> str:
    """A YAML path for ``loc``: union tags that pydantic inserts after a list index
    (``parameters[1].float.bounds``) are left out, and a list item that has a ``name`` is
    named: ``parameters[1] (temperature).bounds``."""
    out = ""
    node = data
    prev: Any = None
    for part in loc:
        if isinstance(part, str) and isinstance(prev, int) and part in _TAGGED:
            prev = part
            continue  # a union tag, not a key of the file
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                out += f" ({node['name']})"
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
        prev = part
    return out or "(top level)"


def _parent_model(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """Walk ``model`` along ``loc`` (ignoring list indices and union tags) to the model that
    holds the last element of ``loc`` (None when it cannot be told)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            # a union tag ("float", "integer", ...) or a dict key: look it up by tag
            current = _TAGGED.get(part, current)
            continue
        field = next((f for n, f in fields.items() if n == part or f.alias == part), None)
        if field is not None:
            current = _model_in(field.annotation)
        else:  # a key of a dict-valued field (a device name) or a union tag
            current = _TAGGED.get(part, current)
    return current


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The field names allowed at the parent of the last element of ``loc``."""
    fields = getattr(_parent_model(model, loc), "model_fields", None)
    if not fields:
        return None
    return sorted(f.alias or n for n, f in fields.items())


def _has_default(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """True when the field at ``loc`` may be left out (it has a default)."""
    fields = getattr(_parent_model(model, loc), "model_fields", None) or {}
    field = next((f for n, f in fields.items() if loc and loc[-1] in (n, f.alias)), None)
    return field is not None and not field.is_required()


_TAGGED: dict[str, type[BaseModel]] = {}


def register_tag(tag: str, model: type[BaseModel]) -> None:
    """Tell the error formatter which model a union tag (``type: float``) selects."""
    _TAGGED[tag] = model


def _model_in(annotation: Any) -> Any:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _yaml_kind(value: Any) -> str:
    """How a YAML reader would name the type of ``value``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def describe_validation_error(
    exc: ValidationError, model: type[BaseModel], data: Any = None
) -> list[str]:
    """Turn pydantic's errors into lines of 'field: problem; fix'."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        where = _loc(loc, data)
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{where}: unknown key; remove it or fix its spelling{hint}")
        elif kind == "missing":
            lines.append(f"{where}: required but missing; add it")
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            lines.append(
                f"{where}: unknown {ctx.get('discriminator', 'tag')} "
                f"{ctx.get('tag')!r}; use one of {ctx.get('expected_tags')}"
            )
        elif kind == "union_tag_not_found":
            ctx = err.get("ctx", {})
            lines.append(f"{where}: missing {ctx.get('discriminator', 'tag')}; add it")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            fix = "write its keys indented under it"
            if _has_default(model, loc):
                fix += ", or delete the line to use the defaults"
            lines.append(
                f"{where}: expected a mapping of keys, got {_yaml_kind(err.get('input'))}; {fix}"
            )
        elif kind == "tuple_type":
            lines.append(
                f"{where}: expected a list such as [low, high], got {_yaml_kind(err.get('input'))}"
            )
        elif kind == "list_type":
            lines.append(
                f"{where}: expected a list, got {_yaml_kind(err.get('input'))}; "
                "write one '- item' per line under it"
            )
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            given = err.get("input")
            shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
            if not loc and re.match(r"[a-z_]+(\[\d+\])?[\w\s()\[\].]*: ", msg):
                lines.append(msg)  # a check across fields that names its own field
            else:
                lines.append(f"{where}: {msg}{shown}")
    return lines


def validate(model: type[M], data: dict[str, Any], source: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(source, describe_validation_error(exc, model, data)) from None


def resolve(base: Path, ref: str) -> Path:
    p = Path(ref).expanduser()
    return p if p.is_absolute() else (base.parent / p).resolve()
