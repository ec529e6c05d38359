"""
Measures what each speed patch saves: moto's CPU time per job of a workload shaped like the
WMS's calls for one job (four conditional transactions, each moving the job as the WMS stores
it and its counter shard, the last also registering its output and log files in their datasets;
a consistent read of its task's shards, a GSI query page, a stream read, an SQS message sent,
received and deleted, one taken from and one added to a queue with a backlog, an event routed
by a rule to a queue), on tables
already holding `--items` items, with every speed patch, with none, and with all but one, in
`--rounds` interleaved rounds. moto runs as the emulator runs it (moto_server, this directory
on PYTHONPATH, SPD_WMS_MOTO_SPEED_PATCHES chosen per run); its CPU is read from /proc.

Run with moto's Python: python measure_speed_patches.py [--jobs 200] [--items 2000] [--rounds 2] [--patches a,b]
Prints one line per configuration and a JSON summary (ms of moto CPU per job).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import boto3

PATCH_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
MOTO_SERVER = os.path.join(os.path.dirname(sys.executable), "moto_server")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def speed_patch_names():
    sys.path.insert(0, PATCH_DIRECTORY)
    from speed_patches import SPEED_PATCHES

    return list(SPEED_PATCHES)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def start_moto(setting):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": PATCH_DIRECTORY, "SPD_WMS_MOTO_SPEED_PATCHES": setting}
    server = subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return server, endpoint
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto did not start with SPD_WMS_MOTO_SPEED_PATCHES={setting}")
            time.sleep(0.1)


def clients(endpoint):
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    return {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("dynamodb", "dynamodbstreams", "sqs", "events")
    }


def table(aws, name, keys, indexes=()):
    names = sorted({key for key in keys} | {key for _, index_keys in indexes for key in index_keys})
    aws["dynamodb"].create_table(
        TableName=name,
        KeySchema=key_schema(keys),
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in names],
        **(
            {
                "GlobalSecondaryIndexes": [
                    {"IndexName": index, "KeySchema": key_schema(index_keys), "Projection": {"ProjectionType": "ALL"}}
                    for index, index_keys in indexes
                ]
            }
            if indexes
            else {}
        ),
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def key_schema(keys):
    return [{"AttributeName": key, "KeyType": kind} for key, kind in zip(keys, ("HASH", "RANGE"))]


def prepare(aws, items):
    table(aws, "jobs", ("pk", "sk"), [("byTask", ("task", "state"))])
    table(aws, "tasks", ("pk", "sk"))
    table(aws, "files", ("pk", "sk"))
    for n in range(TASKS):
        for item in task_items(f"task-{n}"):
            aws["dynamodb"].put_item(TableName="tasks", Item=item)
    for n in range(items):
        aws["dynamodb"].put_item(TableName="jobs", Item=job_item(f"old-{n}", f"task-{n % TASKS}"))
    queue = aws["sqs"].create_queue(QueueName="jobs")["QueueUrl"]
    # A queue with a backlog (an inbound burst), of which each job takes one message and adds one.
    backlog = aws["sqs"].create_queue(QueueName="backlog")["QueueUrl"]
    for first in range(0, items, 10):
        aws["sqs"].send_message_batch(
            QueueUrl=backlog,
            Entries=[{"Id": str(n), "MessageBody": f"file-{n}"} for n in range(first, min(first + 10, items))],
        )
    events = aws["sqs"].create_queue(QueueName="events")["QueueUrl"]
    events_arn = aws["sqs"].get_queue_attributes(QueueUrl=events, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws["events"].create_event_bus(Name="wms")
    aws["events"].put_rule(Name="files", EventBusName="wms", EventPattern='{"source": ["dsm"]}')
    aws["events"].put_targets(Rule="files", EventBusName="wms", Targets=[{"Id": "q", "Arn": events_arn}])
    stream_arn = aws["dynamodb"].describe_table(TableName="jobs")["Table"]["LatestStreamArn"]
    shard = aws["dynamodbstreams"].describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = aws["dynamodbstreams"].get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )["ShardIterator"]
    return queue, backlog, events, iterator


STATES = ("READY", "QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED", "LOST", "HELD")
TASKS = 20
COUNTER_SHARDS = 4
NOW = "2026-12-06T00:00:00.000Z"


def file_ref(name, kind=None):
    return {
        "M": {
            "name": {"S": name},
            **({"kind": {"S": kind}} if kind else {}),
            "location": {"S": f"s3://spd-data/datasets/run-0042/{name}"},
            "size": {"N": "2147483648"},
            "checksum": {"S": "sha256:" + "0123456789abcdef" * 4},
        }
    }


def job_item(job, task):
    """A job as the WMS stores it: its input's reference, phase times, and the claim's fields."""
    return {
        "pk": {"S": f"JOB#{job}"},
        "sk": {"S": "JOB"},
        "jobId": {"S": job},
        "task": {"S": task},
        "state": {"S": "READY"},
        "attempt": {"N": "0"},
        "device": {"S": "CPU"},
        "rank": {"N": "3"},
        "inputs": {"L": [file_ref(f"{job}.raw")]},
        "phaseTimes": {"M": {}},
        "createdAt": {"S": NOW},
        "updatedAt": {"S": NOW},
    }


def task_items(task):
    """A task and its counter shards, each counting its share of the task's jobs by state."""
    yield {"pk": {"S": f"TASK#{task}"}, "sk": {"S": "TASK"}, "state": {"S": "RUNNING"}, "rank": {"N": "3"},
           "counterShards": {"N": str(COUNTER_SHARDS)}, "createdAt": {"S": NOW}, "updatedAt": {"S": NOW}}
    for shard in range(COUNTER_SHARDS):
        yield {"pk": {"S": f"TASK#{task}"}, "sk": {"S": f"SHARD#{shard}"}, "taskState": {"S": "RUNNING"},
               "jobsTotal": {"N": "0"}, "counts": {"M": {state: {"N": "0"} for state in STATES}}}


def shard_key(task, n):
    return {"pk": {"S": f"TASK#{task}"}, "sk": {"S": f"SHARD#{n % COUNTER_SHARDS}"}}


def counters(task, before, after, n):
    """The job's counter shard moved from one state to the other, while the task runs."""
    names = {"#counts": "counts", "#to": after, "#taskState": "taskState"}
    values = {":one": {"N": "1"}, ":running": {"S": "RUNNING"}, ":held": {"S": "HELD"}}
    moves = ["#counts.#to :one"]
    if before:
        names["#from"] = before
        values[":minus"] = {"N": "-1"}
        moves.append("#counts.#from :minus")
    return {
        "Update": {
            "TableName": "tasks",
            "Key": shard_key(task, n),
            "UpdateExpression": "ADD " + ", ".join(moves),
            "ConditionExpression": "#taskState IN (:running, :held)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def transition(job, task, before, after, n):
    """One job's state change with its counter shard, in one transaction, as the WMS writes it;
    its end registers its output and log files and counts them in their datasets."""
    if before is None:
        return [
            {"Put": {"TableName": "jobs", "Item": job_item(job, task), "ConditionExpression": "attribute_not_exists(pk)"}},
            counters(task, None, after, n),
        ]
    names = {"#state": "state", "#updated": "updatedAt", "#phases": "phaseTimes", "#phase": after,
             "#pilot": "pilotId", "#token": "claimToken", "#attempt": "attempt"}
    values = {":before": {"S": before}, ":after": {"S": after}, ":now": {"S": NOW},
              ":pilot": {"S": "pilot-1"}, ":token": {"S": f"token-{n:032d}"}, ":attempt": {"N": "0"}}
    sets = ["#state = :after", "#updated = :now", "#phases.#phase = :now", "#pilot = :pilot", "#token = :token"]
    outputs = [file_ref(f"{job}.reco", "output"), file_ref(f"{job}.log", "log")] if after == "DONE" else []
    if outputs:
        names.update({"#outputs": "outputs", "#exit": "exitCode", "#ended": "endedAt"})
        values.update({":outputs": {"L": outputs}, ":exit": {"N": "0"}})
        sets += ["#outputs = :outputs", "#exit = :exit", "#ended = :now"]
    change = {
        "Update": {
            "TableName": "jobs",
            "Key": {"pk": {"S": f"JOB#{job}"}, "sk": {"S": "JOB"}},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "#state = :before AND #attempt = :attempt",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }
    registrations = []
    for output in outputs:
        kind = output["M"]["kind"]["S"]
        registrations += [
            {
                "Put": {
                    "TableName": "files",
                    "Item": {"pk": {"S": f"DATASET#{task}-{kind}"}, "sk": {"S": output["M"]["name"]["S"]},
                             **output["M"], "jobId": {"S": job}, "registeredAt": {"S": NOW}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": "files",
                    "Key": {"pk": {"S": f"DATASET#{task}-{kind}"}, "sk": {"S": "DATASET"}},
                    "UpdateExpression": "ADD #count :one, #bytes :size",
                    "ExpressionAttributeNames": {"#count": "fileCount", "#bytes": "totalBytes"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":size": output["M"]["size"]},
                }
            },
        ]
    return [change, counters(task, before, after, n), *registrations]


def one_job(aws, n, queue, backlog, events, iterator):
    db = aws["dynamodb"]
    job = f"job-{n}"
    task = f"task-{n % TASKS}"
    db.transact_write_items(TransactItems=transition(job, task, None, "READY", n))
    for before, after in (("READY", "QUEUED"), ("QUEUED", "RUNNING"), ("RUNNING", "DONE")):
        db.transact_write_items(TransactItems=transition(job, task, before, after, n))
    # The task read with its counters: the task and its shards, consistently.
    db.batch_get_item(
        RequestItems={
            "tasks": {
                "Keys": [{"pk": {"S": f"TASK#{task}"}, "sk": {"S": "TASK"}}]
                + [shard_key(task, shard) for shard in range(COUNTER_SHARDS)],
                "ConsistentRead": True,
            }
        }
    )
    db.query(
        TableName="jobs",
        IndexName="byTask",
        KeyConditionExpression="task = :task AND #state = :state",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":task": {"S": task}, ":state": {"S": "READY"}},
        Limit=100,
    )
    iterator = aws["dynamodbstreams"].get_records(ShardIterator=iterator, Limit=100)["NextShardIterator"]
    aws["sqs"].send_message(QueueUrl=queue, MessageBody=json.dumps({"job": job, "attempt": 0}))
    for received in aws["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        aws["sqs"].delete_message(QueueUrl=queue, ReceiptHandle=received["ReceiptHandle"])
    for received in aws["sqs"].receive_message(QueueUrl=backlog, MaxNumberOfMessages=1).get("Messages", []):
        aws["sqs"].delete_message(QueueUrl=backlog, ReceiptHandle=received["ReceiptHandle"])
    aws["sqs"].send_message(QueueUrl=backlog, MessageBody=f"file-{job}")
    aws["events"].put_events(
        Entries=[
            {
                "EventBusName": "wms",
                "Source": "dsm",
                "DetailType": "file.input",
                "Detail": json.dumps({"name": f"{job}.raw", "size": 1073741824}),
            }
        ]
    )
    for received in aws["sqs"].receive_message(QueueUrl=events, MaxNumberOfMessages=10).get("Messages", []):
        aws["sqs"].delete_message(QueueUrl=events, ReceiptHandle=received["ReceiptHandle"])
    return iterator


def measure(setting, jobs, items):
    server, endpoint = start_moto(setting)
    try:
        aws = clients(endpoint)
        queue, backlog, events, iterator = prepare(aws, items)
        start = cpu_seconds(server.pid)
        for n in range(jobs):
            iterator = one_job(aws, n, queue, backlog, events, iterator)
        return (cpu_seconds(server.pid) - start) * 1000 / jobs
    finally:
        server.terminate()
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--patches", help="comma-separated: measure only these (all but each, against all; no run without any)"
    )
    options = parser.parse_args()
    names = speed_patch_names()
    measured = options.patches.split(",") if options.patches else names
    unknown = [name for name in measured if name not in names]
    if unknown:
        parser.error(f"no speed patch {', '.join(unknown)} (known: {', '.join(names)})")
    settings = {"all": "1"} if options.patches else {"all": "1", "none": "0"}
    for name in measured:
        settings[f"all but {name}"] = ",".join(other for other in names if other != name)
    results = {label: [] for label in settings}
    for _ in range(options.rounds):
        for label, setting in settings.items():
            results[label].append(measure(setting, options.jobs, options.items))
            print(f"{label}: {results[label][-1]:.2f} ms/job", flush=True)
    all_ms = statistics.mean(results["all"])
    summary = {
        "jobs": options.jobs,
        "items": options.items,
        "rounds": options.rounds,
        "ms_per_job": {label: round(statistics.mean(values), 2) for label, values in results.items()},
        "gain_of_each_percent": {
            name: round(100 * (statistics.mean(results[f"all but {name}"]) - all_ms) / statistics.mean(results[f"all but {name}"]), 1)
            for name in measured
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
