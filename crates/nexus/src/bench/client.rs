//! One HTTP/1.1 keep-alive connection, owned by one task.
//!
//! hyper's connection-level client rather than a pooled client (reqwest, hyper-util's
//! legacy `Client`): a load generator must hold exactly N connections, each carrying one
//! request at a time, and a pool adds a checkout and a lock to every request and may open
//! connections of its own when one is busy. Here each worker owns its connection, so
//! concurrency is exactly the number of workers and nothing is shared on the hot path.

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// Where the load goes: the address to connect to and the `Host` header to send.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
}

impl Target {
    /// Resolves an `http://host:port` URL. Only plain HTTP: the benchmark runs on loopback,
    /// where TLS would measure the cipher rather than the service.
    pub async fn resolve(url: &str) -> anyhow::Result<Target> {
        let parsed = url::Url::parse(url).with_context(|| format!("--url {url}"))?;
        anyhow::ensure!(
            parsed.scheme() == "http",
            "--url must be http://host:port (got {url})"
        );
        let host = parsed
            .host_str()
            .with_context(|| format!("--url {url} names no host"))?
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        Ok(Target {
            addr,
            host: HeaderValue::from_str(&format!("{host}:{port}"))?,
        })
    }
}

/// A request without a body: what every read scenario sends.
pub fn get(target: &Target, uri: Uri) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(Bytes::new()));
    *req.uri_mut() = uri;
    req.headers_mut().insert(HOST, target.host.clone());
    req
}

/// A JSON POST, with a bearer token when given.
pub fn post_json(
    target: &Target,
    uri: Uri,
    body: Bytes,
    token: Option<&HeaderValue>,
) -> Request<Full<Bytes>> {
    let mut req = get(target, uri);
    *req.method_mut() = Method::POST;
    *req.body_mut() = Full::new(body);
    let headers = req.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(t) = token {
        headers.insert(AUTHORIZATION, t.clone());
    }
    req
}

pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // Requests are small and written at once; Nagle would only add delay to them.
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move {
            // The connection ends when the server closes it or the sender is dropped;
            // either way the worker sees it on its next request and reconnects.
            let _ = connection.await;
        });
        Ok(Conn { sender, driver })
    }

    /// Sends a request and reads the whole answer, counting its body bytes without
    /// keeping them: latency is measured to the last byte.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<(StatusCode, u64)> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                bytes += data.len() as u64;
            }
        }
        Ok((status, bytes))
    }

    /// Sends a request and returns the whole answer: for the set-up, not the load.
    pub async fn fetch(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}
