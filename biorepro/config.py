"""Configuration: loading, validation against ``config/config.schema.yaml``, defaults.

Errors name the key path (``train.epochs``, ``seeds[0]``) and the allowed values, and
are raised before any job runs. Named ``experiments`` are overrides merged into the base
config.

Before validation, a string where the schema expects a number, integer, boolean or null
but no string is read as a YAML 1.2 scalar (``1e-4``, ``3``, ``true``, ``null``): PyYAML
(YAML 1.1) reads ``1e-4`` as a string, and Snakemake's ``--config`` hands nested values
(``train='{"epochs": 3}'``) and list items (``seeds=[0,1]``) over as strings. A float
with no fractional part becomes an int where only an integer is expected.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from biorepro.errors import Refusal

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "config.schema.yaml"


class ConfigError(Refusal, ValueError):
    """An invalid configuration value; the message names the key path."""


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The parsed ``config/config.schema.yaml`` (cached: callers must not modify it)."""
    return yaml.load(SCHEMA_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _nodes(node: dict, prefix: str = "", feeds: tuple[str, ...] = ()):
    """``(dotted key, schema node, stages it feeds)`` of every key under ``node``; array
    items are ``key[].sub``; a key feeds what its ``x-feeds`` says, else its section's,
    and nothing when marked ``x-run`` or ``x-runtime`` without an ``x-feeds`` of its own."""
    for name, sub in node.get("properties", {}).items():
        own = sub.get("x-feeds")
        mine = (tuple(own) if own is not None else
                () if sub.get("x-run") or sub.get("x-runtime") else feeds)
        yield prefix + name, sub, mine
        items = sub.get("items")
        if isinstance(items, dict) and "properties" in items:
            yield from _nodes(items, f"{prefix}{name}[].", mine)
        else:
            yield from _nodes(sub, f"{prefix}{name}.", mine)


@functools.lru_cache(maxsize=1)
def feeds() -> dict[str, tuple[str, ...]]:
    """Every config key (dotted, ``key[].sub`` for array items) and the stages whose keys
    it enters (``x-feeds`` in the schema)."""
    return {key: stages for key, _node, stages in _nodes(schema())}


def section_params(values: dict, section: str, stage: str) -> dict:
    """The keys of the config ``section`` (its ``values``) that enter ``stage``'s keys."""
    fed = feeds()
    return {k: v for k, v in values.items() if stage in fed[f"{section}.{k}"]}


def keys_marked(mark: str) -> tuple[str, ...]:
    """The dotted keys the schema marks with ``mark`` (``x-run``, ``x-runtime``)."""
    return tuple(key for key, node, _feeds in _nodes(schema()) if node.get(mark))


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
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_fill_defaults(v, node["items"]) for v in value]
    if isinstance(value, dict) and "properties" in node:
        for name, sub in node["properties"].items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = _fill_defaults(value[name], sub)
    return value


def _alternatives(node: dict) -> list[dict]:
    return [node, *node.get("oneOf", []), *node.get("anyOf", [])]


def _type_list(node: dict) -> list[str]:
    t = node.get("type", [])
    return [t] if isinstance(t, str) else t


def _types(node: dict) -> set[str]:
    """The JSON types named by ``node`` and its oneOf/anyOf alternatives."""
    return {t for alt in _alternatives(node) for t in _type_list(alt)}


NUMBER_RE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
WORDS = {"true": ("boolean", True), "false": ("boolean", False), "null": ("null", None),
         "~": ("null", None)}


def _coerce(value, node: dict):
    """A copy of ``value`` with its scalars read as the types ``node`` expects (module
    docstring)."""
    alts = _alternatives(node)
    if isinstance(value, dict):
        props = {k: v for alt in alts for k, v in alt.get("properties", {}).items()}
        return {k: _coerce(v, props.get(k, {})) for k, v in value.items()}
    if isinstance(value, list):
        items = next((alt["items"] for alt in alts if "items" in alt), {})
        return [_coerce(v, items) for v in value]
    types = _types(node)
    if isinstance(value, str) and types and "string" not in types:
        if NUMBER_RE.fullmatch(value) and types & {"integer", "number"}:
            value = float(value) if re.search(r"[.eE]", value) else int(value)
        elif value.lower() in WORDS and WORDS[value.lower()][0] in types:
            return WORDS[value.lower()][1]
    if isinstance(value, float) and value.is_integer() and "integer" in types \
            and "number" not in types:
        return int(value)
    return value


TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string",
              "array": "a list", "object": "a mapping", "boolean": "true or false",
              "null": "null"}


# Bounds in the words of config/README.md ("must be > 0").
BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def _key(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _fits(validator, instance, node: dict) -> bool:
    return not _type_list(node) or any(validator.is_type(instance, t) for t in _type_list(node))


def _problems(error: jsonschema.ValidationError, validator) -> list[tuple[str, str]]:
    """(key, what is wrong in words) of ``error``. A oneOf/anyOf error gives the errors
    of its alternatives of the value's type, or says which types would do, followed by
    the key's description."""
    v, value, inst = error.validator, error.validator_value, error.instance
    key = _key(error.absolute_path) or "<top level>"
    if v in ("oneOf", "anyOf"):
        about = error.schema.get("description")
        hint = f" (expected: {about})" if about else ""
        fitting = {i for i, alt in enumerate(value) if _fits(validator, inst, alt)}
        found = [p for e in error.context if e.relative_schema_path[0] in fitting
                 for p in _problems(e, validator)]
        if not fitting:
            found = [(key, f"{inst!r} is neither "
                      + " nor ".join(TYPE_NAMES[t] for t in sorted(_types(error.schema))))]
        return [(k, what + hint) for k, what in found or [(key, error.message)]]
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        what = f"{error.message}; allowed keys: {', '.join(allowed)}"
    elif v == "enum":
        what = f"{inst!r} is not allowed; allowed values: {', '.join(map(str, value))}"
    elif v == "type":
        what = f"{inst!r} is not " + " or ".join(TYPE_NAMES[t] for t in _type_list(error.schema))
    elif v == "uniqueItems":
        repeated = [x for x, n in Counter(map(repr, inst)).items() if n > 1]
        what = f"duplicate value{'s' * (len(repeated) > 1)} {', '.join(repeated)}"
    elif v == "minItems" and value == 1:
        what = "the list is empty"
    elif v == "minimum" and value == 0:
        what = f"{inst!r} is negative"
    elif v in BOUNDS:
        what = f"must be {BOUNDS[v]} {value!r}, got {inst!r}"
    else:
        what = error.message
    return [(key, what)]


def validate(config: dict) -> dict:
    """Return ``config`` with defaults filled in, or raise ``ConfigError``.

    A configuration found valid is remembered (its digest with the schema's, in
    ``VALID_CACHE``), so that planning again does not pay for the schema validator.
    """
    config = _fill_defaults(_coerce(config, schema()), schema())
    try:
        digest = hashlib.sha256((json.dumps(config, sort_keys=True, default=repr)
                                 + SCHEMA_PATH.read_text()).encode()).hexdigest()
    except TypeError:  # keys of mixed types: the validator names the offending key
        digest = None
    valid = _valid_digests()
    if digest not in valid:
        import jsonschema  # here: commands that only read a path need not pay its import

        validator = jsonschema.Draft202012Validator(schema())
        errors = sorted(validator.iter_errors(config),
                        key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(
                f"config key '{key}': {what}" for e in errors
                for key, what in _problems(e, validator)))
        if digest is not None:
            _remember_valid(valid, digest)
    _check_consistency(config)
    return config


VALID_CACHE = Path(".biorepro") / "cache" / "valid-configs.json"  # in the working directory
VALID_CACHE_SIZE = 64  # most recent digests kept


def _valid_digests() -> list[str]:
    try:
        known = json.loads(VALID_CACHE.read_text())
    except (OSError, ValueError):
        return []
    return [d for d in known if isinstance(d, str)] if isinstance(known, list) else []


def _remember_valid(valid: list[str], digest: str) -> None:
    """Add ``digest`` to the cache."""
    from biorepro.store.hashing import write_cache

    write_cache(VALID_CACHE, (valid + [digest])[-VALID_CACHE_SIZE:])


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
    _check_dataset_keys(config["dataset"])
    ev = config["evaluate"]
    if ev["criterion"] in ("far", "bpcer") and ev["target"] is None:
        raise ConfigError(f"config key 'evaluate.target': required when evaluate.criterion "
                          f"is {ev['criterion']} (a rate in [0, 1], e.g. 0.01)")


# The dataset keys a kind ignores, refused when set away from their defaults. ``root`` and
# ``synthetic`` are left out: the shipped configs set them for the demo, and a user's file
# layered on those cannot unset them.
IGNORED_BY_KIND = {
    "multi": ("roots", "protocol", "folds", "manifest", "allow_outside_root", "extensions",
              "bonafide_class", "subject_regex", "split_seed", "split_fractions"),
    "benchmark": ("sources", "manifest", "allow_outside_root", "bonafide_class",
                  "subject_regex", "split_seed", "split_fractions"),
    "other": ("sources", "roots"),
}


def _check_dataset_keys(ds: dict) -> None:
    """Refuse a ``dataset`` key that its kind ignores (``IGNORED_BY_KIND``) set away from its
    default."""
    from biorepro.data import benchmarks

    kind = ds["kind"]
    group = (kind if kind == "multi" else
             "benchmark" if kind in benchmarks.names() else "other")
    defaults = _fill_defaults({}, schema()["properties"]["dataset"])
    for key in IGNORED_BY_KIND[group]:
        if ds[key] != defaults[key]:
            raise ConfigError(
                f"config key 'dataset.{key}': dataset.kind {kind} does not read it ("
                + ("each source's own dataset section does" if kind == "multi" else
                   "the benchmark's card says how each domain is split" if group == "benchmark"
                   else "dataset.sources is for kind multi, dataset.roots for a benchmark")
                + "); remove it")


def nested_config(dataset: dict, where: str) -> dict:
    """A ``dataset`` section found at config key ``where`` (a cross target's, a source's)
    as a config of its own, validated (errors name ``where``) and filled with defaults."""
    try:
        return validate({"dataset": dataset})
    except ConfigError as err:
        raise ConfigError(str(err).replace("config key 'dataset",
                                           f"config key '{where}")) from None


def dataset_sections(conf: dict) -> list[tuple[str, dict]]:
    """``(config key, validated section)`` of every dataset section of an experiment's
    ``conf``: ``dataset``, the sources of a ``kind: multi`` section, and each
    ``evaluate.cross`` target's (with its sources)."""
    out = []

    def visit(ds: dict, where: str) -> None:
        out.append((where, ds))
        if ds["kind"] == "multi":
            for i, source in enumerate(ds["sources"]):
                at = f"{where}.sources[{i}].dataset"
                visit(nested_config(source["dataset"], at)["dataset"], at)

    visit(conf["dataset"], "dataset")
    for i, target in enumerate(conf["evaluate"]["cross"]):
        at = f"evaluate.cross[{i}].dataset"
        visit(nested_config(target["dataset"], at)["dataset"], at)
    return out


def data_locations(conf: dict) -> list[tuple[str, str, str]]:
    """``(config key, dataset kind, path)`` of every folder or file an experiment's videos
    or images are read from: each section's ``root`` (a synthetic dataset's: where it is
    generated), a benchmark's ``roots``, a ``manifest`` file."""
    from biorepro.data import benchmarks

    out = []
    for where, ds in dataset_sections(conf):
        if ds["kind"] == "manifest":
            out.append((f"{where}.manifest", ds["kind"], ds["manifest"]))
        elif ds["kind"] in benchmarks.names():
            out += [(f"{where}.roots.{d}", ds["kind"], p) for d, p in ds["roots"].items()]
        elif ds["kind"] != "multi":
            out.append((f"{where}.root", ds["kind"], ds["root"]))
    return out


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


def paper_results(experiments: dict[str, dict]) -> dict[str, list[tuple[int, dict]]]:
    """The rows of ``paper.results`` (of the base config, the first of ``experiments``, as
    :func:`experiments` returns them), as ``(index, row)`` by the experiment each concerns.

    Each row is normalised: ``experiment`` filled in (default: the base experiment),
    ``fold`` a string, ``value`` and ``std`` in the metric's own unit (``unit: percent``
    divided by 100), ``unit`` dropped. Raises ConfigError naming
    ``paper.results[i].<field>`` for an experiment, level or cross target the config does
    not define, or a rate outside [0, 1]. Folds are checked by :func:`paper_params`, once
    the dataset's are known; metric names only once runs are evaluated.
    """
    base_name, base = next(iter(experiments.items()))
    if not base["paper"]["results"]:
        return {}
    from biorepro.evaluate.registry import is_rate  # here: a config without a paper needs none

    out: dict[str, list[tuple[int, dict]]] = {}
    for i, given in enumerate(base["paper"]["results"]):
        key = f"config key 'paper.results[{i}]"
        row = {k: v for k, v in given.items() if k != "unit"}
        name = row["experiment"] = row["experiment"] or base_name
        if name not in experiments:
            raise ConfigError(f"{key}.experiment': {name!r} is no experiment of this config "
                              f"(experiments: {', '.join(experiments)}); name one or use null")
        ev = experiments[name]["evaluate"]
        if row["level"] not in ev["levels"]:
            raise ConfigError(f"{key}.level': experiment {name!r} evaluates the "
                              f"{' and '.join(ev['levels'])} level only; add "
                              f"{row['level']} to evaluate.levels or change the level")
        targets = [t["name"] for t in ev["cross"]]
        if row["target"] is not None and row["target"] not in targets:
            raise ConfigError(f"{key}.target': {row['target']!r} is no cross target of "
                              f"experiment {name!r} (evaluate.cross names: "
                              f"{', '.join(targets) or 'none'}); name one or use null")
        row["fold"] = None if row["fold"] is None else str(row["fold"])
        for field in ("value", "std"):
            if row[field] is not None and given["unit"] == "percent":
                row[field] /= 100
            if row[field] is not None and is_rate(row["metric"]) and not 0 <= row[field] <= 1:
                raise ConfigError(f"{key}.{field}': {given[field]!r} is outside [0, 1] but "
                                  f"{row['metric']} is a rate; write it as a fraction or add "
                                  "unit: percent")
        out.setdefault(name, []).append((i, row))
    return out


def paper_params(paper: dict, rows: list[tuple[int, dict]], folds: list[str]) -> dict | None:
    """What an experiment's summary key takes of the ``paper`` section: its title, source
    and the rows of :func:`paper_results` concerning the experiment; None without rows.
    Raises ConfigError naming ``paper.results[i].fold`` for a fold the experiment does
    not have (``folds``: its folds; a single one means a protocol without folds)."""
    if not rows:
        return None
    from biorepro.aggregate.stats import ACROSS_FOLDS  # here: as is_rate in paper_results

    for i, row in rows:
        fold = row["fold"]
        if fold == ACROSS_FOLDS and len(folds) < 2:
            raise ConfigError(f"config key 'paper.results[{i}].fold': experiment "
                              f"{row['experiment']!r} has no folds; use null")
        if fold not in (None, ACROSS_FOLDS, *folds):
            raise ConfigError(f"config key 'paper.results[{i}].fold': {fold!r} is no fold of "
                              f"experiment {row['experiment']!r} (folds: {', '.join(folds)}); "
                              f"name one, {ACROSS_FOLDS!r} or null")
    return {"title": paper["title"], "source": paper["source"], "results": [r for _, r in rows]}


def merge_layer(config: dict, layer: dict) -> dict:
    """``layer`` (a config file, or ``--config`` overrides) over ``config``. Mappings merge
    key by key, with one exception: a layer that sets ``train.model`` to another model
    starts that model from its own parameters, so ``train.model_params`` inherited from
    earlier layers (written for the previous model) are dropped; the layer's own
    ``model_params``, if any, apply."""
    new_model = (layer.get("train") or {}).get("model") if isinstance(
        layer.get("train"), dict) else None
    train = config.get("train")
    if new_model is not None and isinstance(train, dict) and train.get("model") != new_model:
        config = {**config, "train": {k: v for k, v in train.items() if k != "model_params"}}
    return deep_merge(config, layer)


def load(paths: list[str | os.PathLike], overrides: dict | None = None) -> dict:
    """Merge YAML files in order (later ones override), as ``--configfile`` does, then
    ``overrides`` (``--config``), each by :func:`merge_layer`."""
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
        config = merge_layer(config, data)
    return merge_layer(config, overrides or {})
