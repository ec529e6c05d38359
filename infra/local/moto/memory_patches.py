"""
The patches that keep moto's memory to what its state needs, so that a long run (a day of SPD's
files, a 100,000-job task) does not grow the emulator without bound. moto answers as before.
They are always applied; each checks the moto internals it replaces first, and `apply()` raises
PatchDoesNotApply when one is missing or has another shape.

- model-instances: every moto model object (each item version a write replaces or copies, each
  stream record, SQS message, S3 key, shard iterator) is appended at creation to a class-level
  list for moto's dashboard, and never leaves it: no object moto drops is ever freed. They are
  not listed (the dashboard's `/moto-api/data.json` lists no instances; its reset still disposes
  every S3 key of every bucket).
- stream-records: a stream record keeps its old and new images as moto's nested dicts, about
  9.6 KB for a job item; it is kept pickled and compressed (0.7 KB) and unpacked when read,
  47 µs to pack and 18 µs to unpack against moto's 300 µs to make it.
- shard-iterators: every GetRecords makes a new shard iterator that moto keeps forever (four
  reads a second per stream). They expire 15 minutes after they are handed out, as on AWS, and an
  expired one is answered with ExpiredIteratorException, which readers renew.
"""
import inspect
import pickle
import threading
import time
import zlib

import moto.core.common_models as common_models
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models.table import StreamRecord
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

from correctness_patches import PatchDoesNotApply

# AWS: "A shard iterator expires 15 minutes after it is returned to the requester."
SHARD_ITERATOR_LIFETIME_S = 15 * 60


def _untracked_new(cls, *args, **kwargs):
    return object.__new__(cls)


_stream_record_init = StreamRecord.__init__


class _PackedRecord:
    """Holds a stream record's JSON pickled and compressed (level 1: fast, about 14× smaller)."""

    __slots__ = ("packed",)

    def __init__(self, record):
        self.packed = zlib.compress(pickle.dumps(record, pickle.HIGHEST_PROTOCOL), 1)

    def unpacked(self):
        return pickle.loads(zlib.decompress(self.packed))


def _packed_stream_record_init(self, *args, **kwargs):
    _stream_record_init(self, *args, **kwargs)
    self.__dict__["_spd_wms_packed"] = _PackedRecord(self.__dict__.pop("record"))


def _stream_record_of(self):
    return self._spd_wms_packed.unpacked()


class _ExpiredIterator(JsonRESTError):
    code = 400

    def __init__(self):
        super().__init__(
            "ExpiredIteratorException",
            f"The shard iterator has expired ({SHARD_ITERATOR_LIFETIME_S} s after it was returned)",
        )


_shard_iterator_init = ShardIterator.__init__
_get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator
_get_records = DynamoDBStreamsBackend.get_records
_expiry_lock = threading.Lock()


def _issued_shard_iterator_init(self, *args, **kwargs):
    _shard_iterator_init(self, *args, **kwargs)
    self._spd_wms_issued = time.monotonic()


def _drop_expired(backend):
    # Iterators are kept in the order they were issued (dicts keep insertion order).
    cutoff = time.monotonic() - SHARD_ITERATOR_LIFETIME_S
    iterators = backend.shard_iterators
    with _expiry_lock:
        while iterators:
            oldest = next(iter(iterators))
            if getattr(iterators[oldest], "_spd_wms_issued", cutoff) > cutoff:
                break
            del iterators[oldest]


def _get_shard_iterator_expiring(self, *args, **kwargs):
    _drop_expired(self)
    return _get_shard_iterator(self, *args, **kwargs)


def _get_records_expiring(self, iterator_arn, limit):
    _drop_expired(self)
    if iterator_arn not in self.shard_iterators:
        raise _ExpiredIterator()
    return _get_records(self, iterator_arn, limit)


def _parameters(function):
    return list(inspect.signature(function).parameters)


def _require(condition, patch, what):
    if not condition:
        raise PatchDoesNotApply(f"{patch}: {what}")


def apply():
    """Applies every memory patch; returns their names."""
    _require(
        "instances_tracked.append" in inspect.getsource(common_models.BaseModel.__new__),
        "model-instances",
        "BaseModel.__new__ does not append to instances_tracked",
    )
    _require(
        "self.record" in inspect.getsource(_stream_record_init)
        and inspect.getsource(StreamRecord.to_json).strip().endswith("return self.record"),
        "stream-records",
        "StreamRecord does not keep its JSON in self.record and return it from to_json",
    )
    _require(
        _parameters(_get_records) == ["self", "iterator_arn", "limit"]
        and "self.shard_iterators[iterator_arn]" in inspect.getsource(_get_records)
        and "shard_iterators[" in inspect.getsource(ShardIterator.get),
        "shard-iterators",
        "DynamoDBStreamsBackend.get_records(self, iterator_arn, limit) does not look iterators up"
        " in shard_iterators",
    )
    common_models.BaseModel.__new__ = staticmethod(_untracked_new)
    StreamRecord.__init__ = _packed_stream_record_init
    StreamRecord.to_json = _stream_record_of
    ShardIterator.__init__ = _issued_shard_iterator_init
    DynamoDBStreamsBackend.get_shard_iterator = _get_shard_iterator_expiring
    DynamoDBStreamsBackend.get_records = _get_records_expiring
    return ["model-instances", "stream-records", "shard-iterators"]
