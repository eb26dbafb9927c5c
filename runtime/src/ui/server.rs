//! The HTTP side of `eventdriven ui`: the runs page, a run's page, and for each a stream of
//! server-sent events carrying the page's content again whenever it changes, read from the
//! source twice a second, so a run is seen progressing within a second without a reload.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream};

use super::html::escape;
use super::page::{Mode, document, run_content, runs_content};
use super::source::{RunPage, Source};
use eventdriven_states::clock::now_iso;

/// How often a stream reads the source again.
const REFRESH: Duration = Duration::from_millis(500);

type Shared = Arc<Source>;

/// The routes, over `source`.
pub fn router(source: Source) -> Router {
    Router::new()
        .route("/", get(runs_page))
        .route("/events", get(runs_events))
        .route("/runs/:key", get(run_page))
        .route("/runs/:key/events", get(run_events))
        .with_state(Arc::new(source))
}

/// Serves the pages on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, source: Source) -> anyhow::Result<()> {
    axum::serve(listener, router(source)).await?;
    Ok(())
}

async fn runs_html(source: &Source) -> String {
    let now = now_iso();
    match source.runs(&now).await {
        Ok(runs) => runs_content(&runs, &now),
        Err(e) => error_content(&e),
    }
}

fn error_content(error: &anyhow::Error) -> String {
    format!(
        "<p class=\"error\">The runs could not be read: {}</p>\n",
        escape(&format!("{error:#}"))
    )
}

async fn runs_page(State(source): State<Shared>) -> Html<String> {
    let content = runs_html(&source).await;
    Html(document(
        "Runs",
        &source.describe(),
        &content,
        Mode::Live { events: "/events" },
    ))
}

/// The run's content, and whether it has ended; `None` when there is no such run.
async fn run_html(source: &Source, key: &str) -> Option<(String, bool)> {
    let now = now_iso();
    match source.run(key, &now).await {
        Ok(Some(RunPage { view, trail, listeners })) => {
            let mut content = run_content(
                &view,
                trail.as_ref().and_then(|t| t.as_deref().ok()),
                listeners.as_deref().unwrap_or_default(),
                &now,
            );
            if let Some(Err(e)) = &trail {
                content.push_str(&format!(
                    "<p class=\"error\">The trail could not be read: {}</p>\n",
                    escape(e)
                ));
            }
            if let Err(e) = &listeners {
                content.push_str(&format!(
                    "<p class=\"error\">The workflow's listeners could not be read: {}</p>\n",
                    escape(e)
                ));
            }
            Some((content, !view.info.is_running()))
        }
        Ok(None) => None,
        Err(e) => Some((error_content(&e), false)),
    }
}

async fn run_page(State(source): State<Shared>, Path(key): Path<String>) -> Response {
    match run_html(&source, &key).await {
        Some((content, _)) => {
            let events = format!("/runs/{key}/events");
            let name = key.split_once("--").map_or(key.as_str(), |(_, name)| name);
            Html(document(
                name,
                &source.describe(),
                &content,
                Mode::Live { events: &events },
            ))
            .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Html(document(
                "No such run",
                &source.describe(),
                "<h1>No such run</h1>\n",
                Mode::Static,
            )),
        )
            .into_response(),
    }
}

async fn runs_events(State(source): State<Shared>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = stream::unfold((source, String::new(), true), |(source, last, first)| async move {
        loop {
            if !first {
                tokio::time::sleep(REFRESH).await;
            }
            let content = runs_html(&source).await;
            if content != last {
                let event = Event::default().event("update").data(&content);
                return Some((Ok(event), (source, content, false)));
            }
            tokio::time::sleep(REFRESH).await;
        }
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}

/// Where a run's stream is: still following it, or told the client it has ended.
enum Follow {
    Running { last: String, first: bool },
    Ended,
}

async fn run_events(
    State(source): State<Shared>,
    Path(key): Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = Follow::Running {
        last: String::new(),
        first: true,
    };
    let updates = stream::unfold((source, key, start), |(source, key, follow)| async move {
        let Follow::Running { mut last, mut first } = follow else {
            return None;
        };
        loop {
            if !first {
                tokio::time::sleep(REFRESH).await;
            }
            first = false;
            let Some((content, ended)) = run_html(&source, &key).await else {
                continue;
            };
            if ended {
                // The final content, then `end`: the page stops listening.
                let event = if content != last {
                    Event::default().event("update").data(&content)
                } else {
                    Event::default().event("end").data("ended")
                };
                let next = if content != last {
                    Follow::Running {
                        last: content,
                        first: true,
                    }
                } else {
                    Follow::Ended
                };
                return Some((Ok(event), (source, key, next)));
            }
            if content != last {
                let event = Event::default().event("update").data(&content);
                return Some((
                    Ok(event),
                    (
                        source,
                        key,
                        Follow::Running {
                            last: content,
                            first: false,
                        },
                    ),
                ));
            }
            last = content;
        }
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
