//! `eventdriven ui`: a live web view of every run, and the same views as self-contained files
//! (`execution NAME --format html`, `trail --format html`).
//!
//! `source` reads the runs (local-cloud's records, else Step Functions), `model` derives what a
//! page shows from a definition and a history, `graph` lays graphs out, `machine_graph` draws
//! a state machine with each state's status and `timeline` a workflow run's hops and
//! architecture, `page` writes the HTML (its stylesheet and script compiled in from `assets/`),
//! and `server` serves it, pushing each page's content again as it changes.

pub mod graph;
pub mod html;
pub mod machine_graph;
pub mod model;
pub mod page;
pub mod server;
pub mod source;
pub mod timeline;

use anyhow::{Context, Result};

use page::{Mode, document, run_content};
use source::Source;

/// The run `key` names as one self-contained page, as it is now.
pub async fn run_document(source: &Source, key: &str) -> Result<String> {
    let now = eventdriven_states::clock::now_iso();
    let run = source
        .run(key, &now)
        .await?
        .with_context(|| format!("no run {key:?}"))?;
    let trail = match &run.trail {
        Some(Ok(trail)) => Some(trail.as_slice()),
        Some(Err(e)) => {
            eprintln!("the trail could not be read: {e}");
            None
        }
        None => None,
    };
    let listeners = run.listeners.unwrap_or_else(|e| {
        eprintln!("the workflow's listeners could not be read: {e}");
        Vec::new()
    });
    let content = run_content(&run.view, trail, &listeners, &now);
    Ok(document(&run.view.info.name, "execution", &content, Mode::Static))
}

/// Serves the pages on 127.0.0.1:`port` (0: any free port) until interrupted; prints the
/// address it serves.
pub async fn serve(port: u16, source: Source) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{port}"))?;
    let address = listener.local_addr()?;
    eprintln!("eventdriven ui: http://{address}/ ({})", source.describe());
    server::serve(listener, source).await
}
