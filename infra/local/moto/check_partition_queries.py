"""
Checks the patch's partition queries against moto's own: random tables with a table key, global
and local indexes, changed at random through every kind of write moto has (PutItem, UpdateItem,
DeleteItem, BatchWriteItem, TransactWriteItems committed and cancelled, PartiQL), queried at
random after each change (every key condition, both directions, limits, filters, every page),
each query answered once by the patch and once by moto's original query over the whole table.
Prints one JSON line of counts; exits 1 at the first difference, printing it.

Run with moto's Python and this directory on PYTHONPATH: python check_partition_queries.py [seed]
"""
import json
import os
import random
import sys

import boto3
import speed_patches as patch
from moto import mock_aws
from moto.dynamodb.models.table import Table

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
STEPS = 200
QUERIES_PER_STEP = 5
LETTERS = "abc"


def text(rng, length=2):
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(1, length)))


def number(rng):
    return str(rng.choice([-2, 0, 1, 1.5, 3, 10, 100]))


def key_schema(hash_name, range_name):
    return [{"AttributeName": hash_name, "KeyType": "HASH"}] + (
        [{"AttributeName": range_name, "KeyType": "RANGE"}] if range_name else []
    )


def index(name, hash_name, range_name, projection=None):
    return {
        "IndexName": name,
        "KeySchema": key_schema(hash_name, range_name),
        "Projection": projection or {"ProjectionType": "ALL"},
    }


TABLES = [
    {
        "TableName": "ranged",
        "KeySchema": key_schema("pk", "sk"),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in [
                ("pk", "S"), ("sk", "S"), ("gh", "S"), ("gr", "S"), ("gn", "N"), ("grn", "N"),
                ("lr", "S"),
            ]
        ],
        "GlobalSecondaryIndexes": [
            index("byText", "gh", "gr"),
            index("byTextOnly", "gh", None, {"ProjectionType": "KEYS_ONLY"}),
            index("byNumber", "gn", "grn", {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["v"]}),
        ],
        "LocalSecondaryIndexes": [index("local", "pk", "lr")],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    },
    {
        "TableName": "plain",
        "KeySchema": key_schema("pk", None),
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "gh", "AttributeType": "S"},
            {"AttributeName": "gr", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [index("byText", "gh", "gr")],
        "BillingMode": "PAY_PER_REQUEST",
    },
]

def key_of(rng, table):
    key = {"pk": {"S": text(rng)}}
    if table["TableName"] == "ranged":
        key["sk"] = {"S": text(rng)}
    return key


def item_of(rng, table):
    item = key_of(rng, table)
    for name, make, kind in [
        ("gh", text, "S"), ("gr", text, "S"), ("gn", number, "N"), ("grn", number, "N"),
        ("lr", text, "S"), ("v", text, "S"),
    ]:
        if table["TableName"] == "plain" and name not in ("gh", "gr", "v"):
            continue
        if rng.random() < 0.8:
            item[name] = {kind: make(rng)}
    return item


def update_of(rng, table):
    names = ["gh", "gr", "v"] + (["gn", "grn", "lr"] if table["TableName"] == "ranged" else [])
    chosen = rng.sample(names, rng.randint(1, 2))
    sets, removes, values = [], [], {}
    for position, name in enumerate(chosen):
        if rng.random() < 0.25:
            removes.append(name)
        else:
            kind, make = ("N", number) if name in ("gn", "grn") else ("S", text)
            sets.append(f"{name} = :v{position}")
            values[f":v{position}"] = {kind: make(rng)}
    expression = " ".join(
        part for part in [
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removes) if removes else "",
        ] if part
    )
    update = {"Key": key_of(rng, table), "UpdateExpression": expression}
    if values:
        update["ExpressionAttributeValues"] = values
    return update


def write(rng, client, table):
    name = table["TableName"]
    kind = rng.choice(["put", "put", "update", "update", "delete", "batch", "transact", "partiql"])
    if kind == "put":
        client.put_item(TableName=name, Item=item_of(rng, table))
    elif kind == "update":
        client.update_item(TableName=name, **update_of(rng, table))
    elif kind == "delete":
        client.delete_item(TableName=name, Key=key_of(rng, table))
    elif kind == "batch":
        requests, keys = [], set()
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.7:
                request = {"PutRequest": {"Item": item_of(rng, table)}}
                key = json.dumps(key_of_item(request["PutRequest"]["Item"]), sort_keys=True)
            else:
                request = {"DeleteRequest": {"Key": key_of(rng, table)}}
                key = json.dumps(request["DeleteRequest"]["Key"], sort_keys=True)
            if key not in keys:
                keys.add(key)
                requests.append(request)
        client.batch_write_item(RequestItems={name: requests})
    elif kind == "transact":
        operations, keys = [], set()
        for _ in range(rng.randint(1, 3)):
            choice = rng.random()
            if choice < 0.4:
                operation = {"Put": {"TableName": name, "Item": item_of(rng, table)}}
                key = key_of_item(operation["Put"]["Item"])
            elif choice < 0.8:
                operation = {"Update": {"TableName": name, **update_of(rng, table)}}
                key = operation["Update"]["Key"]
            else:
                operation = {"Delete": {"TableName": name, "Key": key_of(rng, table)}}
                key = operation["Delete"]["Key"]
            if json.dumps(key, sort_keys=True) in keys:
                continue
            keys.add(json.dumps(key, sort_keys=True))
            operations.append(operation)
        if rng.random() < 0.3:
            # A condition that fails, so the transaction is cancelled after its other writes.
            operations.append({
                "ConditionCheck": {
                    "TableName": name,
                    "Key": {"pk": {"S": "zz"}, **({"sk": {"S": "zz"}} if name == "ranged" else {})},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            })
        try:
            client.transact_write_items(TransactItems=operations)
        except client.exceptions.TransactionCanceledException:
            pass
    else:
        key = key_of(rng, table)
        where = " AND ".join(f"{attribute} = '{value['S']}'" for attribute, value in key.items())
        statement = rng.choice([
            f"UPDATE {name} SET gh = '{text(rng)}' WHERE {where}",
            f"DELETE FROM {name} WHERE {where}",
        ])
        try:
            client.execute_statement(Statement=statement)
        except client.exceptions.ConditionalCheckFailedException:
            pass
    return kind


def key_of_item(item):
    return {name: value for name, value in item.items() if name in ("pk", "sk")}


def query_of(rng, table):
    name = table["TableName"]
    indexes = [None, "byText"] + (["byTextOnly", "byNumber", "local"] if name == "ranged" else [])
    index = rng.choice(indexes)
    hash_name, range_name, kind = {
        None: ("pk", "sk" if name == "ranged" else None, "S"),
        "byText": ("gh", "gr", "S"),
        "byTextOnly": ("gh", None, "S"),
        "byNumber": ("gn", "grn", "N"),
        "local": ("pk", "lr", "S"),
    }[index]
    make = number if kind == "N" else text
    values = {":h": {kind: make(rng)}}
    condition = "#h = :h"
    names = {"#h": hash_name}
    if range_name is not None and rng.random() < 0.7:
        names["#r"] = range_name
        comparison = rng.choice(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"])
        if comparison == "begins_with" and kind == "N":
            comparison = ">="
        values[":r"] = {kind: make(rng)}
        if comparison == "BETWEEN":
            values[":s"] = {kind: make(rng)}
            low, high = sorted([values[":r"], values[":s"]], key=lambda v: sort_value(v))
            values[":r"], values[":s"] = low, high
            condition += " AND #r BETWEEN :r AND :s"
        elif comparison == "begins_with":
            condition += " AND begins_with(#r, :r)"
        else:
            condition += f" AND #r {comparison} :r"
    query = {
        "TableName": name,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": rng.random() < 0.6,
    }
    if index is not None:
        query["IndexName"] = index
    if rng.random() < 0.6:
        query["Limit"] = rng.randint(1, 4)
    if rng.random() < 0.2 and index != "byTextOnly":
        query["FilterExpression"] = "attribute_exists(v)"
    return query


def sort_value(value):
    ((kind, inner),) = value.items()
    return float(inner) if kind == "N" else inner


def pages(client, query):
    answers, start = [], None
    while True:
        request = dict(query, **({"ExclusiveStartKey": start} if start else {}))
        response = client.query(**request)
        answer = {key: response.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}
        answers.append(answer)
        start = response.get("LastEvaluatedKey")
        if not start or len(answers) > 200:
            return answers


def by_moto_alone(client, query):
    Table.query, Table.all_items = patch._query, patch._all_items
    try:
        return pages(client, query)
    finally:
        Table.query, Table.all_items = patch._query_within_partition, patch._all_items_or_narrowed


def counting_partition_answers(counts):
    candidates = patch._candidates

    def counted(*args):
        answer = candidates(*args)
        counts["pages_from_partitions" if answer is not None else "pages_from_whole_table"] += 1
        return answer

    patch._candidates = counted


def main():
    # In process: requests must reach moto's mock, not a server some variable points at.
    for variable in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[variable]
    rng = random.Random(SEED)
    counts = {
        "writes": {}, "queries": 0, "pages": 0, "items_seen": 0, "pages_from_partitions": 0,
        "pages_from_whole_table": 0,
    }
    counting_partition_answers(counts)
    with mock_aws():
        client = boto3.client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        for table in TABLES:
            client.create_table(**table)
        for step in range(STEPS):
            table = rng.choice(TABLES)
            kind = write(rng, client, table)
            counts["writes"][kind] = counts["writes"].get(kind, 0) + 1
            for _ in range(QUERIES_PER_STEP):
                query = query_of(rng, rng.choice(TABLES))
                try:
                    patched = pages(client, query)
                except client.exceptions.ClientError as error:
                    patched = f"error: {error}"
                try:
                    original = by_moto_alone(client, query)
                except client.exceptions.ClientError as error:
                    original = f"error: {error}"
                if patched != original:
                    print(json.dumps({
                        "seed": SEED, "step": step, "query": query, "patched": patched,
                        "original": original,
                    }, default=str))
                    sys.exit(1)
                counts["queries"] += 1
                if isinstance(patched, list):
                    counts["pages"] += len(patched)
                    counts["items_seen"] += sum(len(page["Items"]) for page in patched)
        counts["items_stored"] = sum(
            client.describe_table(TableName=table["TableName"])["Table"]["ItemCount"] for table in TABLES
        )
    print(json.dumps({"seed": SEED, **counts}))
    if not counts["pages_from_partitions"] or counts["pages_from_whole_table"]:
        print("expected every page to be answered from partitions", file=sys.stderr)
        sys.exit(1)


main()
