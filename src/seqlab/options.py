"""Config dataclasses as command-line options and YAML files — one source of truth for both.

Every field of a config dataclass becomes ``--field-name`` (shown in ``--help`` with its default), and
the same names are the keys of a YAML config section. Precedence: defaults < YAML < command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["add_options", "build_config", "check_choices", "check_positive_ints", "read_yaml"]


def add_options(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """Add one ``--option`` per field of dataclass ``cls``, in an argument group called ``title``."""
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = "--" + f.name.replace("_", "-")
        kind = _base_type(hints[f.name])
        if kind is bool:
            group.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"(default: {default})",
            )
        else:
            group.add_argument(
                flag,
                dest=f.name,
                default=None,
                metavar=_metavar(kind),
                type=_parser(kind, f.name, hints[f.name]),
                help=f"(default: {_show(default)})",
            )


def read_yaml(path: str | Path | None, sections: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """A YAML config with the given top-level sections (each a mapping); unknown sections are an error."""
    if path is None:
        return {s: {} for s in sections}
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ValueError(f"{path}: config file does not exist") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a mapping with sections {', '.join(sections)}, got {type(data).__name__}"
        )
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; known: {', '.join(sections)}")
    out = {}
    for s in sections:
        value = data.get(s) or {}
        if not isinstance(value, dict):
            raise ValueError(f"{path}: section {s!r} must be a mapping of option: value")
        out[s] = value
    return out


def build_config(
    cls: type, args: argparse.Namespace, yaml_section: Mapping[str, Any], where: str, **overrides: Any
):
    """The dataclass ``cls`` from YAML values, then command-line values, then ``overrides``."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(yaml_section) - names)
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {unknown}; known: {', '.join(sorted(names))}")
    values = dict(yaml_section)
    for name in names:
        cli_value = getattr(args, name, None)
        if cli_value is not None:
            values[name] = cli_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    hints = typing.get_type_hints(cls)
    if "out_dir" in values and _base_type(hints.get("out_dir", str)) is Path:
        values["out_dir"] = Path(values["out_dir"])
    try:
        return cls(**values)
    except TypeError as err:
        raise ValueError(f"{where}: {err}") from None


def _base_type(hint: Any) -> Any:
    """int | None → int; dict[str, Any] → dict; Path → Path; a union of several kinds → str."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else str
    return origin or hint


def _parser(kind: Any, name: str, hint: Any):
    optional = type(None) in typing.get_args(hint)
    several_kinds = len([a for a in typing.get_args(hint) if a is not type(None)]) > 1  # e.g. int | str

    def parse(text: str):
        if optional and text.lower() in ("none", "null"):
            return None
        if kind is dict:
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise argparse.ArgumentTypeError(f"--{name}: expected a JSON object, got {text!r}") from None
            if not isinstance(value, dict):
                raise argparse.ArgumentTypeError(f"--{name}: expected a JSON object, got {text!r}")
            return value
        if kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"--{name}: expected {kind.__name__}, got {text!r}"
                ) from None
        if several_kinds and text.isdigit():  # e.g. devices: 2
            return int(text)
        return Path(text) if kind is Path else text

    return parse


def _metavar(kind: Any) -> str:
    return {int: "INT", float: "FLOAT", dict: "JSON", Path: "DIR"}.get(kind, "VALUE")


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict) else str(value)


def check_choices(config: Any, choices: Mapping[str, tuple[str, ...]]) -> None:
    """A config's named fields hold one of their known values, else ValueError listing them."""
    for name, allowed in choices.items():
        value = getattr(config, name)
        if value not in allowed:
            known = ", ".join(allowed)
            raise ValueError(f"{type(config).__name__}: unknown {name} {value!r}; known: {known}")


def check_positive_ints(config: Any, names: tuple[str, ...]) -> None:
    """A config's named fields are integers ≥ 1 (booleans refused), else ValueError."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"{type(config).__name__}: expected {name} to be a positive integer, got {value!r}"
            )
