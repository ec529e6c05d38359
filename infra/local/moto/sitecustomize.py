"""
Loaded by moto's Python at start-up (as `sitecustomize`, via PYTHONPATH) to make the emulator
behave like AWS where the WMS depends on it:
- Atomicity: moto's server is threaded and its DynamoDB backend takes no locks, so two
  conditional writes on one item could both pass their condition. DynamoDB and DynamoDB
  Streams requests now run one at a time (other services, SQS long polls included, stay
  concurrent).
- Transaction cost: moto backs up every table a transaction touches, once per item, with a
  deep copy, so a transaction costs O(items x table size). The backup is replaced by an undo
  log of just the touched items and the stream length, restored when the transaction is
  cancelled; the outcome is the same.
- EventBridge rule targets receive the event's `account`, as on AWS.
Written for moto 5.2 (scripts/ensure-moto.sh pins it); the marker line proves it is active.
"""
import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models
import moto.events.utils as events_utils
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_dynamodb_lock = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialized_dispatch(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with _dynamodb_lock:
            return _dispatch(self, environ, start_response)
    return _dispatch(self, environ, start_response)


class _CopyWithoutTableBackups:
    """The module's copy, except that tables are not deep-copied (the undo log covers them)."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_transact_write_items = DynamoDBBackend.transact_write_items


def _item_key(table, operation):
    attributes = operation["Item"] if "Item" in operation else operation["Key"]
    hash_key = DynamoType(attributes[table.hash_key_attr])
    range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _restore(table, hash_key, range_key, previous):
    if range_key is None:
        if previous is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = previous
    elif previous is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = previous


def _transact_with_undo_log(self, transact_items):
    undo = []
    stream_lengths = []
    for entry in transact_items:
        for operation in entry.values():
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            try:
                hash_key, range_key = _item_key(table, operation)
            except (KeyError, TypeError):
                continue
            undo.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None:
                stream_lengths.append((table.stream_shard, len(table.stream_shard.items)))
    try:
        return _transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, previous in reversed(undo):
            _restore(table, hash_key, range_key, previous)
        for shard, length in stream_lengths:
            del shard.items[length:]
        raise


# EventBridge: moto's default input template for rule targets drops the event's `account`,
# which every real event carries (and our consumers validate).
events_utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)

DomainDispatcherApplication.__call__ = _serialized_dispatch
dynamodb_models.copy = _CopyWithoutTableBackups()
DynamoDBBackend.transact_write_items = _transact_with_undo_log
sys.stderr.write("spd-wms: moto dynamodb patched\n")
