import pytest

from biorepro.store.keys import KEY_LENGTH, canonical_json, derive_key, flatten, ingredients


def test_key_is_stable_and_order_independent():
    a = ingredients("frames", {"digest": "x"}, {"numpy": "2"}, {"size": 64, "crop": "center"},
                    {"video": "d1"})
    b = ingredients("frames", {"digest": "x"}, {"numpy": "2"}, {"crop": "center", "size": 64},
                    {"video": "d1"})
    assert derive_key(a) == derive_key(b)
    assert len(derive_key(a)) == KEY_LENGTH


@pytest.mark.parametrize("field,value", [
    ("stage", "split"), ("code", {"digest": "y"}), ("versions", {"numpy": "3"}),
    ("params", {"size": 32, "crop": "center"}), ("inputs", {"video": "d2"}),
])
def test_every_ingredient_changes_the_key(field, value):
    base = ingredients("frames", {"digest": "x"}, {"numpy": "2"}, {"size": 64, "crop": "center"},
                       {"video": "d1"})
    changed = dict(base, **{field: value})
    assert derive_key(base) != derive_key(changed)


def test_canonical_json_and_flatten():
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert flatten({"a": {"b": 1, "c": {"d": [1]}}, "e": 2}) == {"a.b": 1, "a.c.d": [1], "e": 2}
