//! A webhook receiver on loopback, for the HTTP and the service-level tests: a real HTTP
//! server that records what it gets, answers with a status the test sets, and checks a
//! delivery's signature as a third party would.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answered: u16,
}

#[derive(Clone)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    /// An HTTP server on a random loopback port that records every request and answers
    /// with the status currently set.
    pub async fn start() -> (Receiver, String) {
        let r = Receiver {
            got: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(record))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

async fn record(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = r.status.load(Ordering::SeqCst);
    r.got.lock().unwrap().push(Received {
        headers,
        body,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// What a receiver does with `Nexus-Signature`: recompute the HMAC over "t.body" with the
/// secret and compare, written independently of the server's code.
pub fn verifies(secret: &str, got: &Received) -> bool {
    use hmac::{Hmac, Mac};
    let header = got.headers["nexus-signature"].to_str().unwrap();
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "timestamp is current: {age}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.body);
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

pub fn body_of(got: &Received) -> Value {
    serde_json::from_slice(&got.body).unwrap()
}
