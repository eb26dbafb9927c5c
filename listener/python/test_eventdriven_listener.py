"""Tests of the Python listener helper, on a fake EventBridge client (boto3 is never imported).

Run from this directory: python3 -m unittest
"""

import datetime
import json
import os
import re
import sys
import unittest
from unittest import mock

import eventdriven_listener as el
from eventdriven_listener import TaskFailed, fail, finish, forward, listener

ENV = {
    "EVENT_BUS": "orders-bus",
    "EVENT_SOURCE": "polyglot",
    "EMITS": "order.priced,order.audited",
    "BUCKET": "eventdriven-polyglot-123456789012",
    "AWS_LAMBDA_FUNCTION_NAME": "eventdriven-polyglot-enrich",
}
MS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class FakeClient:
    """Records every PutEvents call; fails the calls whose number is in ``failing``."""

    def __init__(self, failing=(), refusing=()):
        self.calls = []
        self.failing = set(failing)
        self.refusing = set(refusing)

    def put_events(self, Entries):
        self.calls.append(Entries)
        number = len(self.calls)
        if number in self.failing:
            raise ConnectionError("endpoint unreachable")
        if number in self.refusing:
            return {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            }
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"id-{number}"}]}

    def details(self):
        return [json.loads(entries[0]["Detail"]) for entries in self.calls]


def event(token="token-1", input=None, detail_type="order.enrich"):
    detail = {
        "executionId": "arn:aws:states:eu-west-1:123456789012:execution:eventdriven-polyglot:run-7",
        "state": "Enrich",
        "input": {"order": {"id": "o-1"}} if input is None else input,
        "meta": [
            {
                "source": "polyglot",
                "detailType": detail_type,
                "function": "eventdriven-polyglot",
                "time": "2026-12-07T03:10:00.123Z",
            }
        ],
    }
    if token is not None:
        detail = {"taskToken": token, **detail}
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "polyglot",
        "account": "123456789012",
        "time": "2026-12-07T03:10:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


class ListenerTest(unittest.TestCase):
    def setUp(self):
        # The fake is in place before any answer, so no boto3 client is ever made.
        self.client = FakeClient()
        el.set_client(self.client)
        patcher = mock.patch.dict(os.environ, ENV)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.addCleanup(el.set_client, None)

    def only_put(self):
        self.assertEqual(len(self.client.calls), 1)
        self.assertEqual(len(self.client.calls[0]), 1)
        return self.client.calls[0][0], self.client.details()[0]

    def test_finish_puts_task_finished_with_the_token_and_the_result(self):
        seen = {}

        @listener
        def handler(e):
            seen.update(
                input=e.input, execution_id=e.execution_id, run_name=e.run_name, state=e.state,
                detail_type=e.detail_type, bucket=e.bucket, side_effect=e.is_side_effect,
                token=e.envelope["taskToken"],
            )
            return finish({"lines": 2})

        self.assertEqual(handler(event(), None), {"put": "task.finished"})
        self.assertEqual(
            seen,
            {
                "input": {"order": {"id": "o-1"}},
                "execution_id": "arn:aws:states:eu-west-1:123456789012:execution:eventdriven-polyglot:run-7",
                "run_name": "run-7",
                "state": "Enrich",
                "detail_type": "order.enrich",
                "bucket": "eventdriven-polyglot-123456789012",
                "side_effect": False,
                "token": "token-1",
            },
        )
        entry, detail = self.only_put()
        self.assertEqual(
            {k: entry[k] for k in ("EventBusName", "Source", "DetailType")},
            {"EventBusName": "orders-bus", "Source": "polyglot", "DetailType": "task.finished"},
        )
        self.assertEqual(detail["taskToken"], "token-1")
        self.assertEqual(detail["executionId"], event()["detail"]["executionId"])
        self.assertEqual(detail["state"], "Enrich")
        self.assertEqual(detail["result"], {"lines": 2})
        self.assertNotIn("error", detail)

    def test_each_answer_appends_the_listeners_hop_with_a_millisecond_time(self):
        fixed = datetime.datetime(2026, 12, 7, 3, 10, 5, 987654, tzinfo=datetime.timezone.utc)
        with mock.patch.object(el, "_now", return_value=fixed):
            listener(lambda e: finish(1))(event(), None)
        _, detail = self.only_put()
        self.assertEqual(len(detail["meta"]), 2)
        self.assertEqual(detail["meta"][0], event()["detail"]["meta"][0])
        self.assertEqual(
            detail["meta"][1],
            {
                "source": "polyglot",
                "detailType": "task.finished",
                "function": "eventdriven-polyglot-enrich",
                "time": "2026-12-07T03:10:05.987Z",
            },
        )
        # And with the real clock.
        listener(lambda e: finish(1))(event(), None)
        self.assertRegex(self.client.details()[1]["meta"][1]["time"], MS_TIME)

    def test_forward_to_an_emitted_detail_type_carries_the_token_and_the_new_input(self):
        handler = listener(lambda e: forward("order.priced", {"subtotal": 7.0}))
        self.assertEqual(handler(event(), None), {"put": "order.priced"})
        entry, detail = self.only_put()
        self.assertEqual(entry["DetailType"], "order.priced")
        self.assertEqual(detail["taskToken"], "token-1")
        self.assertEqual(detail["state"], "Enrich")
        self.assertEqual(detail["input"], {"subtotal": 7.0})
        self.assertEqual(detail["meta"][-1]["detailType"], "order.priced")
        self.assertNotIn("result", detail)

    def test_forward_to_a_detail_type_not_emitted_fails_the_task(self):
        handler = listener(lambda e: forward("order.shipped", {}))
        self.assertEqual(handler(event(), None), {"put": "task.failed"})
        entry, detail = self.only_put()
        self.assertEqual(entry["DetailType"], "task.failed")
        self.assertEqual(detail["error"], "ListenerError")
        self.assertEqual(
            detail["cause"],
            'eventdriven-polyglot-enrich may not emit "order.shipped"; '
            'its emits are ["order.priced", "order.audited"]',
        )
        self.assertEqual(detail["input"], {"order": {"id": "o-1"}})

    def test_forward_with_no_emits_fails_the_task(self):
        with mock.patch.dict(os.environ, {"EMITS": ""}):
            listener(lambda e: forward("order.priced", {}))(event(), None)
        _, detail = self.only_put()
        self.assertEqual(detail["error"], "ListenerError")
        self.assertTrue(detail["cause"].endswith("its emits are []"))

    def test_an_exception_fails_the_task_with_its_type_name_and_message(self):
        @listener
        def handler(e):
            raise ValueError("no such order")

        with self.assertLogs("eventdriven_listener", "ERROR"):
            self.assertEqual(handler(event(), None), {"put": "task.failed"})
        entry, detail = self.only_put()
        self.assertEqual(entry["DetailType"], "task.failed")
        self.assertEqual((detail["error"], detail["cause"]), ("ValueError", "no such order"))
        self.assertEqual(detail["taskToken"], "token-1")
        self.assertEqual(detail["meta"][-1]["detailType"], "task.failed")

    def test_task_failed_names_its_error_and_long_fields_are_cut_on_a_character_boundary(self):
        @listener
        def handler(e):
            raise TaskFailed("EmptyOrder", "order o-1 has no items")

        handler(event(), None)
        _, detail = self.only_put()
        self.assertEqual((detail["error"], detail["cause"]), ("EmptyOrder", "order o-1 has no items"))

        handler = listener(lambda e: fail("E" * 300, "é" * 20000))
        handler(event(), None)
        detail = self.client.details()[1]
        self.assertEqual(detail["error"], "E" * 256)
        self.assertEqual(len(detail["cause"].encode()), 32768)
        self.assertEqual(detail["cause"], "é" * 16384)
        handler = listener(lambda e: fail("Odd", "a" + "é" * 20000))
        handler(event(), None)
        cause = self.client.details()[2]["cause"]
        self.assertEqual(len(cause.encode()), 32767)  # the last 'é' would straddle the limit

    def test_returning_none_answers_nothing(self):
        self.assertEqual(listener(lambda e: None)(event(), None), {"put": None})
        self.assertEqual(self.client.calls, [])

    def test_returning_something_else_fails_the_task(self):
        listener(lambda e: {"total": 3})(event(), None)
        _, detail = self.only_put()
        self.assertEqual(detail["error"], "TypeError")
        self.assertIn("finish(...)", detail["cause"])

    def test_an_answer_over_256_kib_fails_the_task_instead(self):
        handler = listener(lambda e: finish("x" * (300 * 1024)))
        self.assertEqual(handler(event(), None), {"put": "task.failed"})
        entry, detail = self.only_put()
        self.assertEqual(entry["DetailType"], "task.failed")
        self.assertEqual(detail["error"], "eventdriven.AnswerTooLarge")
        self.assertIn("262144", detail["cause"])
        size = int(re.search(r"is (\d+) bytes", detail["cause"]).group(1))
        self.assertGreater(size, 300 * 1024)
        self.assertNotIn("result", detail)

    def test_the_limit_counts_source_detail_type_and_detail_in_utf8(self):
        # An answer exactly at the limit goes; one byte more does not.
        probe = el._entry(el._envelope_for(event()["detail"], result=""), "task.finished", el._Settings(ENV))
        room = el.MAX_EVENT_BYTES - el._entry_size(probe)
        listener(lambda e: finish("x" * room))(event(), None)
        self.assertEqual(self.client.calls[0][0]["DetailType"], "task.finished")
        self.assertEqual(el._entry_size(self.client.calls[0][0]), el.MAX_EVENT_BYTES)
        listener(lambda e: finish("x" * (room - 2) + "é"))(event(), None)  # 'é' is two bytes
        self.assertEqual(self.client.calls[1][0]["DetailType"], "task.finished")
        listener(lambda e: finish("x" * (room - 1) + "é"))(event(), None)
        self.assertEqual(self.client.calls[2][0]["DetailType"], "task.failed")

    def test_a_put_events_exception_answers_put_events_failed(self):
        self.client.failing = {1}
        with self.assertLogs("eventdriven_listener", "ERROR"):
            self.assertEqual(listener(lambda e: finish(1))(event(), None), {"put": "task.failed"})
        self.assertEqual(len(self.client.calls), 2)
        self.assertEqual(self.client.calls[0][0]["DetailType"], "task.finished")
        entry = self.client.calls[1][0]
        detail = self.client.details()[1]
        self.assertEqual(entry["DetailType"], "task.failed")
        self.assertEqual(detail["error"], "eventdriven.PutEventsFailed")
        self.assertIn("endpoint unreachable", detail["cause"])
        self.assertEqual(detail["taskToken"], "token-1")

    def test_a_refused_entry_answers_put_events_failed(self):
        self.client.refusing = {1}
        with self.assertLogs("eventdriven_listener", "ERROR"):
            listener(lambda e: forward("order.priced", {}))(event(), None)
        detail = self.client.details()[1]
        self.assertEqual(detail["error"], "eventdriven.PutEventsFailed")
        self.assertEqual(
            detail["cause"],
            "putting the order.priced event on orders-bus: "
            "EventBridge refused the order.priced event: InternalFailure: try again",
        )

    def test_a_failure_too_large_is_put_again_as_answer_too_large(self):
        # The input came in an event under the limit; a long cause on top of it does not fit.
        big = {"order": {"id": "o-1", "note": "n" * 240_000}}
        listener(lambda e: fail("Refused", "c" * 30_000))(event(input=big), None)
        _, detail = self.only_put()
        self.assertEqual(detail["error"], "eventdriven.AnswerTooLarge")

    def test_when_the_failure_cannot_be_put_either_the_invocation_raises(self):
        self.client.failing = {1}
        self.client.refusing = {2}
        with self.assertRaises(el.AnswerNotPut) as raised, self.assertLogs("eventdriven_listener", "ERROR"):
            listener(lambda e: finish(1))(event(), None)
        self.assertIn("endpoint unreachable", str(raised.exception))
        self.assertEqual(len(self.client.calls), 2)

    def test_a_side_effect_returns_its_value_and_never_puts(self):
        seen = []

        @listener
        def audit(e):
            seen.append(e.is_side_effect)
            return {"audited": e.input["order"]["id"]}

        self.assertEqual(audit(event(token=None), None), {"audited": "o-1"})
        self.assertEqual(seen, [True])
        self.assertEqual(self.client.calls, [])

    def test_a_side_effects_exception_propagates_and_nothing_is_put(self):
        @listener
        def audit(e):
            raise RuntimeError("audit store down")

        with self.assertRaises(RuntimeError):
            audit(event(token=None), None)
        self.assertEqual(self.client.calls, [])

    def test_a_side_effects_named_failure_raises_an_exception_of_that_name(self):
        @listener
        def audit(e):
            raise TaskFailed("AuditStoreDown", "503 from the store")

        with self.assertRaises(TaskFailed) as raised:
            audit(event(token=None), None)
        self.assertEqual(type(raised.exception).__name__, "AuditStoreDown")
        self.assertEqual((raised.exception.error, raised.exception.cause), ("AuditStoreDown", "503 from the store"))
        self.assertEqual(str(raised.exception), "503 from the store")
        with self.assertRaises(TaskFailed) as raised:
            listener(lambda e: fail("eventdriven.Audit", "x"))(event(token=None), None)
        self.assertEqual(type(raised.exception).__name__, "eventdriven.Audit")
        self.assertEqual(self.client.calls, [])

    def test_a_side_effect_that_finishes_responds_the_result(self):
        self.assertEqual(listener(lambda e: finish({"ok": 1}))(event(token=None), None), {"ok": 1})
        self.assertEqual(self.client.calls, [])

    def test_a_side_effect_may_forward_what_it_emits_without_a_token(self):
        handler = listener(lambda e: forward("order.audited", {"id": "o-1"}))
        self.assertEqual(handler(event(token=None), None), {"put": "order.audited"})
        entry, detail = self.only_put()
        self.assertEqual(entry["DetailType"], "order.audited")
        self.assertNotIn("taskToken", detail)
        self.assertEqual((detail["input"], detail["meta"][-1]["detailType"]), ({"id": "o-1"}, "order.audited"))
        with self.assertRaises(TaskFailed) as raised:
            listener(lambda e: forward("order.shipped", {}))(event(token=None), None)
        self.assertEqual(type(raised.exception).__name__, "ListenerError")
        with self.assertRaises(TaskFailed) as raised:
            listener(lambda e: forward("order.audited", "x" * 300_000))(event(token=None), None)
        self.assertEqual(type(raised.exception).__name__, "eventdriven.AnswerTooLarge")
        self.assertEqual(len(self.client.calls), 1)

    def test_a_side_effect_needs_no_bus_in_its_environment(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            self.assertEqual(listener(lambda e: e.bucket)(event(token=None), None), None)

    def test_an_event_without_an_envelope_is_an_error(self):
        with self.assertRaises(ValueError):
            listener(lambda e: finish(1))({"detail-type": "x", "detail": {}}, None)
        self.assertEqual(self.client.calls, [])

    def test_an_unset_bucket_is_none(self):
        with mock.patch.dict(os.environ, {"BUCKET": ""}):
            self.assertIsNone(listener(lambda e: e.bucket)(event(token=None), None))

    def test_decimals_from_dynamodb_are_json_numbers(self):
        from decimal import Decimal

        listener(lambda e: finish({"qty": Decimal("2"), "price": Decimal("3.5")}))(event(), None)
        self.assertEqual(self.client.details()[0]["result"], {"qty": 2, "price": 3.5})

    def test_a_result_json_cannot_hold_fails_the_task(self):
        listener(lambda e: finish(object()))(event(), None)
        _, detail = self.only_put()
        self.assertEqual(detail["error"], "TypeError")

    def test_boto3_is_not_imported(self):
        listener(lambda e: finish(1))(event(), None)
        self.assertNotIn("boto3", sys.modules)


if __name__ == "__main__":
    unittest.main()
