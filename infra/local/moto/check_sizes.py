"""
Checks the patch's attribute-value sizes against moto's own on random values of every type,
nested lists and maps included, as DynamoType values and as raw members. Prints one JSON line
of counts; exits 1 at the first difference, printing it.

Run with moto's Python and this directory on PYTHONPATH: python check_sizes.py [seed]
"""
import json
import random
import sys

import sitecustomize as patch
from moto.dynamodb.models.dynamo_type import DynamoType

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
VALUES = 3000


def text(rng):
    return "".join(rng.choice("aé€😀z0") for _ in range(rng.randint(0, 12)))


def number(rng):
    return rng.choice(["0", "-1", "3.25", "1e10", "123456789012345678901234567890"])


def value(rng, depth=0):
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["L", "M"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": text(rng)}
    if kind == "N":
        return {"N": number(rng)}
    if kind == "B":
        return {"B": rng.choice([text(rng), text(rng).encode()])}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind in ("SS", "BS"):
        return {kind: sorted({text(rng) for _ in range(rng.randint(1, 4))})}
    if kind == "NS":
        return {"NS": sorted({number(rng) for _ in range(rng.randint(1, 4))})}
    if kind == "L":
        return {"L": [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]}
    return {"M": {text(rng): value(rng, depth + 1) for _ in range(rng.randint(0, 4))}}


def main():
    rng = random.Random(SEED)
    kinds = {}
    for index in range(VALUES):
        raw = value(rng)
        typed = DynamoType(raw)
        if typed.type == "M" and index % 2:
            # Members as raw attribute values, as a map may also hold them.
            typed.value = {name: member.to_json() for name, member in typed.value.items()}
        DynamoType.size = patch._size
        try:
            expected = typed.size()
        finally:
            DynamoType.size = patch._dynamo_type_size
        got = typed.size()
        if got != expected:
            print(json.dumps({"seed": SEED, "value": raw, "moto": expected, "patched": got}, default=str))
            sys.exit(1)
        kind = next(iter(raw))
        kinds[kind] = kinds.get(kind, 0) + 1
    print(json.dumps({"seed": SEED, "values": VALUES, "kinds": kinds}))


main()
