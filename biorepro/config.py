"""Configuration: loading, validation against ``config/config.schema.yaml``, defaults.

Errors name the key path (``train.epochs``) and the allowed values, and are raised
before any job runs. Named ``experiments`` are overrides merged into the base config.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "config.schema.yaml"


class ConfigError(ValueError):
    """An invalid configuration value; the message names the key path."""


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def deep_merge(base: dict, override: dict) -> dict:
    """Recursive merge: mappings merge, any other value in ``override`` replaces."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _fill_defaults(value, node: dict):
    if isinstance(value, dict) and "properties" in node:
        for name, sub in node["properties"].items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = _fill_defaults(value[name], sub)
    return value


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"config key '{path}': {error.message}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        return (f"config key '{path}': {error.instance!r} is not allowed; "
                f"allowed values: {', '.join(map(str, error.validator_value))}")
    return f"config key '{path}': {error.message}"


def validate(config: dict) -> dict:
    """Return ``config`` with defaults filled in, or raise ``ConfigError``."""
    config = _fill_defaults(copy.deepcopy(config), schema())
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(_describe(e) for e in errors))
    _check_consistency(config)
    return config


def _check_consistency(config: dict) -> None:
    ex = config["extract"]
    if (ex["n_frames"] is None) == (ex["fps"] is None):
        raise ConfigError("config keys 'extract.n_frames' and 'extract.fps': set exactly one "
                          "of them (the other to null)")
    fractions = config["dataset"]["split_fractions"]
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ConfigError(f"config key 'dataset.split_fractions': must sum to 1, got "
                          f"{sum(fractions.values()):g}")
    kind = config["dataset"]["kind"]
    if kind == "manifest" and not config["dataset"]["manifest"]:
        raise ConfigError("config key 'dataset.manifest': required when dataset.kind is manifest")
    ev = config["evaluate"]
    if ev["criterion"] in ("far", "bpcer") and ev["target"] is None:
        raise ConfigError(f"config key 'evaluate.target': required when evaluate.criterion "
                          f"is {ev['criterion']} (a rate in [0, 1], e.g. 0.01)")


RESERVED_NAMES = ("comparisons",)  # folders of results/ that are not experiments


def experiments(config: dict) -> dict[str, dict]:
    """The validated config of every experiment: the base one, then each named variant."""
    base = validate(config)
    out = {base["experiment"]: base}
    for name in (base["experiment"], *base["experiments"]):
        if name in RESERVED_NAMES:
            raise ConfigError(f"experiment name '{name}' is reserved (results/{name}/ holds "
                              "the comparisons); choose another name")
    for name, overrides in base["experiments"].items():
        if "experiments" in overrides or "experiment" in overrides:
            raise ConfigError(f"config key 'experiments.{name}': a variant cannot set "
                              "'experiment' or 'experiments'")
        merged = deep_merge({k: v for k, v in config.items() if k != "experiments"}, overrides)
        merged["experiment"] = name
        try:
            out[name] = validate(merged)
        except ConfigError as err:
            raise ConfigError(f"in experiment '{name}': {err}") from None
    return out


def seed_list(config: dict) -> list[int]:
    seeds = config["seeds"]
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def load(paths: list[str | os.PathLike]) -> dict:
    """Merge YAML files in order (later ones override), as ``--configfile`` does."""
    config: dict = {}
    for path in paths:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as err:
            raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: top level must be a mapping")
        config = deep_merge(config, data)
    return config
