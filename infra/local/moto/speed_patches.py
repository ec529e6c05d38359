"""
The patches that make moto cheaper per request, with the same answers (moto's one Python
process bounds the benchmark). Each replaces private internals of the pinned moto and is
applied only to that version (sitecustomize.py checks it); SPD_WMS_MOTO_SPEED_PATCHES chooses
which apply. SPEED_PATCHES at the end names each with what it saves, measured by
measure_speed_patches.py: moto's CPU per job of a workload of one job's calls, with every speed
patch applied but that one, against all of them.
The checks beside this file compare the riskiest with moto's own answers
(check_partition_queries.py, check_sizes.py, check_conditions.py,
check_attribute_values.py).
"""
import bisect
import copy
import functools
import json
import threading

import jsonpath_ng.ext
import moto.backends as backends
import moto.core.responses as core_responses
import moto.dynamodb.models as dynamodb_models
import moto.dynamodb.parsing.validators as validators
import moto.sqs.models as sqs_models
from moto.core.parse import BaseJSONParser
from moto.core.serialize import JSONSerializer
from moto.core.utils import (
    camelcase_to_underscores,
    get_service_model,
    method_names_from_class,
    unix_time,
)
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import (
    ActionCountValidator,
    OverlappingPathsValidator,
    UpdateExpressionValidator,
)
from moto.sqs.models import SQSBackend
from werkzeug.serving import WSGIRequestHandler

# Transactions: moto backs up every table a transaction touches, once per item, with a deep
# copy, so a transaction costs O(items x table size). The backup is replaced by an undo log of
# just the touched items and the stream length, restored when the transaction is cancelled; the
# outcome is the same.
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
    _item_changed(table, hash_key, range_key)


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


# Responses: moto serializes every AttributeValue by walking the service model, trying up to
# six name aliases for each of its ten members; that walk was half of moto's CPU (stream
# records and items are mostly attribute values). For the values it can state exactly what the
# walk yields (one type tag whose value has the type the model names), a direct translation
# builds the same output; anything else still takes the walk.
_ATTRIBUTE_VALUE_SERVICES = ("dynamodb", "dynamodbstreams")
_ATTRIBUTE_VALUE_MEMBERS = [
    ("S", "string"), ("N", "string"), ("B", "blob"), ("SS", "list"), ("NS", "list"),
    ("BS", "list"), ("M", "map"), ("L", "list"), ("NULL", "boolean"), ("BOOL", "boolean"),
]


class _NotPlain(Exception):
    """An attribute value outside what the direct translation covers."""


# Both ways: `base64` encodes blobs for a response, or decodes them from a request.
def _plain_attribute_value(value, base64):
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((tag, inner),) = value.items()
    kind = type(inner)
    if tag in ("S", "N") and kind is str or tag in ("BOOL", "NULL") and kind is bool:
        return {tag: inner}
    if tag == "B" and (kind is str or kind is bytes):
        return {tag: base64(inner)}
    if kind is list:
        if tag in ("SS", "NS") and all(type(v) is str for v in inner):
            return {tag: list(inner)}
        if tag == "BS" and all(type(v) is str or type(v) is bytes for v in inner):
            return {tag: [base64(v) for v in inner]}
        if tag == "L":
            return {tag: [_plain_attribute_value(v, base64) for v in inner]}
    # An empty name would make the walk merge the value into the map itself.
    if tag == "M" and kind is dict and all(type(name) is str and name for name in inner):
        return {tag: {name: _plain_attribute_value(v, base64) for name, v in inner.items()}}
    raise _NotPlain


def _attribute_value_shape_is_expected(service_name):
    shape = get_service_model(service_name).shape_for("AttributeValue")
    members = shape.members
    return (
        [(name, member.type_name) for name, member in members.items()] == _ATTRIBUTE_VALUE_MEMBERS
        and all(not member.serialization for member in members.values())
        and [members[name].member.type_name for name in ("SS", "NS", "BS")]
        == ["string", "string", "blob"]
        and members["M"].value.name == members["L"].member.name == "AttributeValue"
        and not members["M"].value.serialization
        and not members["L"].member.serialization
    )


_serialize_structure = JSONSerializer._serialize_type_structure


def _serialize_structure_directly(self, serialized, value, shape, key):
    if (
        key
        and shape.name == "AttributeValue"
        and self.service_model.service_name in _ATTRIBUTE_VALUE_SERVICES
        and not getattr(self._value_picker, "response_transformers", None)
    ):
        try:
            plain = _plain_attribute_value(value, self._base64)
        except _NotPlain:
            pass
        else:
            serialized[self.get_serialized_name(shape, key)] = plain
            return
    _serialize_structure(self, serialized, value, shape, key)


_parse_structure = BaseJSONParser._parse_structure


def _parse_structure_directly(self, shape, value):
    if (
        shape.name == "AttributeValue"
        and self.MAP_TYPE is dict
        and self.operation_model.service_model.service_name in _ATTRIBUTE_VALUE_SERVICES
    ):
        try:
            return _plain_attribute_value(value, self._blob_parser)
        except _NotPlain:
            pass
    return _parse_structure(self, shape, value)


# Update expressions: parsed up to twice per update (the response layer validates, the backend
# parses again), and the tree depends only on the string. Every user either reads the tree or
# deep-copies it before changing it (moto's validator), so a shared tree is safe.
_parse_update_expression = functools.lru_cache(maxsize=4096)(UpdateExpressionParser.make)

# Update validation: ten passes over a fresh copy of the tree. The first two (each kind of
# clause at most once; no two paths overlap) depend only on the tree and the names, and they
# rescan the subtree at every clause node, so they cost more than the rest. Once a validation
# has succeeded for a tree (shared per expression string, above) and names, they would pass
# again and are skipped; everything else runs as before.
_STATIC_CHECKS = (ActionCountValidator, OverlappingPathsValidator)
_STATIC_CHECKS_PASSED_LIMIT = 4096
_static_checks_passed = set()


class _UpdateExpressionValidator(UpdateExpressionValidator):
    def __init__(
        self, expression, expression_attribute_names, expression_attribute_values, item, table
    ):
        try:
            names = json.dumps(expression_attribute_names, sort_keys=True)
        except (TypeError, ValueError):
            self._static_key = None
        else:
            self._static_key = (expression, names)
        super().__init__(
            expression, expression_attribute_names, expression_attribute_values, item, table
        )

    def get_ast_processors(self):
        processors = super().get_ast_processors()
        if self._static_key in _static_checks_passed:
            return [p for p in processors if not isinstance(p, _STATIC_CHECKS)]
        return processors

    def validate(self):
        validated = super().validate()
        if self._static_key is not None:
            if len(_static_checks_passed) >= _STATIC_CHECKS_PASSED_LIMIT:
                _static_checks_passed.clear()
            _static_checks_passed.add(self._static_key)
        return validated


# The validator's copy of the tree: copy.deepcopy rebuilds every node through the pickle
# protocol. Tree nodes are plain objects (attributes only, no copy or pickle hooks), for which
# deepcopy makes an instance of the same class holding deep copies of the attributes; that is
# done here directly. Anything else goes to deepcopy, with the same memo.
_ATOMIC = (str, int, float, bool, type(None))
_COPY_HOOKS = (
    "__new__", "__deepcopy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__",
    "__slots__",
)


def _subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


_PLAIN_NODE_TYPES = frozenset(
    cls
    for cls in _subclasses(Node)
    if not any(hook in vars(klass) for klass in cls.__mro__[:-1] for hook in _COPY_HOOKS)
)


def _copy_tree(value, memo):
    kind = type(value)
    if kind in _ATOMIC:
        return value
    copied = memo.get(id(value))
    if copied is not None:
        return copied
    if kind is list:
        copied = memo[id(value)] = []
        copied.extend(_copy_tree(element, memo) for element in value)
        return copied
    if kind in _PLAIN_NODE_TYPES:
        copied = memo[id(value)] = object.__new__(kind)
        copied.__dict__.update(
            (name, _copy_tree(attribute, memo)) for name, attribute in value.__dict__.items()
        )
        return copied
    return copy.deepcopy(value, memo)


def _deepcopy(value, memo=None):
    return _copy_tree(value, {} if memo is None else memo)


# The passes themselves: moto's "cached accessor" for the node types a pass handles rebuilds
# them at every node, and the node classes are ABCs, so each isinstance test of a node goes
# through ABCMeta. The traversal below is moto's, with the accessor computed once per pass and
# the tests answered once per node class (no class is ever registered with these ABCs, so the
# answer depends on the class alone).
_nodes_to_be_processed = DepthFirstTraverser.nodes_to_be_processed
_class_tests = {}


def _nodes_to_be_processed_once(self):
    try:
        return self._node_types
    except AttributeError:
        self._node_types = _nodes_to_be_processed(self)
        return self._node_types


def _is_instance(value, classes):
    key = (type(value), classes)
    try:
        return _class_tests[key]
    except KeyError:
        answer = _class_tests[key] = isinstance(value, classes)
        return answer


def _traverse_node_recursively(self, node, child_id=-1):
    if _is_instance(node, Node):
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        if _is_instance(node, self.nodes_to_be_processed()):
            node = self.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
    return node


# Condition expressions: parsed up to three times per transaction item (response layer,
# transaction, write), and the result depends only on the expression, names and values. The
# key is their JSON; the cached result is parsed from that JSON's own copy, so it shares
# nothing with a request. Inputs JSON cannot state exactly are parsed as before.
_parse_condition = ConditionExpressionParser.parse


@functools.lru_cache(maxsize=4096)
def _parse_condition_of(key):
    expression, names, values = json.loads(key)
    parser = ConditionExpressionParser(expression, names, values)
    return _parse_condition(parser), parser.expr_attr_names_found, parser.expr_attr_values_found


def _parse_condition_once(self):
    if not self.condition_expression:
        return _parse_condition(self)
    try:
        key = json.dumps(
            [
                self.condition_expression,
                self.expression_attribute_names,
                self.expression_attribute_values,
            ],
            sort_keys=True,
        )
    except (TypeError, ValueError):
        return _parse_condition(self)
    op, names_found, values_found = _parse_condition_of(key)
    self.expr_attr_names_found.extend(names_found)
    self.expr_attr_values_found.extend(values_found)
    return op


# Routing: every request listed moto's package directory (a listdir and ~200 stats), under a
# lock all services share, to recognise service names; the directory does not change.
_list_of_moto_modules = backends.list_of_moto_modules


@functools.cache
def _moto_modules():
    return tuple(_list_of_moto_modules())


# Per request, moto lists its response class's methods (inspect.getmembers) to find the
# action's handler, and SQS rebuilds each queue's attribute names for every message received;
# both are pure functions of names and classes that do not change once loaded.
_method_names_of_class = functools.cache(method_names_from_class)
_attribute_name_of = functools.lru_cache(maxsize=1024)(camelcase_to_underscores)


# SQS: to check one message's retention, moto computes every attribute of its queue three times,
# counting the queue's messages each time, for each message it receives. The period is one of
# those attributes (the queue's message_retention_period, an int); it is read directly.
def _is_message_valid_based_on_retention_period(self, queue_name, message):
    retention_period = self.get_queue(queue_name).message_retention_period
    return retention_period + message.sent_timestamp / 1000 > unix_time()


# EventBridge: each delivery to a target parses the same eight JSONPath expressions of the event
# template; a parsed path is only read (find) afterwards, so one per string is kept.
_parse_json_path = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)


# Queries: moto answers a Query by testing every item of the table against the key condition,
# then sorting the matches with Python-level comparisons and skipping the pages before the
# start key one item at a time, all under the lock every DynamoDB request shares; with tens of
# thousands of jobs, each query stalls the whole emulator. Each table keeps, per partition of
# the table and of each index queried, its items in moto's query order, kept current by the
# places moto changes items. A query is given just the items of its partition that can be on
# its page (within the sort key condition's bounds, after the start key, up to one past its
# limit), and moto's own query does everything else as before.
_ORDERABLE_KINDS = ("S", "N", "B")
_BOUNDED_COMPARISONS = ("=", "<", "<=", ">", ">=", "BETWEEN", "BEGINS_WITH")
# moto's item size limit (LimitedSizeDict), between DynamoDB's documented and observed ones.
_ITEM_SIZE_LIMIT = 405000
_all_items = Table.all_items
_query = Table.query
_narrowed = threading.local()


class _Partition:
    """One partition's items, in the order moto sorts them while their sort keys allow it."""

    def __init__(self):
        self.entries = {}  # item key -> (sort key, item)
        self.kinds = None
        self.ordered = True
        self.sort_keys = []
        self.items = []

    def add(self, item_key, sort_key, kinds, item):
        self.entries[item_key] = (sort_key, item)
        if self.kinds is None:
            self.kinds = kinds
        if kinds != self.kinds or not all(kind in _ORDERABLE_KINDS for kind in kinds):
            self.ordered = False
        if self.ordered:
            at = bisect.bisect_left(self.sort_keys, sort_key)
            self.sort_keys.insert(at, sort_key)
            self.items.insert(at, item)

    def remove(self, item_key):
        sort_key, _ = self.entries.pop(item_key)
        if self.ordered:
            at = bisect.bisect_left(self.sort_keys, sort_key)
            del self.sort_keys[at]
            del self.items[at]

    def all(self):
        return self.items if self.ordered else [item for _, item in self.entries.values()]


def _key_names(index):
    """The names of an index's hash keys and of its range keys."""
    names = {"HASH": [], "RANGE": []}
    for key in index.schema:
        names[key["KeyType"]].append(key["AttributeName"])
    return names["HASH"], names["RANGE"]


class _View:
    """A table's items by partition: of the table itself (index None) or of one index."""

    def __init__(self, table, index):
        self.index = index
        if index is None:
            self.schema = None
            self.partition_attrs = [table.hash_key_attr]
            self.hash_attrs = [table.hash_key_attr]
            self.range_attrs = [table.range_key_attr]
            self.range_attr = table.range_key_attr
        else:
            # As moto's query derives them for an index with one hash and at most one range key.
            self.schema = copy.deepcopy(index.schema)
            hash_names, range_names = _key_names(index)
            if range_names:
                index_range = self.range_attr = range_names[0]
            else:
                self.range_attr = None
                global_with_table_range = isinstance(index, GlobalSecondaryIndex) and table.range_key_attr
                index_range = table.range_key_attr if global_with_table_range else table.hash_key_attr
            self.partition_attrs = hash_names
            self.hash_attrs = hash_names + [table.hash_key_attr]
            self.range_attrs = [index_range, table.range_key_attr]
        self.sort_attrs = table._generate_attr_to_sort_by(self.hash_attrs, self.range_attrs)
        self.items_of = table.items
        self.partitions = {}
        self.placed = {}  # item key -> partition key
        for item in _all_items(table):
            self.place(item)

    def is_current(self, table, index):
        return self.items_of is table.items and self.index is index and (
            index is None or self.schema == index.schema
        )

    def place(self, item):
        attrs = item.attrs
        if not all(name in attrs for name in self.partition_attrs):
            return
        if not all(name in attrs for name in self.sort_attrs):
            return
        partition_key = tuple(attrs[name] for name in self.partition_attrs)
        sort_key = tuple(attrs[name].cast_value for name in self.sort_attrs)
        kinds = tuple(attrs[name].type for name in self.sort_attrs)
        item_key = (item.hash_key, item.range_key)
        self.partitions.setdefault(partition_key, _Partition()).add(item_key, sort_key, kinds, item)
        self.placed[item_key] = partition_key

    def refresh(self, table, hash_key, range_key):
        item_key = (hash_key, range_key)
        partition_key = self.placed.pop(item_key, None)
        if partition_key is not None:
            partition = self.partitions[partition_key]
            partition.remove(item_key)
            if not partition.entries:
                del self.partitions[partition_key]
        stored = table.items.get(hash_key)
        item = stored.get(range_key) if table.range_key_attr and stored is not None else stored
        if isinstance(item, Item):
            self.place(item)


def _view_of(table, index):
    views = table.__dict__.setdefault("_spd_wms_views", {})
    name = None if index is None else index.name
    view = views.get(name)
    if view is None or not view.is_current(table, index):
        view = views[name] = _View(table, index)
    return view


def _item_changed(table, hash_key, range_key):
    for view in table.__dict__.get("_spd_wms_views", {}).values():
        if view.items_of is table.items:
            view.refresh(table, hash_key, range_key)


def _bounds(partition, comparison, values, lo, hi):
    """The slice of an ordered partition whose first sort key after the partition's satisfies
    the comparison; None when it cannot be told from the order."""
    kind = partition.kinds[1]
    if any(value.type != kind for value in values):
        return None
    targets = [value.cast_value for value in values]

    def second(sort_key):
        return sort_key[1]

    keys = partition.sort_keys
    if comparison == "=":
        return bisect.bisect_left(keys, targets[0], lo, hi, key=second), bisect.bisect_right(
            keys, targets[0], lo, hi, key=second
        )
    if comparison == "<":
        return lo, bisect.bisect_left(keys, targets[0], lo, hi, key=second)
    if comparison == "<=":
        return lo, bisect.bisect_right(keys, targets[0], lo, hi, key=second)
    if comparison == ">":
        return bisect.bisect_right(keys, targets[0], lo, hi, key=second), hi
    if comparison == ">=":
        return bisect.bisect_left(keys, targets[0], lo, hi, key=second), hi
    if comparison == "BETWEEN" and len(targets) == 2:
        start = bisect.bisect_left(keys, targets[0], lo, hi, key=second)
        return start, max(start, bisect.bisect_right(keys, targets[1], lo, hi, key=second))
    if comparison == "BEGINS_WITH" and kind == "S":
        prefix = targets[0]
        start = bisect.bisect_left(keys, prefix, lo, hi, key=second)
        # From the prefix on, the keys that start with it come first.
        return start, bisect.bisect_left(
            keys, True, start, hi, key=lambda sort_key: not sort_key[1].startswith(prefix)
        )
    return None


def _candidates(table, hash_key, range_comparison, range_values, limit, exclusive_start_key,
                scan_index_forward, index_name, consistent_read, hash_key_conditions,
                range_key_conditions):
    """The items moto's query needs to see to answer as it would over the whole table, or None
    when that cannot be told (moto then reads the whole table, as before)."""
    if index_name is None:
        if hash_key is None:
            return None
        view = _view_of(table, None)
        partition_key = (hash_key,)
    else:
        index = {index.name: index for index in table.all_indexes()}.get(index_name)
        if index is None or consistent_read and index in (table.global_indexes or []):
            return None  # moto's query reports the error
        hash_names, range_names = _key_names(index)
        conditions = hash_key_conditions or []
        if len(hash_names) != 1 or len(range_names) > 1 or len(conditions) != 1:
            return None
        (condition_name, condition_value), = conditions
        if condition_name != hash_names[0]:
            return None
        view = _view_of(table, index)
        partition_key = (condition_value,)
    partition = view.partitions.get(partition_key)
    if partition is None:
        return []
    if not partition.ordered:
        return partition.all()
    lo, hi = 0, len(partition.items)
    on_page_in_order = not range_comparison
    if range_comparison:
        compared = range_key_conditions[-1][0] if range_key_conditions else view.range_attr
        if (
            len(range_key_conditions or []) <= 1
            and compared is not None
            and compared == view.range_attr
            and len(view.sort_attrs) > 1
            and view.sort_attrs[1] == compared
            and range_comparison in _BOUNDED_COMPARISONS
        ):
            bounds = _bounds(partition, range_comparison, range_values, lo, hi)
            if bounds is not None:
                lo, hi = bounds
                on_page_in_order = True
    items = partition.items
    forward = scan_index_forward is not False
    if exclusive_start_key is not None:
        # moto's own test, true for the items up to the start key in the scan's direction.
        def up_to_start(index):
            return table._item_comes_before_dct(
                items[index], exclusive_start_key, view.hash_attrs, view.range_attrs, forward
            )

        if forward:
            lo = bisect.bisect_left(range(hi), True, lo, hi, key=lambda i: not up_to_start(i))
        else:
            hi = bisect.bisect_left(range(hi), True, lo, hi, key=up_to_start)
    # With more items on the page than its limit, moto stops within them.
    stops_at_limit = on_page_in_order and type(limit) is int and 0 < limit < hi - lo
    if stops_at_limit:
        if forward:
            hi = lo + limit + 1
        else:
            lo = hi - limit - 1
        return items[lo:hi]
    # Otherwise moto tests the limits on every item after the page too, inside the key
    # condition or not. It stops at the count limit on the first of them, so it is given that
    # one; and it stops before one that would take the page past its size limit, which none
    # could while the page is that far from it.
    if forward:
        hi = min(len(items), hi + 1)
    else:
        lo = max(0, lo - 1)
    window = items[lo:hi]
    if sum(item.size() for item in window) > RESULT_SIZE_LIMIT - _ITEM_SIZE_LIMIT:
        return None
    return window


def _query_within_partition(self, hash_key, range_comparison, range_objs, limit,
                            exclusive_start_key, scan_index_forward, projection_expressions,
                            index_name=None, consistent_read=False, filter_expression=None,
                            hash_key_conditions=None, range_key_conditions=None, **filter_kwargs):
    candidates = None
    if not filter_kwargs:
        try:
            candidates = _candidates(
                self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                scan_index_forward, index_name, consistent_read, hash_key_conditions,
                range_key_conditions,
            )
        except Exception:  # an input moto's query rejects in its own way
            candidates = None
    _narrowed.items = None if candidates is None else (self, candidates)
    try:
        return _query(
            self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
            scan_index_forward, projection_expressions, index_name, consistent_read,
            filter_expression, hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions, **filter_kwargs,
        )
    finally:
        _narrowed.items = None


def _all_items_or_narrowed(self):
    narrowed = getattr(_narrowed, "items", None)
    if narrowed is not None and narrowed[0] is self:
        _narrowed.items = None
        return list(narrowed[1])
    return _all_items(self)


_table_put_item = Table.put_item
_table_delete_item = Table.delete_item
_backend_update_item = DynamoDBBackend.update_item


def _put_item_indexed(self, *args, **kwargs):
    item = _table_put_item(self, *args, **kwargs)
    _item_changed(self, item.hash_key, item.range_key)
    return item


def _delete_item_indexed(self, hash_key, range_key):
    try:
        return _table_delete_item(self, hash_key, range_key)
    finally:
        _item_changed(self, hash_key, range_key)


def _update_item_indexed(self, table_name, key, *args, **kwargs):
    # The item is changed in place; its key is read as moto's update_item reads it.
    table = self.tables.get(table_name)
    try:
        return _backend_update_item(self, table_name, key, *args, **kwargs)
    finally:
        if table is not None:
            if isinstance(key, dict) and table.hash_key_attr in key:
                range_key = key.get(table.range_key_attr) if table.range_key_attr else None
                _item_changed(
                    table,
                    DynamoType(key[table.hash_key_attr]),
                    None if range_key is None else DynamoType(range_key),
                )
            else:
                table.__dict__.pop("_spd_wms_views", None)


# The request log: werkzeug formats and writes a line per request, under the logging module's
# locks, and the process that started moto reads every line. Only failed requests are logged.
_log_request = WSGIRequestHandler.log_request


def _log_failed_request(self, code="-", size="-"):
    if str(getattr(code, "value", code)).startswith(("4", "5")):
        _log_request(self, code, size)


# Sizes: an item's size is summed on every attribute an update sets (to enforce the size limit),
# for every query result and every BatchGetItem item. moto's DynamoType.size rebuilds each
# nested map value as a new DynamoType (its whole subtree) to size it; the same sum is taken
# here over the values as they are. Elements that are not DynamoType are sized as moto does.
_SET_TYPES = ("SS", "NS", "BS")
_size = DynamoType.size


def _value_size(kind, value):
    if kind == "N":
        return len(str(value))
    if kind in _SET_TYPES:
        member_kind = kind[0]
        return sum(_value_size(member_kind, member) for member in value)
    if kind == "L":
        return sum(_element_size(member) for member in value)
    if kind == "M":
        return sum(bytesize(name) + _element_size(member) for name, member in value.items())
    if isinstance(value, bool):
        return 1
    return bytesize(value)


def _element_size(element):
    if type(element) is DynamoType:
        return _value_size(element.type, element.value)
    return _size(DynamoType(element))


def _dynamo_type_size(self):
    return _value_size(self.type, self.value)


# Items: each attribute stored while an item is built sums the size of all those before it, so
# building an item costs O(attributes²). Its size is summed once instead; an item over the
# limit is refused as before (some step would have been over it exactly when the total is).
def _item_init(self, hash_key, range_key, attrs):
    self.hash_key = hash_key
    self.range_key = range_key
    values = [(key, DynamoType(value)) for key, value in attrs.items()]
    if sum(bytesize(key) + value.size() for key, value in values) > _ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, values)


def _apply_transaction_undo_log():
    dynamodb_models.copy = _CopyWithoutTableBackups()
    DynamoDBBackend.transact_write_items = _transact_with_undo_log


def _apply_attribute_values():
    if all(_attribute_value_shape_is_expected(service) for service in _ATTRIBUTE_VALUE_SERVICES):
        JSONSerializer._serialize_type_structure = _serialize_structure_directly
        BaseJSONParser._parse_structure = _parse_structure_directly


def _apply_update_expressions():
    UpdateExpressionParser.make = staticmethod(_parse_update_expression)
    dynamodb_models.UpdateExpressionValidator = _UpdateExpressionValidator
    DepthFirstTraverser.nodes_to_be_processed = _nodes_to_be_processed_once
    DepthFirstTraverser.traverse_node_recursively = _traverse_node_recursively
    validators.deepcopy = _deepcopy


def _apply_condition_expressions():
    ConditionExpressionParser.parse = _parse_condition_once


def _apply_request_routing():
    backends.list_of_moto_modules = _moto_modules
    core_responses.method_names_from_class = _method_names_of_class
    core_responses.camelcase_to_underscores = _attribute_name_of
    sqs_models.camelcase_to_underscores = _attribute_name_of


def _apply_sqs_retention():
    SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period


def _apply_eventbridge_json_paths():
    jsonpath_ng.ext.parse = _parse_json_path


def _apply_partition_queries():
    Table.query = _query_within_partition
    Table.all_items = _all_items_or_narrowed
    Table.put_item = _put_item_indexed
    Table.delete_item = _delete_item_indexed
    DynamoDBBackend.update_item = _update_item_indexed


def _apply_item_sizes():
    Item.__init__ = _item_init
    DynamoType.size = _dynamo_type_size


def _apply_request_log():
    WSGIRequestHandler.log_request = _log_failed_request


# name -> how to apply it. Beside each, what it saves: the share of moto's CPU per job that goes
# when it is added to all the others, measured by measure_speed_patches.py on the shared
# two-core machine, where runs differ by up to ±5 %. Kept only where the saving is larger than
# that. The first seven were measured on the workload as it was then (100 jobs, tables of 500
# items, 2 interleaved rounds; smaller job items, counters on the task item).
SPEED_PATCHES = {
    # 96.9 %: 1,120 → 34.3 ms per job (30 jobs, one round): the backups grow with the table.
    "transaction-undo-log": _apply_transaction_undo_log,
    # 62.8 %: 95.4 → 35.5 ms per job.
    "attribute-values": _apply_attribute_values,
    # 21.7 %: 45.3 → 35.5 ms per job.
    "update-expressions": _apply_update_expressions,
    # 20.3 %: 44.5 → 35.5 ms per job.
    "request-routing": _apply_request_routing,
    # 33.7 % with a 500-message backlog in one queue: 73.3 → 48.6 ms per job (none without one).
    "sqs-retention": _apply_sqs_retention,
    # 11.6 %: 40.1 → 35.5 ms per job.
    "eventbridge-json-paths": _apply_eventbridge_json_paths,
    # 8.9 %: 38.9 → 35.5 ms per job on 500 items; it grows with the table (docs/data-model.md:
    # a 100-job page of a byTask query on 10,000 jobs, 239 ms in process, 45 ms with it).
    "partition-queries": _apply_partition_queries,
    # The two below were measured on the workload as it is now (job items as the WMS stores
    # them, counter shards, output registration; 150 jobs, 3 rounds): 63.9 → 56.3 ms per job
    # (11.8 %) and 61.3 → 56.3 ms (8.1 %). In the bench, these two with one-call random strings
    # took moto from 26.1 to 24.1 ms of CPU per job (infra/local/README.md); random strings alone
    # saved 3.2 %, inside the noise, and are left as moto draws them.
    "condition-expressions": _apply_condition_expressions,
    "item-sizes": _apply_item_sizes,
    # Not visible in that workload; in the bench's capacity windows (16 clients of cheap SQS and
    # DynamoDB calls, 3 interleaved rounds) moto's CPU per call is 1.64–1.79 ms without it and
    # 1.51–1.59 ms with it, about 9 %.
    "request-log": _apply_request_log,
}

def apply(names):
    for name in names:
        SPEED_PATCHES[name]()
