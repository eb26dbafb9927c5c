//! The Lambda image's entrypoint, `eventdriven lambda`, against a stand-in for the Lambda
//! Runtime API on loopback: it fetches an invocation, answers with the run's chunks, and asks
//! for the next one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

const REDIS_URL: &str = "redis://127.0.0.1:6379";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// Reads one HTTP/1.1 request: its request line and its body.
fn read_request(stream: &mut BufReader<TcpStream>) -> (String, Vec<u8>) {
    let mut request_line = String::new();
    stream.read_line(&mut request_line).unwrap();
    let mut length = 0;
    loop {
        let mut header = String::new();
        stream.read_line(&mut header).unwrap();
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (request_line.trim().to_string(), body)
}

fn respond(stream: &mut TcpStream, headers: &str, body: &str) {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
}

#[test]
fn the_lambda_answers_an_invocation_with_the_pending_chunks() {
    let run = format!("lambda-test-{}", std::process::id());
    let mut redis = redis::Client::open(REDIS_URL)
        .unwrap()
        .get_connection()
        .expect("Redis on 127.0.0.1:6379");
    let key = eventdriven_runtime::progress::set_key(&run);
    let _: () = redis::pipe()
        .del(&key)
        .sadd(&key, &["000001-30002", "000000-2"])
        .query(&mut redis)
        .unwrap();
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = api.local_addr().unwrap();
    let mut lambda = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .arg("lambda")
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "eventdriven-test-list-chunks")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(eventdriven_core::contract::REDIS_URL, REDIS_URL)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let (stream, _) = api.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let (next, _) = read_request(&mut reader);
    assert_eq!(next, format!("GET {NEXT} HTTP/1.1"));
    let invocation = "Lambda-Runtime-Aws-Request-Id: request-1\r\nLambda-Runtime-Deadline-Ms: 9999999999999\r\n\
                      Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:f\r\n\
                      Content-Type: application/json\r\n";
    respond(&mut writer, invocation, &format!(r#"{{"run_id":"{run}"}}"#));

    let (answer_line, answer) = read_request(&mut reader);
    assert_eq!(
        answer_line,
        "POST /2018-06-01/runtime/invocation/request-1/response HTTP/1.1"
    );
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"run_id": run, "count": 2, "chunks": ["000000-2", "000001-30002"]})
    );
    respond(&mut writer, "", "");

    let (next_again, _) = read_request(&mut reader);
    assert_eq!(
        next_again,
        format!("GET {NEXT} HTTP/1.1"),
        "the function waits for the next invocation"
    );
    lambda.kill().unwrap();
    lambda.wait().unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
}
