//! The programs an eventdriven pipeline runs, as a library: each step is a function over small
//! storage backends, so the cloud Jobs, the Lambda and the local runner share one implementation.

pub mod chunk_input;
pub mod cli;
pub mod declaration;
pub mod generate;
pub mod lambda;
pub mod local;
pub mod local_cloud;
pub mod objects;
pub mod process;
pub mod progress;
pub mod records;
pub mod rejects;
pub mod row;
pub mod runner;
pub mod sdk;
pub mod secrets;
pub mod split;
pub mod steps;
pub mod table;
pub mod trail;
pub mod ui;
pub mod user_step;
pub mod workdir;
