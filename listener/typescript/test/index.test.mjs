// Tests of the TypeScript listener helper, compiled (dist/), on a fake EventBridge client.
// Run with: npm test (builds, then node --test test/)
import { strict as assert } from "node:assert";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const helper = require("../dist/index.js");
const { listener, finish, forward, fail, TaskFailed, AnswerNotPut, setClient, truncate } = helper;

const ENV = {
  EVENT_BUS: "orders-bus",
  EVENT_SOURCE: "polyglot",
  EMITS: "order.priced,order.audited",
  BUCKET: "eventdriven-polyglot-123456789012",
  AWS_LAMBDA_FUNCTION_NAME: "eventdriven-polyglot-price",
};
const MS_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Records every PutEvents call; throws on the calls numbered in `failing`, refuses those in `refusing`. */
class FakeClient {
  constructor({ failing = [], refusing = [] } = {}) {
    this.calls = [];
    this.failing = new Set(failing);
    this.refusing = new Set(refusing);
  }
  async send(command) {
    this.calls.push(command.input.Entries);
    const number = this.calls.length;
    if (this.failing.has(number)) throw Object.assign(new Error("endpoint unreachable"), { name: "NetworkingError" });
    if (this.refusing.has(number)) {
      return { FailedEntryCount: 1, Entries: [{ ErrorCode: "InternalFailure", ErrorMessage: "try again" }] };
    }
    return { FailedEntryCount: 0, Entries: [{ EventId: `id-${number}` }] };
  }
  entries() {
    return this.calls.map((entries) => entries[0]);
  }
  details() {
    return this.entries().map((entry) => JSON.parse(entry.Detail));
  }
}

const event = ({ token = "token-1", input = { order: { id: "o-1" } }, detailType = "order.price" } = {}) => ({
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": detailType,
  source: "polyglot",
  account: "123456789012",
  time: "2026-12-07T03:10:00Z",
  region: "eu-west-1",
  resources: [],
  detail: {
    ...(token === null ? {} : { taskToken: token }),
    executionId: "arn:aws:states:eu-west-1:123456789012:execution:eventdriven-polyglot:run-7",
    state: "Price",
    input,
    meta: [{ source: "polyglot", detailType, function: "eventdriven-polyglot", time: "2026-12-07T03:10:00.123Z" }],
  },
});

describe("the listener helper", () => {
  let client;
  let saved;

  beforeEach(() => {
    client = new FakeClient();
    setClient(client);
    saved = { ...process.env };
    Object.assign(process.env, ENV);
    mock.method(console, "error", () => {});
  });

  afterEach(() => {
    setClient(undefined);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    mock.restoreAll();
  });

  const onlyPut = () => {
    assert.equal(client.calls.length, 1);
    assert.equal(client.calls[0].length, 1);
    return [client.entries()[0], client.details()[0]];
  };

  it("finishes with the token and the result", async () => {
    let seen;
    const handler = listener(async (e) => {
      seen = {
        input: e.input, executionId: e.executionId, runName: e.runName, state: e.state,
        detailType: e.detailType, bucket: e.bucket, isSideEffect: e.isSideEffect, token: e.envelope.taskToken,
      };
      return finish({ total: 8.4 });
    });
    assert.deepEqual(await handler(event(), {}), { put: "task.finished" });
    assert.deepEqual(seen, {
      input: { order: { id: "o-1" } },
      executionId: "arn:aws:states:eu-west-1:123456789012:execution:eventdriven-polyglot:run-7",
      runName: "run-7",
      state: "Price",
      detailType: "order.price",
      bucket: "eventdriven-polyglot-123456789012",
      isSideEffect: false,
      token: "token-1",
    });
    const [entry, detail] = onlyPut();
    assert.deepEqual(
      { EventBusName: entry.EventBusName, Source: entry.Source, DetailType: entry.DetailType },
      { EventBusName: "orders-bus", Source: "polyglot", DetailType: "task.finished" },
    );
    assert.equal(detail.taskToken, "token-1");
    assert.equal(detail.executionId, event().detail.executionId);
    assert.equal(detail.state, "Price");
    assert.deepEqual(detail.result, { total: 8.4 });
    assert.equal("error" in detail, false);
  });

  it("appends the listener's hop with a millisecond time", async () => {
    mock.timers.enable({ apis: ["Date"], now: Date.parse("2026-12-07T03:10:05.987Z") });
    try {
      await listener(() => finish(1))(event(), {});
    } finally {
      mock.timers.reset();
    }
    const [, detail] = onlyPut();
    assert.equal(detail.meta.length, 2);
    assert.deepEqual(detail.meta[0], event().detail.meta[0]);
    assert.deepEqual(detail.meta[1], {
      source: "polyglot",
      detailType: "task.finished",
      function: "eventdriven-polyglot-price",
      time: "2026-12-07T03:10:05.987Z",
    });
    await listener(() => finish(1))(event(), {});
    assert.match(client.details()[1].meta[1].time, MS_TIME);
  });

  it("forwards to an emitted detail type with the token and the new input", async () => {
    assert.deepEqual(await listener(() => forward("order.priced", { subtotal: 7 }))(event(), {}), {
      put: "order.priced",
    });
    const [entry, detail] = onlyPut();
    assert.equal(entry.DetailType, "order.priced");
    assert.equal(detail.taskToken, "token-1");
    assert.equal(detail.state, "Price");
    assert.deepEqual(detail.input, { subtotal: 7 });
    assert.equal(detail.meta.at(-1).detailType, "order.priced");
  });

  it("fails the task when forwarding what it may not emit", async () => {
    assert.deepEqual(await listener(() => forward("order.shipped", {}))(event(), {}), { put: "task.failed" });
    const [entry, detail] = onlyPut();
    assert.equal(entry.DetailType, "task.failed");
    assert.equal(detail.error, "ListenerError");
    assert.equal(
      detail.cause,
      'eventdriven-polyglot-price may not emit "order.shipped"; its emits are ["order.priced", "order.audited"]',
    );
    assert.deepEqual(detail.input, { order: { id: "o-1" } });
  });

  it("fails the task with a thrown error's name and message", async () => {
    const handler = listener(() => {
      throw new TypeError("price is not a number");
    });
    assert.deepEqual(await handler(event(), {}), { put: "task.failed" });
    const [entry, detail] = onlyPut();
    assert.equal(entry.DetailType, "task.failed");
    assert.deepEqual([detail.error, detail.cause], ["TypeError", "price is not a number"]);
    assert.equal(detail.taskToken, "token-1");
    assert.equal(detail.meta.at(-1).detailType, "task.failed");
  });

  it("fails the task with a rejected promise's error, and with a thrown non-error", async () => {
    await listener(async () => Promise.reject(new RangeError("too far")))(event(), {});
    await listener(() => {
      throw "plain";
    })(event(), {});
    const [first, second] = client.details();
    assert.deepEqual([first.error, first.cause], ["RangeError", "too far"]);
    assert.deepEqual([second.error, second.cause], ["Error", "plain"]);
  });

  it("fails the task with the name TaskFailed gives, cutting long fields on a character boundary", async () => {
    await listener(() => {
      throw new TaskFailed("EmptyOrder", "order o-1 has no items");
    })(event(), {});
    await listener(() => fail("E".repeat(300), "é".repeat(20000)))(event(), {});
    await listener(() => fail("Odd", "a" + "é".repeat(20000)))(event(), {});
    const [named, long, odd] = client.details();
    assert.deepEqual([named.error, named.cause], ["EmptyOrder", "order o-1 has no items"]);
    assert.equal(long.error, "E".repeat(256));
    assert.equal(long.cause, "é".repeat(16384));
    assert.equal(Buffer.byteLength(odd.cause), 32767);
    assert.equal(truncate("héllo", 2), "h");
    assert.equal(truncate("héllo", 3), "hé");
    const failed = new TaskFailed("EmptyOrder", "no items");
    assert.equal(failed instanceof Error, true);
    assert.equal(failed.name, "EmptyOrder");
  });

  it("answers nothing when the handler returns nothing", async () => {
    assert.deepEqual(await listener(() => undefined)(event(), {}), { put: null });
    assert.deepEqual(await listener(async () => {})(event(), {}), { put: null });
    assert.equal(client.calls.length, 0);
  });

  it("fails the task when the handler returns something other than an answer", async () => {
    await listener(() => ({ total: 3 }))(event(), {});
    const [, detail] = onlyPut();
    assert.equal(detail.error, "TypeError");
    assert.match(detail.cause, /finish\(\.\.\.\)/);
  });

  it("fails the task instead of putting an answer over 256 KiB", async () => {
    assert.deepEqual(await listener(() => finish("x".repeat(300 * 1024)))(event(), {}), { put: "task.failed" });
    const [entry, detail] = onlyPut();
    assert.equal(entry.DetailType, "task.failed");
    assert.equal(detail.error, "eventdriven.AnswerTooLarge");
    assert.match(detail.cause, /262144/);
    assert.ok(Number(/is (\d+) bytes/.exec(detail.cause)[1]) > 300 * 1024);
    assert.equal("result" in detail, false);
  });

  it("counts Source, DetailType and Detail in UTF-8 against the limit", async () => {
    await listener(() => finish(""))(event(), {});
    const probe = client.entries()[0];
    const room =
      262144 -
      Buffer.byteLength(probe.Source) -
      Buffer.byteLength(probe.DetailType) -
      Buffer.byteLength(probe.Detail);
    await listener(() => finish("x".repeat(room)))(event(), {});
    await listener(() => finish("x".repeat(room - 2) + "é"))(event(), {});
    await listener(() => finish("x".repeat(room - 1) + "é"))(event(), {});
    const types = client.entries().map((e) => e.DetailType);
    assert.deepEqual(types, ["task.finished", "task.finished", "task.finished", "task.failed"]);
  });

  it("answers eventdriven.PutEventsFailed when PutEvents throws", async () => {
    client.failing.add(1);
    assert.deepEqual(await listener(() => finish(1))(event(), {}), { put: "task.failed" });
    assert.equal(client.calls.length, 2);
    const [first, second] = client.entries();
    assert.equal(first.DetailType, "task.finished");
    assert.equal(second.DetailType, "task.failed");
    const detail = client.details()[1];
    assert.equal(detail.error, "eventdriven.PutEventsFailed");
    assert.equal(detail.cause, "putting the task.finished event on orders-bus: NetworkingError: endpoint unreachable");
    assert.equal(detail.taskToken, "token-1");
  });

  it("answers eventdriven.PutEventsFailed when PutEvents refuses the entry", async () => {
    client.refusing.add(1);
    await listener(() => forward("order.priced", {}))(event(), {});
    const detail = client.details()[1];
    assert.equal(detail.error, "eventdriven.PutEventsFailed");
    assert.equal(
      detail.cause,
      "putting the order.priced event on orders-bus: EventBridge refused the order.priced event: InternalFailure: try again",
    );
  });

  it("throws when the failure cannot be put either", async () => {
    client.failing.add(1);
    client.refusing.add(2);
    await assert.rejects(listener(() => finish(1))(event(), {}), (e) => {
      assert.ok(e instanceof AnswerNotPut);
      assert.match(e.message, /endpoint unreachable/);
      return true;
    });
    assert.equal(client.calls.length, 2);
  });

  it("returns a side effect's value and never puts", async () => {
    const seen = [];
    const audit = listener(async (e) => {
      seen.push(e.isSideEffect);
      return { audited: e.input.order.id };
    });
    assert.deepEqual(await audit(event({ token: null }), {}), { audited: "o-1" });
    assert.deepEqual(seen, [true]);
    assert.equal(client.calls.length, 0);
  });

  it("lets a side effect's errors propagate and puts nothing", async () => {
    await assert.rejects(
      listener(() => {
        throw new Error("audit store down");
      })(event({ token: null }), {}),
      /audit store down/,
    );
    await assert.rejects(
      listener(async () => {
        throw new TaskFailed("AuditFailed", "x");
      })(event({ token: null }), {}),
      TaskFailed,
    );
    await assert.rejects(listener(() => fail("AuditStoreDown", "503"))(event({ token: null }), {}), (e) => {
      assert.ok(e instanceof TaskFailed);
      assert.deepEqual([e.name, e.message, e.error, e.cause], ["AuditStoreDown", "503", "AuditStoreDown", "503"]);
      return true;
    });
    assert.equal(client.calls.length, 0);
  });

  it("responds a side effect's finish with its result", async () => {
    assert.deepEqual(await listener(() => finish({ ok: 1 }))(event({ token: null }), {}), { ok: 1 });
    assert.equal(client.calls.length, 0);
  });

  it("lets a side effect forward what it emits, without a token", async () => {
    const audited = await listener(() => forward("order.audited", { id: "o-1" }))(event({ token: null }), {});
    assert.deepEqual(audited, { put: "order.audited" });
    const [entry, detail] = onlyPut();
    assert.equal(entry.DetailType, "order.audited");
    assert.equal("taskToken" in detail, false);
    assert.deepEqual([detail.input, detail.meta.at(-1).detailType], [{ id: "o-1" }, "order.audited"]);
    await assert.rejects(listener(() => forward("order.shipped", {}))(event({ token: null }), {}), {
      name: "ListenerError",
    });
    await assert.rejects(listener(() => forward("order.audited", "x".repeat(300000)))(event({ token: null }), {}), {
      name: "eventdriven.AnswerTooLarge",
    });
    assert.equal(client.calls.length, 1);
  });

  it("puts a failure too large again as eventdriven.AnswerTooLarge", async () => {
    const big = { order: { id: "o-1", note: "n".repeat(240000) } };
    await listener(() => fail("Refused", "c".repeat(30000)))(event({ input: big }), {});
    const [, detail] = onlyPut();
    assert.equal(detail.error, "eventdriven.AnswerTooLarge");
  });

  it("runs a side effect without a bus in its environment", async () => {
    delete process.env.EVENT_BUS;
    delete process.env.EVENT_SOURCE;
    process.env.BUCKET = "";
    assert.equal(await listener((e) => e.bucket)(event({ token: null }), {}), undefined);
  });

  it("refuses an event that is not a workflow event", async () => {
    await assert.rejects(listener(() => finish(1))({ "detail-type": "x", detail: {} }, {}), /not a workflow event/);
    assert.equal(client.calls.length, 0);
  });

  it("fails the task with a result JSON cannot hold", async () => {
    await listener(() => finish({ big: 1n }))(event(), {});
    const [, detail] = onlyPut();
    assert.equal(detail.error, "TypeError");
  });
});
