"""
Checks the patch's cached condition-expression parse against moto's own: random condition
expressions (comparisons, BETWEEN, IN, the functions, AND/OR/NOT, parentheses, nested paths,
malformed ones included), each parsed both ways and evaluated on the same random items, several
times over, so that a cached tree reused across requests would show. Compares the tree, the
names and values it found, and each evaluation's answer or error. Prints one JSON line of
counts; exits 1 at the first difference, printing it.

Run with moto's Python and this directory on PYTHONPATH: python check_conditions.py [seed]
"""
import json
import random
import sys

import speed_patches as patch
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from random_values import value

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
EXPRESSIONS = 800
ITEMS = 6
ATTRIBUTES = ("state", "attempt", "inputs", "phaseTimes", "rank", "tags")
COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
TYPES = ("S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M")


def blob(rng):
    return rng.choice([b"a", b"b\x00", b"zz"])


def scalar(rng):
    return rng.choice([{"S": rng.choice(["READY", "DONE", "a", ""])}, {"N": str(rng.randint(-2, 3))}])


class Expression:
    """A random condition expression with its attribute names and values."""

    def __init__(self, rng):
        self.rng = rng
        self.names = {}
        self.values = {}

    def name(self):
        attribute = self.rng.choice(ATTRIBUTES)
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        path = placeholder
        if self.rng.random() < 0.2:
            nested = f"#n{len(self.names)}"
            self.names[nested] = self.rng.choice(["EXECUTING", "name", "size"])
            path += f".{nested}"
        if self.rng.random() < 0.1:
            path += f"[{self.rng.randint(0, 2)}]"
        return path

    def value(self, given=None):
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = given if given is not None else scalar(self.rng)
        return placeholder

    def condition(self, depth=0):
        rng = self.rng
        choice = rng.randint(0, 9 if depth < 3 else 5)
        if choice == 0:
            return f"{self.name()} {rng.choice(COMPARATORS)} {self.value()}"
        if choice == 1:
            return f"{self.name()} BETWEEN {self.value()} AND {self.value()}"
        if choice == 2:
            return f"{self.name()} IN ({', '.join(self.value() for _ in range(rng.randint(1, 3)))})"
        if choice == 3:
            return f"{rng.choice(['attribute_exists', 'attribute_not_exists'])}({self.name()})"
        if choice == 4:
            kind = self.value({"S": rng.choice(TYPES)})
            return f"attribute_type({self.name()}, {kind})"
        if choice == 5:
            function = rng.choice(["begins_with", "contains"])
            return f"{function}({self.name()}, {self.value()})"
        if choice == 6:
            return f"size({self.name()}) {rng.choice(COMPARATORS)} {self.value({'N': str(rng.randint(0, 3))})}"
        if choice == 7:
            return f"NOT {self.condition(depth + 1)}"
        if choice == 8:
            return f"({self.condition(depth + 1)})"
        return f"{self.condition(depth + 1)} {rng.choice(['AND', 'OR'])} {self.condition(depth + 1)}"

    def malformed(self, text):
        """Now and then an expression moto refuses: a name or value it was not given, or bad syntax."""
        rng = self.rng
        damage = rng.randint(0, 9)
        if damage == 0:
            return text + " AND #missing = :v0"
        if damage == 1:
            return text + " AND #n0 = :missing"
        if damage == 2:
            return text + " AND"
        return text


def item(rng):
    attributes = {"pk": {"S": "JOB#1"}}
    for attribute in ATTRIBUTES:
        if rng.random() < 0.7:
            attributes[attribute] = scalar(rng) if rng.random() < 0.5 else value(rng, blob)
    if rng.random() < 0.5:
        attributes["phaseTimes"] = {"M": {"EXECUTING": scalar(rng), "name": value(rng, blob)}}
    return Item(DynamoType({"S": "JOB#1"}), None, attributes)


def shape(node):
    """A parsed tree as plain data: each node's class and fields."""
    if isinstance(node, (list, tuple)):
        return [shape(member) for member in node]
    if isinstance(node, dict):
        return {key: shape(member) for key, member in node.items()}
    if hasattr(node, "__dict__"):
        return [type(node).__name__, shape(vars(node))]
    return node


def outcome(parse, expression, names, values, items):
    """What a parse yields, and each item's evaluation: the answer, or the error's class."""
    parser = ConditionExpressionParser(expression, names, values)
    try:
        tree = parse(parser)
    except Exception as error:  # moto's own refusals, compared by class
        return {"parse": type(error).__name__}
    answers = []
    for each in items:
        try:
            answers.append(tree.expr(each))
        except Exception as error:
            answers.append(type(error).__name__)
    return {
        "tree": shape(tree),
        "names_found": sorted(parser.expr_attr_names_found),
        "values_found": sorted(parser.expr_attr_values_found),
        "answers": answers,
    }


def main():
    rng = random.Random(SEED)
    counts = {"expressions": 0, "evaluations": 0, "refused": 0, "repeated": 0}
    for _ in range(EXPRESSIONS):
        expression = Expression(rng)
        text = expression.malformed(expression.condition())
        items = [item(rng) for _ in range(ITEMS)]
        expected = outcome(patch._parse_condition, text, expression.names, expression.values, items)
        # Twice through the cache: the second reuses what the first parsed.
        for repeat in range(2):
            got = outcome(patch._parse_condition_once, text, expression.names, expression.values, items)
            if got != expected:
                print(json.dumps({"seed": SEED, "expression": text, "names": expression.names,
                                  "values": expression.values, "moto": expected, "patched": got}, default=str))
                sys.exit(1)
            counts["repeated"] += repeat
        counts["expressions"] += 1
        counts["evaluations"] += len(expected.get("answers", []))
        counts["refused"] += "parse" in expected
    print(json.dumps({"seed": SEED, **counts}))


main()
