"""
Random DynamoDB attribute values of every type, nested lists and maps included, for the
patch's checks against moto's own code paths.
"""


def text(rng):
    return "".join(rng.choice("aé€😀z0 ") for _ in range(rng.randint(0, 12)))


def number(rng):
    return rng.choice(["0", "-1", "3.25", "1e10", "123456789012345678901234567890"])


def value(rng, blob, malformed=(), depth=0):
    """
    One attribute value; `blob(rng)` makes a binary member's value, and at any depth one value
    in 33 is one of `malformed` (functions of rng), where some are given.
    """
    if malformed and rng.random() < 0.03:
        return rng.choice(malformed)(rng)
    kinds = ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"] + (["L", "M"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": text(rng)}
    if kind == "N":
        return {"N": number(rng)}
    if kind == "B":
        return {"B": blob(rng)}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": sorted({text(rng) for _ in range(rng.randint(1, 4))})}
    if kind == "BS":
        return {"BS": sorted({blob(rng) for _ in range(rng.randint(1, 4))}, key=repr)}
    if kind == "NS":
        return {"NS": sorted({number(rng) for _ in range(rng.randint(1, 4))})}
    if kind == "L":
        return {"L": [value(rng, blob, malformed, depth + 1) for _ in range(rng.randint(0, 4))]}
    return {
        "M": {text(rng): value(rng, blob, malformed, depth + 1) for _ in range(rng.randint(0, 4))}
    }
