"""
The patches that make moto behave like AWS where the WMS depends on it. They are always applied;
each checks the moto internals it replaces first, and `apply()` raises PatchDoesNotApply when one
is missing or has another shape, so a moto they do not fit fails at start instead of running
without them.

- dynamodb-request-lock: moto's server is threaded and its DynamoDB backend takes no locks, so
  two conditional writes on one item could both pass their condition. DynamoDB and DynamoDB
  Streams requests run one at a time (other services, SQS long polls included, stay concurrent).
- eventbridge-account: moto's default input template for rule targets drops the event's
  `account`, which every real event carries (and the consumers validate).
- sqs-queue-policy-deny: moto evaluates no resource policy, so a pilot could read another
  pilot's control queue. A queue policy's Deny statements are applied to receiving, deleting and
  changing the visibility of messages, with the request's access key as `aws:userid` (the
  principal the local API records for the key), the key's other access untouched and moto's IAM
  enforcement still off.
"""
import inspect
import json
import threading

import moto.events.utils as events_utils
from moto.core.exceptions import AccessDeniedError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import Queue, SQSBackend
from moto.sqs.responses import SQSResponse
from werkzeug.exceptions import HTTPException


class PatchDoesNotApply(Exception):
    """A correctness patch whose target in moto is missing or has another shape."""


_dynamodb_lock = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialized_dispatch(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
        with _dynamodb_lock:
            return _dispatch(self, environ, start_response)
    return _dispatch(self, environ, start_response)


# moto's default input template for rule targets, with the event's `account`.
_EVENT_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)


# The SQS actions a control queue's policy keeps to the pilot that registered it.
_QUEUE_POLICY_ACTIONS = {
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
}
# Batch actions are authorized as their single-message action, as on AWS.
_POLICY_ACTION_OF = {"DeleteMessageBatch": "DeleteMessage", "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
_authorize_sqs_action = SQSResponse._authenticate_and_authorize_normal_action


class _JsonAccessDenied(HTTPException):
    """SQS's refusal in its JSON protocol (what the AWS SDK for JavaScript speaks): 403, AccessDenied."""

    code = 403

    def __init__(self, user_arn, action, resource):
        super().__init__(
            description=json.dumps(
                {
                    "__type": "com.amazon.coral.service#AccessDeniedException",
                    "message": f"User: {user_arn} is not authorized to perform: {action} on resource: {resource}"
                    " with an explicit deny in a resource-based policy",
                }
            )
        )

    HEADERS = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": "AccessDenied;Sender"}


def _listed(value):
    return value if isinstance(value, list) else [value]


def _statement_names_action(statement, action):
    names = {name.lower() for name in _listed(statement.get("Action", []))}
    return bool(names & {"*", "sqs:*", f"sqs:{action}".lower()})


def _statement_names_everyone(statement):
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and _listed(principal.get("AWS")) == ["*"])


def _conditions_hold(conditions, user_id):
    """StringEquals/StringNotEquals on aws:userid; any other condition holds (a Deny fails closed)."""
    for operator, tests in (conditions or {}).items():
        for key, expected in tests.items():
            if key.lower() != "aws:userid" or operator not in ("StringEquals", "StringNotEquals"):
                continue
            matches = user_id in _listed(expected)
            if matches != (operator == "StringEquals"):
                return False
    return True


def _access_key_of(headers):
    authorization = headers.get("Authorization") or ""
    start = authorization.find("Credential=")
    if start < 0:
        return ""
    return authorization[start + len("Credential="):].split("/", 1)[0]


def _authorize_with_queue_policy(self, resource="*"):
    _authorize_sqs_action(self, resource)
    action = self._get_action()
    if action not in _QUEUE_POLICY_ACTIONS or resource == "*":
        return
    try:
        queue = self.sqs_backend.get_queue(resource.rsplit(":", 1)[-1])
    except QueueDoesNotExist:
        return
    statements = _listed(queue._policy_json.get("Statement") or [])
    policy_action = _POLICY_ACTION_OF.get(action, action)
    access_key = _access_key_of(self.headers)
    for statement in statements:
        if (
            statement.get("Effect") == "Deny"
            and _statement_names_action(statement, policy_action)
            and _statement_names_everyone(statement)
            and _conditions_hold(statement.get("Condition"), access_key)
        ):
            user_arn = f"arn:aws:iam::{self.current_account}:user/{access_key}"
            if self.headers.get("X-Amz-Target"):
                # moto answers an authorization failure with its response headers and the description.
                self.response_headers.update(_JsonAccessDenied.HEADERS)
                raise _JsonAccessDenied(user_arn, f"sqs:{policy_action}", resource)
            raise AccessDeniedError(user_arn=user_arn, action=f"sqs:{policy_action}")


def _parameters(function):
    return list(inspect.signature(function).parameters)


def _require(condition, patch, what):
    if not condition:
        raise PatchDoesNotApply(f"{patch}: {what}")


def apply():
    """Applies every correctness patch; returns their names."""
    _require(
        _parameters(_dispatch) == ["self", "environ", "start_response"],
        "dynamodb-request-lock",
        "DomainDispatcherApplication.__call__(self, environ, start_response) not found",
    )
    template = getattr(events_utils.EventTemplateParser, "DEFAULT_EVENT_INPUT_TEMPLATE", None)
    paths = getattr(events_utils.EventTemplateParser, "DEFAULT_EVENT_INPUT_PATHS_MAP", {})
    _require(
        isinstance(template, str)
        and "<detail>" in template
        and paths.get("account") == "$.account",
        "eventbridge-account",
        "EventTemplateParser's default input template and paths are not the ones it corrects",
    )
    _require(
        _parameters(_authorize_sqs_action) == ["self", "resource"]
        and callable(getattr(SQSResponse, "_get_action", None))
        and callable(getattr(SQSBackend, "get_queue", None))
        and isinstance(Queue.__dict__.get("policy"), property)
        and "_policy_json" in inspect.getsource(Queue.policy.fset),
        "sqs-queue-policy-deny",
        "SQSResponse._authenticate_and_authorize_normal_action(self, resource), or the queue's"
        " _policy_json it reads, not found",
    )
    DomainDispatcherApplication.__call__ = _serialized_dispatch
    events_utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _EVENT_INPUT_TEMPLATE
    SQSResponse._authenticate_and_authorize_normal_action = _authorize_with_queue_policy
    return ["dynamodb-request-lock", "eventbridge-account", "sqs-queue-policy-deny"]
