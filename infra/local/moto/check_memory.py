"""
Checks the memory patches on moto in process: a table with a stream of old and new images takes
random updates and puts of a few items; its stream is then read whole and must carry every
write's images as made; the memory moto keeps per write (tracemalloc, after a collection) must
stay near what the stream record needs; no model object is listed; a shard iterator handed out
longer ago than its lifetime (shortened here) is dropped and answered with
ExpiredIteratorException. Prints one JSON line of figures; exits 1 at the first failure.

Run with moto's Python and this directory on PYTHONPATH (sitecustomize applies the patches):
python check_memory.py [seed]. With --unpatched and without PYTHONPATH it measures moto as it is
(python check_memory.py --unpatched, from this directory), for comparison.
"""
import gc
import json
import logging
import os
import random
import sys
import time
import tracemalloc

UNPATCHED = "--unpatched" in sys.argv
ARGS = [arg for arg in sys.argv[1:] if arg != "--unpatched"]
SEED = int(ARGS[0]) if ARGS else 1
ITEMS = 20
WRITES = 2000
# The patched stream record is about 0.7 KB; moto's own, with the item versions it lists, 15 KB.
MAX_BYTES_PER_WRITE = 3000

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import socket  # noqa: E402

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from moto.core.common_models import BaseModel  # noqa: E402
from moto.core.model_instances import model_data  # noqa: E402

if not UNPATCHED:
    import memory_patches  # noqa: E402


def fail(message):
    print(message)
    sys.exit(1)


def tracked_instances():
    return sum(len(model.instances_tracked) for models in model_data.values() for model in models.values())


def job_item(rng, key, version):
    return {
        "jobId": {"S": key},
        "version": {"N": str(version)},
        "state": {"S": rng.choice(["READY", "QUEUED", "RUNNING", "DONE"])},
        "inputs": {
            "L": [
                {"M": {"name": {"S": f"f-{rng.randrange(10**6):06d}.dat"}, "size": {"N": str(rng.randrange(99))}}}
            ]
        },
        "note": {"S": "x" * rng.randrange(400)},
    }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(endpoint):
    rng = random.Random(SEED)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    table = dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "jobId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "jobId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    stream_arn = table["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    current = {}
    written = []
    gc.collect()
    tracemalloc.start()
    for version in range(WRITES):
        key = f"job-{rng.randrange(ITEMS):03d}"
        if key in current and rng.random() < 0.7:
            state = rng.choice(["QUEUED", "RUNNING", "DONE"])
            dynamodb.update_item(
                TableName="jobs",
                Key={"jobId": {"S": key}},
                UpdateExpression="SET #s = :s, version = :v",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":s": {"S": state}, ":v": {"N": str(version)}},
            )
            item = {**current[key], "state": {"S": state}, "version": {"N": str(version)}}
        else:
            item = job_item(rng, key, version)
            dynamodb.put_item(TableName="jobs", Item=item)
        written.append((current.get(key), item))
        current[key] = item
    gc.collect()
    # What moto's code allocated and still holds (this script's and the client's own left out).
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, "*/moto/*"), tracemalloc.Filter(True, "*/memory_patches.py")]
    )
    tracemalloc.stop()
    bytes_per_write = round(sum(stat.size for stat in snapshot.statistics("filename")) / WRITES)

    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    read = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        read.extend(page["Records"])
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            break
    if len(read) != WRITES:
        fail(f"{len(read)} stream records for {WRITES} writes")
    for index, ((old, new), record) in enumerate(zip(written, read)):
        images = record["dynamodb"]
        if images.get("NewImage") != new or images.get("OldImage") != old:
            fail(f"stream record {index} differs from its write: {json.dumps(images)[:400]}")
        if record["eventName"] != ("INSERT" if old is None else "MODIFY"):
            fail(f"stream record {index} is {record['eventName']}")
    figures = {"writes": WRITES, "records_read": len(read), "bytes_per_write": bytes_per_write}
    figures["tracked_instances"] = tracked_instances()
    if UNPATCHED:
        print(json.dumps(figures))
        return
    if bytes_per_write > MAX_BYTES_PER_WRITE:
        fail(f"moto keeps {bytes_per_write} bytes a write (more than {MAX_BYTES_PER_WRITE})")
    if figures["tracked_instances"] != 0:
        fail(f"{figures['tracked_instances']} model objects listed")

    memory_patches.SHARD_ITERATOR_LIFETIME_S = 0.2
    stale = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    time.sleep(0.3)
    fresh = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    streams.get_records(ShardIterator=fresh)
    try:
        streams.get_records(ShardIterator=stale)
        fail("an expired shard iterator was still read")
    except streams.exceptions.ExpiredIteratorException:
        figures["expired_iterator_refused"] = True
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    figures["iterators_kept"] = len(backend.shard_iterators)
    if figures["iterators_kept"] > 2:
        fail(f"{figures['iterators_kept']} shard iterators kept past their lifetime")
    print(json.dumps(figures))


logging.getLogger("werkzeug").setLevel(logging.ERROR)
PORT = free_port()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=PORT, verbose=False)
server.start()
try:
    main(f"http://127.0.0.1:{PORT}")
finally:
    server.stop()
