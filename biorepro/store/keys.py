"""Keys of derived store entries: a Merkle hash over everything that shapes them.

A key is the SHA-256 of the canonical JSON of its *ingredients*: the stage name, the
code fingerprint, the versions of the packages the code imports, the parameters and
the keys (or content digests) of the inputs. Changing any ingredient changes the key,
and through the input keys, the keys of every descendant.
"""

from __future__ import annotations

import hashlib
import json

KEY_LENGTH = 24  # hex characters (96 bits)
KEY_PATTERN = f"[0-9a-f]{{{KEY_LENGTH}}}"


def canonical_json(value) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True)


def derive_key(ingredients: dict) -> str:
    """The key of an entry with these ``ingredients``."""
    return hashlib.sha256(canonical_json(ingredients).encode()).hexdigest()[:KEY_LENGTH]


def ingredients(stage: str, code: dict, versions: dict, params: dict, inputs: dict) -> dict:
    """The ingredients of a key, in the form recorded in ``provenance.json``."""
    return {
        "stage": stage,
        "code": code,
        "versions": versions,
        "params": params,
        "inputs": inputs,
    }


def map_tree(tree, leaf):
    """``tree`` (nested dicts, as a key's ``inputs``) with ``leaf`` applied to each value
    that is not a dict."""
    return ({k: map_tree(v, leaf) for k, v in tree.items()} if isinstance(tree, dict)
            else leaf(tree))


def tree_leaves(tree):
    """The values of ``tree`` (nested dicts) that are not dicts, in order."""
    if isinstance(tree, dict):
        for v in tree.values():
            yield from tree_leaves(v)
    else:
        yield tree


def flatten(value, prefix: str = "") -> dict[str, object]:
    """Flatten nested dicts into ``{"a.b.c": leaf}`` (lists stay leaves)."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}
