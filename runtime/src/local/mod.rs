//! Local integrations: what `eks:runJob`, `eks:call`, `lambda:invoke`, `s3:` and the task-token
//! calls do when a definition runs on this machine (`eventdriven run`, `states run`,
//! `local-cloud`).

pub mod async_invoke;
pub mod cluster_api;
pub mod event_relay;
pub mod events;
pub mod functions;
pub mod images;
pub mod in_process;
pub mod input_transformer;
pub mod job;
pub mod job_process;
pub mod lambda_process;
pub mod process;
pub mod put_events;
pub mod s3_objects;
pub mod send_task;
pub mod states_run;
pub mod zip_runtimes;

use std::path::PathBuf;
use std::sync::Arc;

use eventdriven_states::{Integrations, TaskTokens};

use crate::local::events::EventRouter;
use crate::local::images::ImageMap;
use crate::local::job_process::LocalJobs;
use crate::local::lambda_process::{FunctionSource, LocalLambda};
use crate::local::process::ProcessEnv;

/// How local processes are set up: what stands in for images, volumes and endpoints.
#[derive(Clone)]
pub struct LocalSetup {
    pub images: ImageMap,
    pub volumes_root: PathBuf,
    pub functions: Arc<dyn FunctionSource>,
    /// What every Job's and function's environment adds and replaces.
    pub env: ProcessEnv,
    /// The emulator's services that tasks call directly, when there is an emulator.
    pub services: Option<Services>,
    /// Delivers the events runs put to the rules deployed here, when events are routed here.
    pub router: Option<Arc<EventRouter>>,
}

/// Services a task calls directly: the event bus of `events:putEvents` and the objects of a
/// distributed Map's ItemReader and ResultWriter.
#[derive(Clone)]
pub struct Services {
    pub events: aws_sdk_eventbridge::Client,
    pub s3: aws_sdk_s3::Client,
}

/// The integrations a definition runs with on this machine.
pub fn local_integrations(setup: &LocalSetup, tokens: &TaskTokens) -> Integrations {
    Integrations::default()
        .with(LocalJobs {
            images: setup.images.clone(),
            volumes_root: setup.volumes_root.clone(),
            env: setup.env.clone(),
        })
        .with(LocalLambda {
            functions: setup.functions.clone(),
            env: setup.env.clone(),
        })
        .with(send_task::SendTask { tokens: tokens.clone() })
        .with(put_events::PutEvents {
            events: setup.services.as_ref().map(|s| s.events.clone()),
            router: setup.router.clone(),
        })
        .with(cluster_api::LocalClusterApi)
        .with(s3_objects::S3Objects {
            store: setup.services.as_ref().map_or(s3_objects::ObjectStore::Missing, |s| {
                s3_objects::ObjectStore::Emulator(s.s3.clone())
            }),
        })
}
