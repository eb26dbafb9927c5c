"""Write the listeners of an eventdriven workflow as plain functions of the incoming event.

A listener is a Lambda function behind an EventBridge rule. Its event's ``detail`` is the
workflow's envelope (task token, execution, state, input and the run's hops); the listener
answers its task by putting an event on the workflow's bus. This module does the envelope and
the answering, so a handler only says what the answer is::

    from eventdriven_listener import listener, finish, forward, TaskFailed

    @listener
    def handler(event):
        order = event.input["order"]
        if not order["items"]:
            raise TaskFailed("EmptyOrder", f"order {order['id']} has no items")
        return finish({"lines": len(order["items"])})

The decorated function is the Lambda handler (``app.handler``). What it may return:

- ``finish(result)``: completes the task with ``result`` (``task.finished``);
- ``forward(detail_type, input)``: puts a new event carrying the task token on, for another
  listener to answer; ``detail_type`` must be one of the listener's ``emits``;
- ``fail(error, cause)``: fails the task (``task.failed``);
- ``None``: answers nothing (a later listener answers).

An exception fails the task with the exception's type name as the error and its message as the
cause; ``TaskFailed(error, cause)`` names the error itself.

A side-effect listener's events carry no task token: there the handler's return value is the
function's response (``finish(result)`` responds ``result``), exceptions propagate (a
``TaskFailed``, or a returned ``fail``, as an exception whose type is named after the error), and
no task answer is ever put; it may still ``forward`` one of its ``emits``, without a token.

Only the standard library and boto3 (which the Lambda Python runtime includes) are used, and
boto3 only once an answer is put. The EventBridge client is made once per process and honours
``AWS_ENDPOINT_URL_EVENTBRIDGE``; tests inject their own with ``set_client``.
"""

from __future__ import annotations

import datetime as _datetime
import decimal as _decimal
import functools
import json
import logging
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = [
    "listener",
    "finish",
    "forward",
    "fail",
    "Answer",
    "ListenerEvent",
    "TaskFailed",
    "AnswerNotPut",
    "set_client",
    "TASK_FINISHED",
    "TASK_FAILED",
    "LISTENER_ERROR",
    "ANSWER_TOO_LARGE",
    "PUT_EVENTS_FAILED",
    "MAX_EVENT_BYTES",
    "MAX_ERROR_BYTES",
    "MAX_CAUSE_BYTES",
]

#: The detail type of the answer that completes a task.
TASK_FINISHED = "task.finished"
#: The detail type of the answer that fails a task, with ``error`` and ``cause``.
TASK_FAILED = "task.failed"
#: The error of a task whose listener forwarded a detail type it may not emit.
LISTENER_ERROR = "ListenerError"
#: The error of a task whose answer was over EventBridge's event size limit.
ANSWER_TOO_LARGE = "eventdriven.AnswerTooLarge"
#: The error of a task whose answer EventBridge did not take.
PUT_EVENTS_FAILED = "eventdriven.PutEventsFailed"

#: EventBridge's limit on one event entry: Source, DetailType and Detail in UTF-8.
MAX_EVENT_BYTES = 256 * 1024
#: Step Functions' limits on a task failure's error and cause, in UTF-8 bytes.
MAX_ERROR_BYTES = 256
MAX_CAUSE_BYTES = 32768

# The environment every listener function runs with.
ENV_EVENT_BUS = "EVENT_BUS"
ENV_EVENT_SOURCE = "EVENT_SOURCE"
ENV_EMITS = "EMITS"
ENV_BUCKET = "BUCKET"
ENV_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"

logger = logging.getLogger("eventdriven_listener")

_client = None


def set_client(client: Any) -> None:
    """Uses ``client`` (anything with boto3's ``put_events``) for every answer from now on;
    ``None`` makes a boto3 client again on the next answer."""
    global _client
    _client = client


def _events_client() -> Any:
    global _client
    if _client is None:
        import boto3  # the Lambda runtime's; imported only when an answer is put

        # boto3 reads AWS_ENDPOINT_URL_EVENTBRIDGE itself; passing it on also serves the older
        # boto3 releases that did not.
        endpoint = os.environ.get("AWS_ENDPOINT_URL_EVENTBRIDGE") or None
        _client = boto3.client("events", endpoint_url=endpoint)
    return _client


def _now() -> _datetime.datetime:
    return _datetime.datetime.now(_datetime.timezone.utc)


def _timestamp() -> str:
    """Now, in RFC 3339 UTC with milliseconds: ``2026-12-07T03:10:00.123Z``."""
    now = _now().astimezone(_datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _truncate(text: str, max_bytes: int) -> str:
    """Cuts ``text`` to at most ``max_bytes`` UTF-8 bytes, on a character boundary."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


class TaskFailed(Exception):
    """Raised by a handler to fail its task with an error name of its own."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(cause or error)
        self.error = error
        self.cause = cause


def _named(error: str, cause: str) -> TaskFailed:
    """A ``TaskFailed`` whose type is named ``error``: the Lambda runtime reports an invocation's
    error by its exception's type name, so a side effect's failure keeps the name it was given."""
    error = error or LISTENER_ERROR
    return type(error, (TaskFailed,), {"__module__": __name__})(error, cause)


class AnswerNotPut(Exception):
    """Neither the answer nor the failure put in its place reached the bus. The invocation
    fails with it, and the platform fails the task through the function's failure destination."""


class Answer:
    """What a task listener's handler returns: ``finish``, ``forward`` or ``fail`` make one."""

    __slots__ = ("kind", "detail_type", "value", "error", "cause")

    def __init__(
        self,
        kind: str,
        detail_type: str,
        value: Any = None,
        error: Optional[str] = None,
        cause: Optional[str] = None,
    ) -> None:
        self.kind = kind
        self.detail_type = detail_type
        self.value = value
        self.error = error
        self.cause = cause

    def __repr__(self) -> str:
        if self.kind == "fail":
            return f"fail({self.error!r}, {self.cause!r})"
        if self.kind == "forward":
            return f"forward({self.detail_type!r}, {self.value!r})"
        return f"finish({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Answer) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__
        )


def finish(result: Any = None) -> Answer:
    """Completes the task: ``result`` lands at the task's ``result_path``."""
    return Answer("finish", TASK_FINISHED, value=result)


def forward(detail_type: str, input: Any) -> Answer:  # noqa: A002 - the envelope's name
    """Puts an event of ``detail_type`` (one of the listener's ``emits``) with ``input``, carrying
    the task token on: the listener of that detail type answers the task."""
    return Answer("forward", detail_type, value=input)


def fail(error: str, cause: str = "") -> Answer:
    """Fails the task with ``error`` (at most 256 bytes) and ``cause`` (at most 32768 bytes)."""
    return Answer("fail", TASK_FAILED, error=error, cause=cause)


class _Settings:
    """The listener function's environment."""

    def __init__(self, environ: Dict[str, str]) -> None:
        self.bus = environ.get(ENV_EVENT_BUS, "")
        self.source = environ.get(ENV_EVENT_SOURCE, "")
        self.function = environ.get(ENV_FUNCTION_NAME) or "listener"
        self.emits: List[str] = [e.strip() for e in environ.get(ENV_EMITS, "").split(",") if e.strip()]
        self.bucket: Optional[str] = environ.get(ENV_BUCKET) or None

    def require_bus(self) -> None:
        missing = [name for name, value in ((ENV_EVENT_BUS, self.bus), (ENV_EVENT_SOURCE, self.source)) if not value]
        if missing:
            raise AnswerNotPut(f"the listener needs {' and '.join(missing)} in its environment to answer its task")


class ListenerEvent:
    """The incoming event, as the handler sees it."""

    def __init__(self, event: Dict[str, Any], settings: _Settings, context: Any = None) -> None:
        detail = event.get("detail")
        if not isinstance(detail, dict) or not isinstance(detail.get("executionId"), str):
            raise ValueError(f"the event is not a workflow event (its detail has no executionId): {event!r:.1000}")
        #: The envelope (the event's detail) as received.
        self.envelope: Dict[str, Any] = detail
        #: The whole EventBridge event.
        self.event = event
        #: The Lambda context object.
        self.context = context
        #: The incoming event's detail type.
        self.detail_type: str = event.get("detail-type", "")
        #: The workflow's bucket, or None when it has none.
        self.bucket: Optional[str] = settings.bucket
        #: The detail types this listener may forward.
        self.emits: List[str] = list(settings.emits)

    @property
    def input(self) -> Any:
        """The task's input, or what the previous listener forwarded."""
        return self.envelope.get("input")

    @property
    def execution_id(self) -> str:
        """The execution's ARN."""
        return self.envelope["executionId"]

    @property
    def run_name(self) -> str:
        """The execution's name: the last part of its ARN, unique within the state machine."""
        return self.execution_id.rsplit(":", 1)[-1]

    @property
    def state(self) -> str:
        """The task (state name) the event belongs to."""
        return self.envelope.get("state", "")

    @property
    def task_token(self) -> Optional[str]:
        return self.envelope.get("taskToken")

    @property
    def is_side_effect(self) -> bool:
        """A side effect's event carries no task token: it cannot answer the task."""
        return not self.envelope.get("taskToken")

    @property
    def meta(self) -> List[Dict[str, Any]]:
        """The run's hops so far; the last one is this event's."""
        return list(self.envelope.get("meta") or [])

    def __repr__(self) -> str:
        return f"ListenerEvent(detail_type={self.detail_type!r}, state={self.state!r}, run_name={self.run_name!r})"


def _json_default(value: Any) -> Any:
    if isinstance(value, _decimal.Decimal):  # what boto3 reads DynamoDB numbers as
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (_datetime.datetime, _datetime.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _envelope_for(received: Dict[str, Any], **fields: Any) -> Dict[str, Any]:
    """The received envelope without its answer fields, then with ``fields`` set."""
    envelope = {k: v for k, v in received.items() if k not in ("result", "error", "cause")}
    envelope.update(fields)
    return envelope


def _failure(received: Dict[str, Any], error: str, cause: str) -> Dict[str, Any]:
    return _envelope_for(
        received,
        error=_truncate(str(error), MAX_ERROR_BYTES),
        cause=_truncate(str(cause), MAX_CAUSE_BYTES),
    )


def _entry(envelope: Dict[str, Any], detail_type: str, settings: _Settings) -> Dict[str, str]:
    """The PutEvents entry of an answer, with this listener's hop added to the trail."""
    hop = {"source": settings.source, "detailType": detail_type, "function": settings.function, "time": _timestamp()}
    detail = dict(envelope, meta=list(envelope.get("meta") or []) + [hop])
    return {
        "EventBusName": settings.bus,
        "Source": settings.source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":"), default=_json_default),
    }


def _entry_size(entry: Dict[str, str]) -> int:
    return sum(len(entry[key].encode("utf-8", "replace")) for key in ("Source", "DetailType", "Detail"))


def _put_entry(entry: Dict[str, str]) -> None:
    response = _events_client().put_events(Entries=[entry])
    if response.get("FailedEntryCount", 0):
        first = (response.get("Entries") or [{}])[0]
        code = first.get("ErrorCode", "unknown")
        message = first.get("ErrorMessage", "no message")
        raise AnswerNotPut(f"EventBridge refused the {entry['DetailType']} event: {code}: {message}")


def _try_put(envelope: Dict[str, Any], detail_type: str, settings: _Settings) -> Optional[Tuple[str, str]]:
    """Puts one event; returns the error and cause of a failed task when it could not."""
    try:
        entry = _entry(envelope, detail_type, settings)
    except (TypeError, ValueError) as e:  # a result JSON cannot hold
        return type(e).__name__, f"the {detail_type} event is not JSON: {e}"
    size = _entry_size(entry)
    if size > MAX_EVENT_BYTES:
        return ANSWER_TOO_LARGE, (
            f"the {detail_type} event is {size} bytes, over EventBridge's limit of {MAX_EVENT_BYTES} bytes "
            "per event (Source, DetailType and Detail): pass large results by reference, e.g. in the bucket"
        )
    try:
        _put_entry(entry)
    except Exception as e:  # noqa: BLE001 - any failure to put is answered the same way
        reason = str(e) if isinstance(e, AnswerNotPut) else f"{type(e).__name__}: {e}"
        cause = f"putting the {detail_type} event on {settings.bus}: {reason}"
        logger.error("%s", cause)
        return PUT_EVENTS_FAILED, cause
    return None


def _answer(received: Dict[str, Any], detail_type: str, envelope: Dict[str, Any], settings: _Settings) -> str:
    """Puts a task's answer; when it cannot be put, puts one failure in its place. Returns the
    detail type put; raises ``AnswerNotPut`` when neither reached the bus."""
    settings.require_bus()
    failure = _try_put(envelope, detail_type, settings)
    if failure is None:
        return detail_type
    error, cause = failure
    again = _try_put(_failure(received, error, cause), TASK_FAILED, settings)
    if again is not None:
        raise AnswerNotPut(f"{cause}; then, in its place, {again[1]}")
    return TASK_FAILED


def _side_effect(handle: Callable[[ListenerEvent], Any], incoming: ListenerEvent, settings: _Settings) -> Any:
    """Runs a side effect: what it returns is the function's response, what it raises propagates,
    and it answers no task. It may forward one of its ``emits`` (without a token)."""
    try:
        returned = handle(incoming)
    except TaskFailed as e:
        raise _named(e.error, e.cause) from e
    if not isinstance(returned, Answer):
        return returned
    if returned.kind == "finish":
        return returned.value
    if returned.kind == "fail":
        raise _named(returned.error or LISTENER_ERROR, returned.cause or "")
    if returned.detail_type not in settings.emits:
        raise _named(LISTENER_ERROR, _refusal(settings, returned.detail_type))
    settings.require_bus()
    failure = _try_put(_envelope_for(incoming.envelope, input=returned.value), returned.detail_type, settings)
    if failure is not None:
        raise _named(*failure)
    return {"put": returned.detail_type}


def _refusal(settings: _Settings, detail_type: str) -> str:
    return f"{settings.function} may not emit {json.dumps(detail_type)}; its emits are {json.dumps(settings.emits)}"


def handle_event(
    handle: Callable[[ListenerEvent], Any],
    event: Dict[str, Any],
    context: Any = None,
    environ: Optional[Dict[str, str]] = None,
) -> Any:
    """Runs ``handle`` on one EventBridge event and answers its task: what ``listener`` wraps.
    Returns ``{"put": <detail type put, or None>}`` for a task, the handler's response for a
    side effect."""
    settings = _Settings(os.environ if environ is None else environ)
    incoming = ListenerEvent(event, settings, context)
    if incoming.is_side_effect:
        return _side_effect(handle, incoming, settings)
    received = incoming.envelope
    try:
        answer = handle(incoming)
    except TaskFailed as e:
        answer = fail(e.error, e.cause)
    except Exception as e:  # noqa: BLE001 - every error of the handler answers the task
        logger.exception("the handler of %s failed", incoming.detail_type)
        answer = fail(type(e).__name__, str(e))
    if answer is None:
        return {"put": None}
    if not isinstance(answer, Answer):
        answer = fail(
            "TypeError",
            f"a task listener returns finish(...), forward(...), fail(...) or None, not {type(answer).__name__}",
        )
    if answer.kind == "finish":
        put = _answer(received, TASK_FINISHED, _envelope_for(received, result=answer.value), settings)
    elif answer.kind == "forward" and answer.detail_type in settings.emits:
        put = _answer(received, answer.detail_type, _envelope_for(received, input=answer.value), settings)
    elif answer.kind == "forward":
        refused = _failure(received, LISTENER_ERROR, _refusal(settings, answer.detail_type))
        put = _answer(received, TASK_FAILED, refused, settings)
    else:
        failed = _failure(received, answer.error or LISTENER_ERROR, answer.cause or "")
        put = _answer(received, TASK_FAILED, failed, settings)
    return {"put": put}


def listener(handle: Callable[[ListenerEvent], Any]) -> Callable[[Dict[str, Any], Any], Any]:
    """Makes ``handle(event)`` a Lambda handler ``(event, context)`` that answers its task."""

    @functools.wraps(handle)
    def handler(event: Dict[str, Any], context: Any = None) -> Any:
        return handle_event(handle, event, context)

    return handler
