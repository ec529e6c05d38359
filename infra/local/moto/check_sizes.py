"""
Checks the patch's attribute-value sizes against moto's own on random values of every type,
nested lists and maps included, as DynamoType values and as raw members. Prints one JSON line
of counts; exits 1 at the first difference, printing it.

Run with moto's Python and this directory on PYTHONPATH: python check_sizes.py [seed]
"""
import json
import random
import sys

import speed_patches as patch
from moto.dynamodb.models.dynamo_type import DynamoType
from random_values import text, value

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
VALUES = 3000


def raw_blob(rng):
    return rng.choice([text(rng), text(rng).encode()])


def main():
    rng = random.Random(SEED)
    kinds = {}
    for index in range(VALUES):
        raw = value(rng, raw_blob)
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
