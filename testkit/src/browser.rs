//! Headless Chromium driven through WebDriver (Debian's `chromedriver`), spoken directly over
//! HTTP: the few commands the UI's tests need (open a page, run a script, take a screenshot,
//! read the console) need no client library. `scripts/ensure-browser.sh` installs both, and
//! the Nu Html Checker the pages are validated with. [`Ui`] is the `eventdriven ui` under test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// A chromedriver process and one browser session of it.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Browser {
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver on PATH (scripts/ensure-browser.sh installs chromium-driver)");
        crate::wait_until_listening(port, "chromedriver", Duration::from_secs(30));
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        };
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,1100"]
            },
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let created = browser.call("POST", "/session", Some(capabilities)).await;
        browser.session = created["sessionId"].as_str().expect("a session id").to_owned();
        browser
    }

    /// A WebDriver command; its `value`.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.map_or_else(String::new, |b| b.to_string()))))
            .unwrap();
        let response = self.http.request(request).await.expect("chromedriver answers");
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status.is_success(), "WebDriver {method} {path}: {status} {answer}");
        answer["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Marks the page, so [`Self::assert_not_reloaded`] can tell it was never loaded again.
    pub async fn mark_page(&self) {
        self.script("window.notReloaded = true; return true;").await;
    }

    /// The page marked by [`Self::mark_page`] is still the one loaded then: it updated itself.
    pub async fn assert_not_reloaded(&self) {
        assert_eq!(
            self.script("return window.notReloaded === true;").await,
            true,
            "no reload"
        );
    }

    /// Polls `script` until `done` holds for its value, or panics with the last one.
    pub async fn wait_for(&self, what: &str, within: Duration, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.script(script).await;
            if done(&value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{what}: still {value}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn screenshot(&self, path: &Path) {
        let png = self.call("GET", &self.at("/screenshot"), None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 PNG"))
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// The console's messages of level SEVERE since the last call: errors, failed loads.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .call("POST", &self.at("/se/log"), Some(json!({ "type": "browser" })))
            .await;
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ends the session (closing Chromium) and the driver.
    pub async fn quit(mut self) {
        self.call("DELETE", &self.at(""), None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The Nu Html Checker's findings on `html` (errors only); `scripts/ensure-browser.sh` installs it.
pub fn html_errors(html: &str) -> Vec<String> {
    let jar = Path::new(&std::env::var("HOME").unwrap())
        .join(".cache/eventdriven/vnu/node_modules/vnu-jar/build/dist/vnu.jar");
    assert!(
        jar.exists(),
        "{} (scripts/ensure-browser.sh installs it)",
        jar.display()
    );
    let file = tempfile::Builder::new().suffix(".html").tempfile().unwrap();
    std::fs::write(file.path(), html).unwrap();
    let output = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--format", "json"])
        .arg(file.path())
        .output()
        .expect("java on PATH");
    let report: Value = serde_json::from_slice(&output.stderr).expect("vnu's JSON report");
    report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("line {}: {}", m["lastLine"], m["message"].as_str().unwrap_or_default()))
        .collect()
}

/// A running `eventdriven ui`, killed when dropped.
pub struct Ui {
    process: Child,
    address: String,
}

impl Ui {
    /// Starts `command` (`eventdriven ui --port 0 ...`) and reads the address it prints; what it
    /// writes to stderr afterwards goes to the test's.
    pub fn start(mut command: Command) -> Self {
        let mut process = command.stderr(Stdio::piped()).spawn().expect("eventdriven ui starts");
        let mut stderr = BufReader::new(process.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("the address in {line:?}"))
            .to_owned();
        // A full pipe would block the server's next message.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("eventdriven ui: {line}");
            }
        });
        Ui { process, address }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The page at `path` as served; fails unless it is served with 200.
    pub fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.address).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{path}: {head}"
        );
        body.to_owned()
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
