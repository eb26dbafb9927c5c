//! A fault proxy in front of the emulator: an HTTP proxy on a loopback port that forwards every
//! request and answers some as the services do under load or failure, so a test sees the
//! runtime recover from what the emulator itself never does.
//!
//! - DynamoDB `BatchWriteItem`: a share of each request's items is not forwarded but answered as
//!   `UnprocessedItems`, exactly as DynamoDB answers a batch past the table's throughput.
//! - S3 `UploadPart`: the first attempts of each part are answered with a 5xx error (500
//!   `InternalError` and 503 `SlowDown` in turn), which the SDK retries.
//!
//! The choice of items is drawn from a seeded generator, so a run injects the same faults
//! whenever its requests are the same. What was injected is counted ([`Injected`]).
//!
//! It also stands in for a setting the emulator lacks, DynamoDB's warm throughput
//! ([`warm_throughput`]), always: DynamoDB clients pointed at the proxy see it as DynamoDB keeps it.

mod warm_throughput;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Map, Value};
use warm_throughput::{TableCall, WarmTables};

pub use warm_throughput::{WarmUnits, WarmUpdate};

/// What to inject; [`Faults::default`] injects nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// Of each `BatchWriteItem` request, the share of its items answered as unprocessed
    /// (rounded down: a request of few items may be written whole).
    pub unprocessed_share: f64,
    /// How many attempts of each `UploadPart` are answered with a 5xx error before one is
    /// forwarded.
    pub failed_part_attempts: u32,
    /// Seeds the choice of which items are left unprocessed.
    pub seed: u64,
}

/// What the proxy injected since its faults were last set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injected {
    /// `BatchWriteItem` requests answered with items unprocessed.
    pub throttled_requests: u64,
    /// The items so answered, each time it was.
    pub unprocessed_items: u64,
    /// `UploadPart` attempts answered with a 5xx error.
    pub failed_parts: u64,
}

impl std::fmt::Display for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} BatchWriteItem request(s) answered with {} item(s) unprocessed, {} UploadPart attempt(s) answered with a 5xx error",
            self.throttled_requests, self.unprocessed_items, self.failed_parts
        )
    }
}

/// A running proxy, stopped when dropped. Point a client at [`FaultProxy::endpoint`] instead of
/// the emulator's.
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    warm: Arc<Mutex<WarmTables>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://HOST:PORT`) on a free loopback port, injecting
    /// nothing until told to. It runs on a thread of its own, so a test may block while its
    /// clients go through it.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::new(Faults::default())));
        let warm = Arc::new(Mutex::new(WarmTables::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            state: state.clone(),
            warm: warm.clone(),
        };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(proxy.serve(listener, stopped));
        });
        FaultProxy {
            endpoint,
            state,
            warm,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Injects `faults` from now on, its counts starting from zero.
    pub fn inject(&self, faults: Faults) {
        *self.state.lock().unwrap() = State::new(faults);
    }

    /// What was injected since the faults were last set.
    pub fn injected(&self) -> Injected {
        self.state.lock().unwrap().injected
    }

    /// The `UpdateTable` calls that carried a warm throughput, in order.
    pub fn warm_throughput_updates(&self) -> Vec<WarmUpdate> {
        self.warm.lock().unwrap().updates()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The faults, the draws and the counts, shared by the connections.
struct State {
    faults: Faults,
    random: SplitMix64,
    /// Attempts so far of each part, by upload id and part number.
    part_attempts: HashMap<(String, String), u32>,
    injected: Injected,
}

impl State {
    fn new(faults: Faults) -> Self {
        State {
            faults,
            random: SplitMix64(faults.seed),
            part_attempts: HashMap::new(),
            injected: Injected::default(),
        }
    }

    /// The error this attempt of a part is answered with, if it is one to fail.
    fn part_attempt(&mut self, upload_id: &str, part_number: &str) -> Option<(StatusCode, String)> {
        let attempts = self
            .part_attempts
            .entry((upload_id.to_owned(), part_number.to_owned()))
            .or_default();
        *attempts += 1;
        if *attempts > self.faults.failed_part_attempts {
            return None;
        }
        let error = s3_error(self.injected.failed_parts);
        self.injected.failed_parts += 1;
        Some(error)
    }
}

struct Proxy {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    state: Arc<Mutex<State>>,
    warm: Arc<Mutex<WarmTables>>,
}

impl Proxy {
    async fn serve(self, listener: TcpListener, mut stopped: tokio::sync::oneshot::Receiver<()>) {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let proxy = Arc::new(self);
        loop {
            let stream = tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
            };
            let proxy = proxy.clone();
            let service = hyper::service::service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, Infallible>(proxy.handle(request).await) }
            });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    HeaderMap::new(),
                    format!("reading the request: {e}"),
                );
            }
        };
        let target = parts.headers.get("x-amz-target").and_then(|t| t.to_str().ok());
        match classify(&parts.method, parts.uri.query().unwrap_or_default(), target) {
            Call::UploadPart { upload_id, part_number } => {
                let failed = self.state.lock().unwrap().part_attempt(&upload_id, &part_number);
                if let Some((status, xml)) = failed {
                    eprintln!("fault proxy: UploadPart {part_number} of upload {upload_id} answered {status}");
                    let mut headers = HeaderMap::new();
                    headers.insert(header::CONTENT_TYPE, "application/xml".parse().unwrap());
                    return answer(status, headers, xml);
                }
                self.forward(parts, body).await
            }
            Call::BatchWriteItem => self.batch_write_item(parts, body).await,
            Call::Table(call) => self.table(call, parts, body).await,
            Call::Other => self.forward(parts, body).await,
        }
    }

    /// Forwards a table's call, refusing it first if it lowers the warm throughput, and answers
    /// with the table's warm throughput put in.
    async fn table(&self, call: TableCall, parts: http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
        let Ok(request) = serde_json::from_slice::<Value>(&body) else {
            return self.forward(parts, body).await;
        };
        let refusal = self.warm.lock().unwrap().refusal(call, &request);
        if let Some(refusal) = refusal {
            return answer(StatusCode::BAD_REQUEST, dynamodb_json_headers(), refusal);
        }
        let (status, headers, mut answered) = match self.forward_json(parts, body).await {
            Ok(answered) => answered,
            Err(response) => return response,
        };
        let mut warm = self.warm.lock().unwrap();
        warm.carried_out(call, &request);
        warm.describe(request["TableName"].as_str().unwrap_or_default(), &mut answered);
        drop(warm);
        answer(status, headers, answered.to_string())
    }

    /// Forwards what the draw keeps of the request, and answers the rest as unprocessed.
    async fn batch_write_item(&self, parts: http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
        let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
            return self.forward(parts, body).await;
        };
        let withheld = {
            let mut state = self.state.lock().unwrap();
            let share = state.faults.unprocessed_share;
            withhold(&mut request, share, &mut state.random)
        };
        if withheld.is_empty() {
            return self.forward(parts, body).await;
        }
        let (status, headers, mut answered) = if request_items(&request) == 0 {
            // Nothing left to write: DynamoDB hands the whole batch back.
            (
                StatusCode::OK,
                dynamodb_json_headers(),
                serde_json::json!({"UnprocessedItems": {}}),
            )
        } else {
            match self.forward_json(parts, Bytes::from(request.to_string())).await {
                Ok(answered) => answered,
                // An error refuses the whole request, which the client sends again whole.
                Err(response) => return response,
            }
        };
        let items = withheld
            .values()
            .filter_map(Value::as_array)
            .map(Vec::len)
            .sum::<usize>();
        add_unprocessed(&mut answered, withheld);
        let mut state = self.state.lock().unwrap();
        state.injected.throttled_requests += 1;
        state.injected.unprocessed_items += items as u64;
        drop(state);
        answer(status, headers, answered.to_string())
    }

    /// Forwards a request whose answer the proxy changes: the answer's status, headers and JSON
    /// body when it succeeded, else the answer itself.
    async fn forward_json(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
    ) -> Result<(StatusCode, HeaderMap, Value), Response<Full<Bytes>>> {
        // The answer is read here: not compressed.
        parts.headers.remove(header::ACCEPT_ENCODING);
        let (answer_parts, answer_body) = self.forward(parts, body).await.into_parts();
        let body = answer_body.collect().await.expect("a full body").to_bytes();
        match serde_json::from_slice::<Value>(&body) {
            Ok(answered) if answer_parts.status == StatusCode::OK => {
                let mut headers = answer_parts.headers;
                // The body changes: DynamoDB's checksum of it would no longer hold.
                headers.remove("x-amz-crc32");
                Ok((answer_parts.status, headers, answered))
            }
            _ => Err(Response::from_parts(answer_parts, Full::new(body))),
        }
    }

    /// Sends the request on to the emulator, as it came but for hop-by-hop headers, and
    /// answers with what the emulator answered.
    async fn forward(&self, parts: http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::builder()
            .method(parts.method)
            .uri(format!("{}{path}", self.upstream));
        for (name, value) in parts.headers.iter().filter(|(name, _)| !hop_by_hop(name)) {
            request = request.header(name, value);
        }
        let request = request
            .header(header::CONTENT_LENGTH, body.len())
            .body(Full::new(body))
            .expect("a valid request");
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) => return answer(StatusCode::BAD_GATEWAY, HeaderMap::new(), format!("the emulator: {e}")),
        };
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return answer(StatusCode::BAD_GATEWAY, HeaderMap::new(), format!("the emulator: {e}")),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in parts.headers.iter().filter(|(name, _)| !hop_by_hop(name)) {
            headers.append(name, value.clone());
        }
        answer(parts.status, headers, body)
    }
}

/// The headers of a DynamoDB answer the proxy writes itself.
fn dynamodb_json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "application/x-amz-json-1.0".parse().unwrap());
    headers
}

/// A response of `status` with `headers` and `body`, its length set.
fn answer(status: StatusCode, mut headers: HeaderMap, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let body = body.into();
    headers.insert(header::CONTENT_LENGTH, body.len().into());
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Headers of one connection, not of the request (RFC 9110, 7.6.1), and the length, set anew.
fn hop_by_hop(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::CONTENT_LENGTH,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

/// The calls the proxy may answer itself, or changes the answer of.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    BatchWriteItem,
    UploadPart { upload_id: String, part_number: String },
    Table(TableCall),
    Other,
}

/// Which call a request is: DynamoDB's by its `X-Amz-Target`, S3's `UploadPart` as a PUT with
/// `partNumber` and `uploadId` in its query (`UploadPartCopy` is one too, which the project
/// does not make).
fn classify(method: &Method, query: &str, target: Option<&str>) -> Call {
    if target == Some("DynamoDB_20120810.BatchWriteItem") {
        return Call::BatchWriteItem;
    }
    if let Some(call) = TableCall::of(target) {
        return Call::Table(call);
    }
    let parameter = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    match (method, parameter("uploadId"), parameter("partNumber")) {
        (&Method::PUT, Some(upload_id), Some(part_number)) => Call::UploadPart { upload_id, part_number },
        _ => Call::Other,
    }
}

/// Takes the share `share` (rounded down) of each table's write requests out of a
/// `BatchWriteItem` request, drawn by `random`; returns them by table, as `UnprocessedItems`
/// lists them. A table whose every request is taken is left out of the request.
fn withhold(request: &mut Value, share: f64, random: &mut SplitMix64) -> Map<String, Value> {
    let mut withheld = Map::new();
    let Some(tables) = request.get_mut("RequestItems").and_then(Value::as_object_mut) else {
        return withheld;
    };
    for (table, writes) in tables.iter_mut() {
        let Some(writes) = writes.as_array_mut() else { continue };
        let count = ((writes.len() as f64 * share).floor() as usize).min(writes.len());
        if count == 0 {
            continue;
        }
        let mut taken = random.choose(writes.len(), count);
        taken.sort_unstable();
        let (unprocessed, kept): (Vec<_>, Vec<_>) = std::mem::take(writes)
            .into_iter()
            .enumerate()
            .partition(|(index, _)| taken.binary_search(index).is_ok());
        let unprocessed: Vec<Value> = unprocessed.into_iter().map(|(_, write)| write).collect();
        *writes = kept.into_iter().map(|(_, write)| write).collect();
        withheld.insert(table.clone(), Value::Array(unprocessed));
    }
    tables.retain(|_, writes| writes.as_array().is_none_or(|w| !w.is_empty()));
    withheld
}

/// Write requests left in a `BatchWriteItem` request.
fn request_items(request: &Value) -> usize {
    request["RequestItems"].as_object().map_or(0, |tables| {
        tables.values().filter_map(Value::as_array).map(Vec::len).sum()
    })
}

/// Adds `withheld` to a `BatchWriteItem` answer's `UnprocessedItems`, beside what the emulator
/// left unprocessed itself.
fn add_unprocessed(answer: &mut Value, withheld: Map<String, Value>) {
    let unprocessed = answer
        .as_object_mut()
        .expect("a BatchWriteItem answer is an object")
        .entry("UnprocessedItems")
        .or_insert_with(|| Value::Object(Map::new()));
    if !unprocessed.is_object() {
        *unprocessed = Value::Object(Map::new());
    }
    let unprocessed = unprocessed.as_object_mut().expect("made an object above");
    for (table, writes) in withheld {
        let list = unprocessed.entry(table).or_insert_with(|| Value::Array(Vec::new()));
        if let (Some(list), Value::Array(writes)) = (list.as_array_mut(), writes) {
            list.extend(writes);
        }
    }
}

/// The `nth` injected S3 error: 500 `InternalError` and 503 `SlowDown` in turn, as S3 words them.
fn s3_error(nth: u64) -> (StatusCode, String) {
    let (status, code, message) = match nth % 2 {
        0 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy-{nth}</RequestId></Error>"
    );
    (status, xml)
}

/// SplitMix64: a small seeded generator, enough to spread faults reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `count` distinct indexes below `len` (a partial Fisher-Yates shuffle).
    fn choose(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut indexes: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + (self.next() % (len - i) as u64) as usize;
            indexes.swap(i, j);
        }
        indexes.truncate(count);
        indexes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(table: &str, ids: std::ops::Range<u32>) -> Value {
        let writes: Vec<Value> = ids
            .map(|id| json!({"PutRequest": {"Item": {"OrderId": {"S": id.to_string()}}}}))
            .collect();
        json!({"RequestItems": {table: writes}})
    }

    fn ids(writes: &Value) -> Vec<u32> {
        writes
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                w["PutRequest"]["Item"]["OrderId"]["S"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_share_of_each_batch_is_withheld_and_the_rest_forwarded_in_order() {
        let mut request = batch("orders", 0..25);
        let withheld = withhold(&mut request, 0.4, &mut SplitMix64(7));
        let (kept, taken) = (ids(&request["RequestItems"]["orders"]), ids(&withheld["orders"]));
        assert_eq!((kept.len(), taken.len()), (15, 10));
        assert!(kept.is_sorted() && taken.is_sorted(), "both keep the request's order");
        let mut all = [kept, taken.clone()].concat();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..25).collect::<Vec<_>>(),
            "every item is forwarded or withheld, once"
        );
        // The same seed draws the same items; another draws others.
        let again = withhold(&mut batch("orders", 0..25), 0.4, &mut SplitMix64(7));
        assert_eq!(ids(&again["orders"]), taken);
        let other = withhold(&mut batch("orders", 0..25), 0.4, &mut SplitMix64(8));
        assert_ne!(ids(&other["orders"]), taken);
    }

    #[test]
    fn a_batch_too_small_for_the_share_is_forwarded_whole() {
        let mut request = batch("orders", 0..4);
        assert!(withhold(&mut request, 0.2, &mut SplitMix64(1)).is_empty());
        assert_eq!(request, batch("orders", 0..4));
        assert!(withhold(&mut request, 0.0, &mut SplitMix64(1)).is_empty());
    }

    #[test]
    fn a_batch_withheld_whole_leaves_nothing_to_forward() {
        let mut request = batch("orders", 0..3);
        let withheld = withhold(&mut request, 1.0, &mut SplitMix64(1));
        assert_eq!(ids(&withheld["orders"]), [0, 1, 2]);
        assert_eq!(request_items(&request), 0);
        assert_eq!(request, json!({"RequestItems": {}}));
    }

    #[test]
    fn withheld_items_join_what_the_emulator_left_unprocessed() {
        let mut answer = json!({"UnprocessedItems": {"orders": [{"PutRequest": {"Item": {"OrderId": {"S": "9"}}}}]}});
        let withheld = withhold(&mut batch("orders", 0..2), 1.0, &mut SplitMix64(1));
        add_unprocessed(&mut answer, withheld);
        assert_eq!(ids(&answer["UnprocessedItems"]["orders"]), [9, 0, 1]);
        let mut empty = json!({"UnprocessedItems": {}, "ConsumedCapacity": []});
        add_unprocessed(&mut empty, withhold(&mut batch("t", 0..1), 1.0, &mut SplitMix64(1)));
        assert_eq!(ids(&empty["UnprocessedItems"]["t"]), [0]);
        assert_eq!(empty["ConsumedCapacity"], json!([]), "the rest of the answer is kept");
    }

    #[test]
    fn calls_are_told_apart_by_target_method_and_query() {
        let batch_write = Some("DynamoDB_20120810.BatchWriteItem");
        assert_eq!(classify(&Method::POST, "", batch_write), Call::BatchWriteItem);
        assert_eq!(
            classify(&Method::POST, "", Some("DynamoDB_20120810.PutItem")),
            Call::Other
        );
        assert_eq!(
            classify(&Method::POST, "", Some("DynamoDB_20120810.DescribeTable")),
            Call::Table(TableCall::Describe)
        );
        assert_eq!(
            classify(&Method::PUT, "x-id=UploadPart&partNumber=2&uploadId=abc", None),
            Call::UploadPart {
                upload_id: "abc".into(),
                part_number: "2".into()
            }
        );
        assert_eq!(classify(&Method::PUT, "", None), Call::Other, "PutObject");
        assert_eq!(
            classify(&Method::POST, "uploadId=abc", None),
            Call::Other,
            "CompleteMultipartUpload"
        );
        assert_eq!(classify(&Method::GET, "uploadId=abc&partNumber=1", None), Call::Other);
    }

    #[test]
    fn the_first_attempts_of_each_part_fail_with_500_and_503_in_turn() {
        let mut state = State::new(Faults {
            failed_part_attempts: 2,
            ..Faults::default()
        });
        let statuses: Vec<Option<u16>> = [("u", "1"), ("u", "1"), ("u", "1"), ("u", "2"), ("v", "1")]
            .iter()
            .map(|(upload, part)| state.part_attempt(upload, part).map(|(status, _)| status.as_u16()))
            .collect();
        assert_eq!(statuses, [Some(500), Some(503), None, Some(500), Some(503)]);
        assert_eq!(state.injected.failed_parts, 4);
        let (_, xml) = s3_error(1);
        assert!(xml.contains("<Code>SlowDown</Code>"), "{xml}");
    }
}
