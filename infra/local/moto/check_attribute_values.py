"""
Checks the patch's direct parse of DynamoDB attribute values in requests against moto's model
walk: random TransactWriteItems, PutItem and Query bodies (values of every type, nested lists
and maps, and malformed ones the direct parse leaves to moto) parsed both ways must be equal,
to the type of every value, or fail with the same kind of error. Prints one JSON line of counts;
exits 1 at the first difference, printing it.

Run with moto's Python and this directory on PYTHONPATH: python check_attribute_values.py [seed]
"""
import base64
import json
import random
import sys

import speed_patches as patch
from moto.core.parse import BaseJSONParser, JSONParser
from moto.core.utils import get_service_model
from random_values import number, text, value

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
REQUESTS = 1500


def blob(rng):
    return base64.b64encode(text(rng).encode()).decode()


MALFORMED = [
    lambda rng: {"S": None},
    lambda rng: {"S": text(rng), "N": number(rng)},
    lambda rng: {},
    lambda rng: {"X": text(rng)},
    lambda rng: {"N": 5},
    lambda rng: {"SS": [text(rng), 3]},
    lambda rng: {"M": [text(rng)]},
    lambda rng: {"L": {"a": {"S": "b"}}},
    lambda rng: {"BOOL": "true"},
    lambda rng: None,
    lambda rng: "plain",
]


def attributes(rng):
    return {text(rng) or "k": value(rng, blob, MALFORMED) for _ in range(rng.randint(1, 6))}


def request(rng):
    operation = rng.choice(["TransactWriteItems", "PutItem", "Query"])
    if operation == "PutItem":
        body = {"TableName": "t", "Item": attributes(rng), "ConditionExpression": "attribute_not_exists(k)"}
    elif operation == "Query":
        body = {
            "TableName": "t",
            "KeyConditionExpression": "k = :k",
            "ExpressionAttributeValues": attributes(rng),
            "ExclusiveStartKey": attributes(rng),
        }
    else:
        body = {
            "TransactItems": [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": attributes(rng),
                        "UpdateExpression": "SET a = :a",
                        "ExpressionAttributeValues": attributes(rng),
                    }
                }
                if rng.random() < 0.5
                else {"Put": {"TableName": "t", "Item": attributes(rng)}}
                for _ in range(rng.randint(1, 8))
            ]
        }
    return operation, json.dumps(body).encode()


def parse(operation, body):
    """The parsed request, or the kind of error the parse raised."""
    operation_model = get_service_model("dynamodb").operation_model(operation)
    try:
        return typed(JSONParser(operation_model, map_type=dict).parse({"body": body, "headers": {}}))
    except Exception as error:  # noqa: BLE001 - both parses must fail alike
        return {"raised": type(error).__name__}


def typed(parsed):
    """The parsed request with the type of every part spelled out, so b'x' and 'x' differ."""
    if isinstance(parsed, dict):
        return {key: typed(member) for key, member in parsed.items()}
    if isinstance(parsed, list):
        return [typed(member) for member in parsed]
    return [type(parsed).__name__, parsed]


def main():
    if BaseJSONParser._parse_structure is not patch._parse_structure_directly:
        print(json.dumps({"error": "the direct parse is not installed"}))
        sys.exit(1)
    rng = random.Random(SEED)
    operations = {}
    refused = 0
    for _ in range(REQUESTS):
        operation, body = request(rng)
        BaseJSONParser._parse_structure = patch._parse_structure
        try:
            expected = parse(operation, body)
        finally:
            BaseJSONParser._parse_structure = patch._parse_structure_directly
        got = parse(operation, body)
        if got != expected:
            print(json.dumps({"seed": SEED, "body": body.decode(), "moto": expected, "patched": got}, default=str))
            sys.exit(1)
        operations[operation] = operations.get(operation, 0) + 1
        refused += "raised" in got
    print(json.dumps({"seed": SEED, "requests": REQUESTS, "operations": operations, "refused": refused}))


main()
