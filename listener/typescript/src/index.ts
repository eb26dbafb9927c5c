/**
 * Write the listeners of an eventdriven workflow as plain async functions of the incoming event.
 *
 * A listener is a Lambda function behind an EventBridge rule. Its event's `detail` is the
 * workflow's envelope (task token, execution, state, input and the run's hops); the listener
 * answers its task by putting an event on the workflow's bus. This module does the envelope and
 * the answering, so a handler only says what the answer is:
 *
 * ```ts
 * import { listener, finish, TaskFailed } from "@eventdriven/listener";
 *
 * export const handler = listener(async (event) => {
 *   const { order } = event.input;
 *   if (order.items.length === 0) throw new TaskFailed("EmptyOrder", `order ${order.id} has no items`);
 *   return finish({ lines: order.items.length });
 * });
 * ```
 *
 * A handler returns `finish(result)`, `forward(detailType, input)`, `fail(error, cause)` or
 * nothing (a later listener answers). A thrown error fails the task with its `name` as the error
 * and its `message` as the cause; `TaskFailed(error, cause)` names the error itself.
 *
 * A side-effect listener's events carry no task token: there the handler's return value is the
 * function's response (`finish(result)` responds `result`), errors propagate (a returned `fail`
 * is thrown as a `TaskFailed`, whose `name` is the error), and no task answer is ever put; it may
 * still `forward` one of its `emits`, without a token.
 *
 * The EventBridge client (`@aws-sdk/client-eventbridge`, which the Lambda Node.js runtime
 * includes) is loaded and made once, when the first answer is put; it honours
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`. Tests inject their own with `setClient`.
 */

/** The detail type of the answer that completes a task. */
export const TASK_FINISHED = "task.finished";
/** The detail type of the answer that fails a task, with `error` and `cause`. */
export const TASK_FAILED = "task.failed";
/** The error of a task whose listener forwarded a detail type it may not emit. */
export const LISTENER_ERROR = "ListenerError";
/** The error of a task whose answer was over EventBridge's event size limit. */
export const ANSWER_TOO_LARGE = "eventdriven.AnswerTooLarge";
/** The error of a task whose answer EventBridge did not take. */
export const PUT_EVENTS_FAILED = "eventdriven.PutEventsFailed";

/** EventBridge's limit on one event entry: Source, DetailType and Detail in UTF-8. */
export const MAX_EVENT_BYTES = 262144; // 256 KiB
/** Step Functions' limits on a task failure's error and cause, in UTF-8 bytes. */
export const MAX_ERROR_BYTES = 256;
export const MAX_CAUSE_BYTES = 32768;

/** One hop of a run: which function emitted which event, and when. */
export interface Hop {
  source: string;
  detailType: string;
  function: string;
  /** RFC 3339 UTC with milliseconds; absent in events of earlier versions. */
  time?: string;
}

/** The detail of every event of a workflow run. */
export interface Envelope {
  /** Absent for side-effect listeners. */
  taskToken?: string;
  executionId: string;
  state: string;
  input?: unknown;
  meta?: Hop[];
  result?: unknown;
  error?: string;
  cause?: string;
  [field: string]: unknown;
}

/** The EventBridge event a listener is invoked with. */
export interface EventBridgeEvent {
  version?: string;
  id?: string;
  "detail-type": string;
  source?: string;
  account?: string;
  time?: string;
  region?: string;
  resources?: string[];
  detail: Envelope;
}

/** The incoming event, as the handler sees it. */
export interface ListenerEvent<Input = any> {
  /** The task's input, or what the previous listener forwarded. */
  readonly input: Input;
  /** The execution's ARN. */
  readonly executionId: string;
  /** The execution's name: the last part of its ARN, unique within the state machine. */
  readonly runName: string;
  /** The task (state name) the event belongs to. */
  readonly state: string;
  /** The incoming event's detail type. */
  readonly detailType: string;
  /** The workflow's bucket, or undefined when it has none. */
  readonly bucket: string | undefined;
  /** A side effect's event carries no task token: it cannot answer the task. */
  readonly isSideEffect: boolean;
  /** The detail types this listener may forward. */
  readonly emits: readonly string[];
  /** The envelope (the event's detail) as received. */
  readonly envelope: Envelope;
  /** The whole EventBridge event. */
  readonly event: EventBridgeEvent;
  /** The Lambda context. */
  readonly context: unknown;
}

/** What a task listener's handler returns: `finish`, `forward` and `fail` make one. */
export type Answer =
  | { readonly kind: "finish"; readonly result: unknown }
  | { readonly kind: "forward"; readonly detailType: string; readonly input: unknown }
  | { readonly kind: "fail"; readonly error: string; readonly cause: string };

/** Completes the task: `result` lands at the task's `result_path`. */
export const finish = (result: unknown = null): Answer => ({ kind: "finish", result });

/**
 * Puts an event of `detailType` (one of the listener's `emits`) with `input`, carrying the task
 * token on: the listener of that detail type answers the task.
 */
export const forward = (detailType: string, input: unknown): Answer => ({ kind: "forward", detailType, input });

/** Fails the task with `error` (at most 256 bytes) and `cause` (at most 32768 bytes). */
export const fail = (error: string, cause = ""): Answer => ({ kind: "fail", error, cause });

/** Thrown by a handler to fail its task with an error name of its own. */
export class TaskFailed extends Error {
  readonly error: string;
  override cause: string;

  constructor(error: string, cause = "") {
    super(cause || error || LISTENER_ERROR);
    this.name = error || LISTENER_ERROR;
    this.error = error;
    this.cause = cause;
  }
}

/**
 * Neither the answer nor the failure put in its place reached the bus. The invocation fails with
 * it, and the platform fails the task through the function's failure destination.
 */
export class AnswerNotPut extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnswerNotPut";
  }
}

/** One PutEvents entry. */
export interface PutEventsEntry {
  EventBusName: string;
  Source: string;
  DetailType: string;
  Detail: string;
}

/** What the helper needs of an EventBridge client: the SDK's `send` of a `PutEventsCommand`. */
export interface EventsClient {
  send(command: { input: { Entries: PutEventsEntry[] } }): Promise<{
    FailedEntryCount?: number;
    Entries?: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
  }>;
}

/** A handler: what a task listener returns is its answer; a side effect's, its response. */
export type Handle<Input = any> = (event: ListenerEvent<Input>) => unknown;

/** What a task listener's invocation returns: the detail type it put, if any. */
export interface Put {
  put: string | null;
}

let client: EventsClient | undefined;

/** Uses `next` for every answer from now on; `undefined` makes an SDK client again. */
export const setClient = (next: EventsClient | undefined): void => {
  client = next;
};

type Sdk = typeof import("@aws-sdk/client-eventbridge");
let sdk: Sdk | undefined;

const loadSdk = async (): Promise<Sdk> => {
  sdk ??= await import("@aws-sdk/client-eventbridge");
  return sdk;
};

const eventsClient = async (): Promise<EventsClient> => {
  if (client === undefined) {
    const { EventBridgeClient } = await loadSdk();
    // The SDK reads AWS_ENDPOINT_URL_EVENTBRIDGE itself; passing it on also serves releases
    // that did not.
    const endpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE || undefined;
    client = new EventBridgeClient(endpoint ? { endpoint } : {}) as unknown as EventsClient;
  }
  return client;
};

/** The listener function's environment. */
interface Settings {
  bus: string;
  source: string;
  function: string;
  emits: string[];
  bucket: string | undefined;
}

const settingsOf = (env: Record<string, string | undefined>): Settings => ({
  bus: env.EVENT_BUS ?? "",
  source: env.EVENT_SOURCE ?? "",
  function: env.AWS_LAMBDA_FUNCTION_NAME || "listener",
  emits: (env.EMITS ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== ""),
  bucket: env.BUCKET || undefined,
});

const utf8Length = (text: string): number => Buffer.byteLength(text, "utf8");

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, on a character boundary. */
export const truncate = (text: string, maxBytes: number): string => {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // a continuation byte: back to its start
  return bytes.subarray(0, end).toString("utf8");
};

const incomingOf = (event: EventBridgeEvent, settings: Settings, context: unknown): ListenerEvent => {
  const envelope = event?.detail;
  if (typeof envelope !== "object" || envelope === null || typeof envelope.executionId !== "string") {
    throw new TypeError(
      `the event is not a workflow event (its detail has no executionId): ${JSON.stringify(event)?.slice(0, 1000)}`,
    );
  }
  return {
    input: envelope.input,
    executionId: envelope.executionId,
    runName: envelope.executionId.split(":").pop() ?? "",
    state: envelope.state ?? "",
    detailType: event["detail-type"] ?? "",
    bucket: settings.bucket,
    isSideEffect: !envelope.taskToken,
    emits: [...settings.emits],
    envelope,
    event,
    context,
  };
};

/** The received envelope without its answer fields, then with `fields` set. */
const envelopeFor = (received: Envelope, fields: Partial<Envelope>): Envelope => {
  const { result: _result, error: _error, cause: _cause, ...rest } = received;
  return { ...rest, ...fields } as Envelope;
};

const failure = (received: Envelope, error: string, cause: string): Envelope =>
  envelopeFor(received, {
    error: truncate(String(error), MAX_ERROR_BYTES),
    cause: truncate(String(cause), MAX_CAUSE_BYTES),
  });

/** The PutEvents entry of an answer, with this listener's hop added to the trail. */
const entryOf = (envelope: Envelope, detailType: string, settings: Settings): PutEventsEntry => {
  const hop: Hop = {
    source: settings.source,
    detailType,
    function: settings.function,
    time: new Date().toISOString(),
  };
  const detail = { ...envelope, meta: [...(envelope.meta ?? []), hop] };
  return {
    EventBusName: settings.bus,
    Source: settings.source,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
  };
};

const entrySize = (entry: PutEventsEntry): number =>
  utf8Length(entry.Source) + utf8Length(entry.DetailType) + utf8Length(entry.Detail);

const errorName = (e: unknown): string => (e instanceof Error ? e.name : "Error");
const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const putEntry = async (entry: PutEventsEntry): Promise<void> => {
  const events = await eventsClient();
  const { PutEventsCommand } = await loadSdk();
  const command = new PutEventsCommand({ Entries: [entry] }) as unknown as { input: { Entries: PutEventsEntry[] } };
  const response = await events.send(command);
  if ((response.FailedEntryCount ?? 0) > 0) {
    const first = response.Entries?.[0] ?? {};
    throw new AnswerNotPut(
      `EventBridge refused the ${entry.DetailType} event: ${first.ErrorCode ?? "unknown"}: ${first.ErrorMessage ?? "no message"}`,
    );
  }
};

/** Puts one event; returns the error and cause of a failed task when it could not. */
const tryPut = async (
  envelope: Envelope,
  detailType: string,
  settings: Settings,
): Promise<[error: string, cause: string] | undefined> => {
  let entry: PutEventsEntry;
  try {
    entry = entryOf(envelope, detailType, settings);
  } catch (e) {
    // A result JSON cannot hold (a BigInt, a cycle).
    return [errorName(e), `the ${detailType} event is not JSON: ${errorMessage(e)}`];
  }
  const size = entrySize(entry);
  if (size > MAX_EVENT_BYTES) {
    return [
      ANSWER_TOO_LARGE,
      `the ${detailType} event is ${size} bytes, over EventBridge's limit of ${MAX_EVENT_BYTES} bytes ` +
        "per event (Source, DetailType and Detail): pass large results by reference, e.g. in the bucket",
    ];
  }
  try {
    await putEntry(entry);
  } catch (e) {
    const reason = e instanceof AnswerNotPut ? e.message : `${errorName(e)}: ${errorMessage(e)}`;
    const cause = `putting the ${detailType} event on ${settings.bus}: ${reason}`;
    console.error(cause);
    return [PUT_EVENTS_FAILED, cause];
  }
  return undefined;
};

const requireBus = (settings: Settings): void => {
  const missing = [
    ["EVENT_BUS", settings.bus],
    ["EVENT_SOURCE", settings.source],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new AnswerNotPut(`the listener needs ${missing.join(" and ")} in its environment to answer its task`);
  }
};

/**
 * Puts a task's answer; when it cannot be put, puts one failure in its place. Returns the detail
 * type put; throws `AnswerNotPut` when neither reached the bus.
 */
const putAnswer = async (
  received: Envelope,
  detailType: string,
  envelope: Envelope,
  settings: Settings,
): Promise<string> => {
  requireBus(settings);
  const failed = await tryPut(envelope, detailType, settings);
  if (failed === undefined) return detailType;
  const [error, cause] = failed;
  const again = await tryPut(failure(received, error, cause), TASK_FAILED, settings);
  if (again !== undefined) throw new AnswerNotPut(`${cause}; then, in its place, ${again[1]}`);
  return TASK_FAILED;
};

const refusal = (settings: Settings, detailType: string): string =>
  `${settings.function} may not emit ${JSON.stringify(detailType)}; ` +
  `its emits are ${JSON.stringify(settings.emits).replaceAll('","', '", "')}`;

const isAnswer = (value: unknown): value is Answer =>
  typeof value === "object" &&
  value !== null &&
  ["finish", "forward", "fail"].includes((value as { kind?: unknown }).kind as string);

/**
 * Runs a side effect: what it returns is the function's response, what it throws propagates, and
 * it answers no task. It may forward one of its `emits` (without a token).
 */
const sideEffect = async (handle: Handle, incoming: ListenerEvent, settings: Settings): Promise<unknown> => {
  const returned = await handle(incoming);
  if (!isAnswer(returned)) return returned;
  switch (returned.kind) {
    case "finish":
      return returned.result;
    case "fail":
      throw new TaskFailed(returned.error || LISTENER_ERROR, returned.cause);
    case "forward": {
      if (!settings.emits.includes(returned.detailType)) {
        throw new TaskFailed(LISTENER_ERROR, refusal(settings, returned.detailType));
      }
      requireBus(settings);
      const envelope = envelopeFor(incoming.envelope, { input: returned.input });
      const failed = await tryPut(envelope, returned.detailType, settings);
      if (failed !== undefined) throw new TaskFailed(...failed);
      return { put: returned.detailType } satisfies Put;
    }
  }
};

/**
 * Runs `handle` on one EventBridge event and answers its task: what `listener` wraps. Resolves to
 * `{ put: <detail type put, or null> }` for a task, the handler's response for a side effect.
 * The environment is `process.env` unless given.
 */
export const handleEvent = async (
  handle: Handle,
  event: EventBridgeEvent,
  context?: unknown,
  env: Record<string, string | undefined> = process.env,
): Promise<unknown> => {
  const settings = settingsOf(env);
  const incoming = incomingOf(event, settings, context);
  if (incoming.isSideEffect) return sideEffect(handle, incoming, settings);
  const received = incoming.envelope;
  let answer: Answer;
  try {
    const returned = await handle(incoming);
    if (returned === undefined || returned === null) return { put: null } satisfies Put;
    answer = isAnswer(returned)
      ? returned
      : fail(
          "TypeError",
          `a task listener returns finish(...), forward(...), fail(...) or nothing, not ${typeof returned}`,
        );
  } catch (e) {
    if (e instanceof TaskFailed) {
      answer = fail(e.error, e.cause);
    } else {
      console.error(`the handler of ${incoming.detailType} failed:`, e);
      answer = fail(errorName(e), errorMessage(e));
    }
  }
  let put: string;
  switch (answer.kind) {
    case "finish":
      put = await putAnswer(received, TASK_FINISHED, envelopeFor(received, { result: answer.result ?? null }), settings);
      break;
    case "forward":
      put = settings.emits.includes(answer.detailType)
        ? await putAnswer(received, answer.detailType, envelopeFor(received, { input: answer.input }), settings)
        : await putAnswer(
            received,
            TASK_FAILED,
            failure(received, LISTENER_ERROR, refusal(settings, answer.detailType)),
            settings,
          );
      break;
    case "fail":
      put = await putAnswer(received, TASK_FAILED, failure(received, answer.error || LISTENER_ERROR, answer.cause ?? ""), settings);
      break;
  }
  return { put } satisfies Put;
};

/** Makes `handle(event)` a Lambda handler `(event, context)` that answers its task. */
export const listener =
  <Input = any>(handle: Handle<Input>) =>
  async (event: EventBridgeEvent, context?: unknown): Promise<any> =>
    handleEvent(handle as Handle, event, context);
