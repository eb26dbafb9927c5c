//! Listeners of an `eventdriven_workflow`, as plain async functions.
//!
//! A listener is a Lambda function behind a rule on some detail types. Its handler is called
//! with the incoming event, a [`ListenerEvent`] (the event's [`Envelope`] and detail type, and
//! the listener's settings: what `lambda_runtime` calls a `LambdaEvent`), and answers with an
//! [`Answer`]: forward a new event (the task token travels with it), finish the task with a
//! result, or do nothing (a side effect). An error or a panic fails the task through the failure path, so a run never
//! waits on a listener that broke.
//!
//! - [`envelope`](eventdriven_core::workflow::envelope): the detail every event carries.
//! - [`bus`]: where events go (EventBridge, or a recording bus in tests).
//! - [`handle`]: one event in, the answering event out.
//! - [`lambda`]: the Lambda runtime loop around a handler.

pub mod bus;
pub mod handle;
pub mod lambda;

pub use bus::{Bus, EventBridgeBus, OutgoingEvent};
pub use eventdriven_core::workflow::envelope::Envelope;
pub use handle::{Answer, ListenerEvent, Settings, TaskError, handle_event};
