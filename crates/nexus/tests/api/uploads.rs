//! Uploads over HTTP, each test on both databases and on both stores: local files and an
//! S3-compatible server (`NEXUS_TEST_S3_URL`, each test under a key prefix of its own).
//! Every test ends by checking that the store holds exactly the objects the rows name,
//! so an error path that leaves an object behind fails it.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use nexus_core::config::{RatePolicy, Settings};
use nexus_db::{Exec, query};
use object_store::{ObjectStore, ObjectStoreExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, S3Server, TestApp, assert_problem, spawn_app_with};

/// Where a test's files go.
#[derive(Debug, Clone)]
enum Files {
    Local,
    S3(S3Server),
}

/// Declares each listed `async fn name(backend: Backend, files: Files)` as four tests:
/// `name::sqlite_local`, `name::sqlite_s3`, `name::postgres_local` and `name::postgres_s3`.
/// A variant whose server is not given is skipped (and fails under `CI=true`).
macro_rules! upload_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::{Backend, Files, S3Server};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_local() {
                super::$name(Backend::Sqlite, Files::Local).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_s3() {
                if let Some(s3) = S3Server::from_env_or_skip() {
                    super::$name(Backend::Sqlite, Files::S3(s3)).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_local() {
                if let Some(backend) = Backend::postgres_or_skip() {
                    super::$name(backend, Files::Local).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_s3() {
                let backend = Backend::postgres_or_skip();
                let s3 = S3Server::from_env_or_skip();
                if let (Some(backend), Some(s3)) = (backend, s3) {
                    super::$name(backend, Files::S3(s3)).await;
                }
            }
        }
    )*};
}

upload_tests!(
    a_file_goes_in_and_comes_back_the_same,
    a_five_mib_file_streams_through_in_parts,
    a_file_over_the_limit_is_413_and_leaves_nothing_behind,
    types_must_be_taken_and_agree_with_the_bytes,
    file_names_are_required_and_checked,
    only_the_owner_reads_and_deletes,
    an_idempotency_key_replays_a_stored_upload,
    uploads_have_a_rate_limit_of_their_own,
);

const UPLOADS: &str = "/api/v1/uploads";

/// The start of a real PNG (signature and IHDR of a 1×1 image) and some bytes after it.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

async fn spawn(backend: Backend, files: &Files, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(
        backend,
        |s| {
            if let Files::S3(server) = files {
                server.configure(s);
            }
            configure(s);
        },
        None,
    )
    .await
}

/// A PDF-looking file of `len` bytes: the signature, then bytes that do not compress or
/// repeat (a fixed-seed xorshift), so that a part mixed up or lost changes the digest.
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An upload request: `token`, `content_type` and `disposition` when given.
fn post(
    app: &TestApp,
    token: Option<&str>,
    content_type: Option<&str>,
    disposition: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut req = app.client.post(app.url(UPLOADS));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(cd) = disposition {
        req = req.header("content-disposition", cd);
    }
    req
}

/// Uploads `bytes` as `content_type` named `name`, expecting 201; the answer.
async fn upload(app: &TestApp, token: &str, content_type: &str, name: &str, bytes: &[u8]) -> Value {
    let resp = post(
        app,
        Some(token),
        Some(content_type),
        Some(&format!("attachment; filename=\"{name}\"")),
    )
    .body(bytes.to_vec())
    .send()
    .await
    .unwrap();
    if resp.status() != 201 {
        panic!("{name}: {} {}", resp.status(), resp.text().await.unwrap());
    }
    resp.json().await.unwrap()
}

fn header<'r>(resp: &'r reqwest::Response, name: &str) -> &'r str {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The store holds exactly the objects the rows name, and nothing else: no object of a
/// refused or deleted upload, no unfinished multipart upload's staging file (with local
/// files the directory itself is read, since a listing skips those). Then the test's
/// objects are removed, so that a shared bucket does not fill up.
async fn finish(app: &TestApp) {
    let mut db = Exec::from(&app.state.db);
    let rows: BTreeSet<String> = db
        .scalars::<String>(query("SELECT storage_key FROM uploads"))
        .await
        .unwrap()
        .into_iter()
        .collect();
    let store = app.state.services.storage.store().clone();
    let objects: BTreeSet<String> = store
        .list(None)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        objects, rows,
        "the store holds exactly the uploads' objects"
    );
    if app.state.settings.storage.url.is_none() {
        let files = walk(&app.state.settings.data_dir.join("files"));
        assert_eq!(files.len(), rows.len(), "files on disk: {files:?}");
    }
    for key in objects {
        store
            .delete(&object_store::path::Path::from(key))
            .await
            .unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn a_file_goes_in_and_comes_back_the_same(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |_| {}).await;
    let ada = app.verified_user("ada").await;

    // A name beyond ASCII travels as `filename*` (RFC 8187).
    let resp = post(
        &app,
        Some(&ada.access),
        Some("image/png"),
        Some("attachment; filename*=UTF-8''%C3%9Cbung%203%20%E2%80%93%20Diagramm.png"),
    )
    .body(PNG.to_vec())
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let location = header(&resp, "location").to_owned();
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("{UPLOADS}/{id}"));
    assert_eq!(created["filename"], "Übung 3 – Diagramm.png");
    assert_eq!(created["content_type"], "image/png");
    assert_eq!(created["size"], PNG.len());
    assert_eq!(created["sha256"], sha256_hex(PNG));
    assert!(created["created_at"].is_string());

    let resp = app.get_auth(&location, &ada.access).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), "image/png");
    assert_eq!(header(&resp, "content-length"), PNG.len().to_string());
    assert_eq!(
        header(&resp, "content-disposition"),
        "attachment; filename=\"_bung 3 _ Diagramm.png\"; \
         filename*=UTF-8''%C3%9Cbung%203%20%E2%80%93%20Diagramm.png"
    );
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert_eq!(header(&resp, "cache-control"), "private, no-cache");
    let etag = header(&resp, "etag").to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(PNG)));
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..], PNG);

    let resp = app
        .client
        .get(app.url(&location))
        .bearer_auth(&ada.access)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    // Text is served with its charset, which its upload was checked to be in.
    let notes = "# Woche 3\n\nGrüße: der Cache hält.\n".as_bytes();
    let created = upload(&app, &ada.access, "text/markdown", "notes.md", notes).await;
    let resp = app
        .get_auth(
            &format!("{UPLOADS}/{}", created["id"].as_str().unwrap()),
            &ada.access,
        )
        .await;
    assert_eq!(
        header(&resp, "content-type"),
        "text/markdown; charset=utf-8"
    );
    assert_eq!(&resp.bytes().await.unwrap()[..], notes);
    finish(&app).await;
}

async fn a_five_mib_file_streams_through_in_parts(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |_| {}).await;
    let ada = app.verified_user("ada").await;
    // Past one part of a multipart upload (5 MiB), so that it travels as two parts; sent
    // in 64 KiB chunks with no Content-Length, as a client streaming from disk would, so
    // the server learns the size only at the end.
    let file = pdf(5 * 1024 * 1024 + 4321);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        file.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let resp = post(
        &app,
        Some(&ada.access),
        Some("application/pdf"),
        Some("attachment; filename=\"capstone-report.pdf\""),
    )
    .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["size"], file.len());
    assert_eq!(created["sha256"], sha256_hex(&file));

    let resp = app
        .get_auth(
            &format!("{UPLOADS}/{}", created["id"].as_str().unwrap()),
            &ada.access,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-length"), file.len().to_string());
    // Read as a stream, the way it is sent.
    let mut got = Vec::with_capacity(file.len());
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got.len(), file.len());
    assert_eq!(sha256_hex(&got), sha256_hex(&file));
    assert!(got == file);
    finish(&app).await;
}

async fn a_file_over_the_limit_is_413_and_leaves_nothing_behind(backend: Backend, files: Files) {
    // A limit above one part: the refused file has begun a multipart upload by the time
    // it passes the limit, and that upload must be aborted. The body is streamed with no
    // length, and only ten bytes over, so the server has read all of it when it answers.
    let limit = 6 * 1024 * 1024;
    let app = spawn(backend, &files, |s| s.storage.max_upload_bytes = limit).await;
    let ada = app.verified_user("ada").await;
    let file = pdf(usize::try_from(limit).unwrap() + 10);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        file.chunks(256 * 1024).map(|c| Ok(c.to_vec())).collect();
    let resp = post(
        &app,
        Some(&ada.access),
        Some("application/pdf"),
        Some("attachment; filename=\"too-big.pdf\""),
    )
    .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
    .send()
    .await
    .unwrap();
    assert_problem(resp, 413, "payload-too-large").await;
    // Exactly the limit is taken.
    let created = upload(
        &app,
        &ada.access,
        "application/pdf",
        "just.pdf",
        &file[..file.len() - 10],
    )
    .await;
    assert_eq!(created["size"], limit);
    finish(&app).await;

    // A declared length over the limit is refused before a byte is read. The limit is
    // small and the excess too: a large body would race the early answer (and the close
    // that follows it) into a broken pipe on the client's side.
    let small = spawn(backend, &files, |s| s.storage.max_upload_bytes = 1024).await;
    let bob = small.verified_user("bob").await;
    let resp = post(
        &small,
        Some(&bob.access),
        Some("application/pdf"),
        Some("attachment; filename=\"declared.pdf\""),
    )
    .body(pdf(4096))
    .send()
    .await
    .unwrap();
    assert_problem(resp, 413, "payload-too-large").await;
    // The server-wide body limit does not apply to uploads: this one is above it.
    let large = spawn(backend, &files, |s| s.http.body_limit_bytes = 1024).await;
    let cyd = large.verified_user("cyd").await;
    upload(
        &large,
        &cyd.access,
        "application/pdf",
        "above-body-limit.pdf",
        &pdf(8192),
    )
    .await;
    finish(&small).await;
    finish(&large).await;
}

async fn types_must_be_taken_and_agree_with_the_bytes(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |_| {}).await;
    let ada = app.verified_user("ada").await;
    let refused: [(Option<&str>, Vec<u8>, &str); 11] = [
        (
            Some("text/html"),
            b"<p>hi</p>".to_vec(),
            "`text/html` is not a type uploads take",
        ),
        (
            Some("application/octet-stream"),
            PNG.to_vec(),
            "not a type uploads take",
        ),
        (
            Some("image/svg+xml"),
            b"<svg/>".to_vec(),
            "not a type uploads take",
        ),
        (None, b"hello".to_vec(), "must declare its type"),
        (
            Some("image/png"),
            pdf(2000),
            "declared image/png, but the bytes do not begin as a PNG image does",
        ),
        (
            Some("application/pdf"),
            b"just some text".to_vec(),
            "do not begin as a PDF document does",
        ),
        (
            Some("text/plain"),
            b"caf\xE9 in Latin-1".to_vec(),
            "not valid UTF-8 (at byte 3)",
        ),
        (
            Some("text/csv"),
            b"a,b\n1,\x002\n".to_vec(),
            "NUL byte at byte 6",
        ),
        (
            Some("application/json"),
            b"{\"a\": }".to_vec(),
            "not valid JSON",
        ),
        (
            Some("text/plain; charset=iso-8859-1"),
            b"plain".to_vec(),
            "must be UTF-8",
        ),
        (Some("image/gif"), b"GIF8".to_vec(), "too short"),
    ];
    for (content_type, body, says) in refused {
        let resp = post(
            &app,
            Some(&ada.access),
            content_type,
            Some("attachment; filename=\"file\""),
        )
        .body(body)
        .send()
        .await
        .unwrap();
        let problem = assert_problem(resp, 415, "unsupported-media-type").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{content_type:?}: {detail}");
    }
    let taken: [(&str, &[u8]); 8] = [
        (
            "application/json",
            b"{\"scores\": [92, 87.5], \"late\": false}",
        ),
        ("text/csv; charset=utf-8", b"learner,score\nada,92\n"),
        ("text/plain", "Grüße 🦀\n".as_bytes()),
        (
            "application/zip",
            b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        ),
        ("image/jpeg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0"),
        ("image/gif", b"GIF89a\x01\0\x01\0\0\0\0;"),
        ("image/webp", b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0"),
        ("IMAGE/PNG", PNG),
    ];
    for (content_type, body) in taken {
        let created = upload(&app, &ada.access, content_type, "file", body).await;
        let essence = content_type.split(';').next().unwrap().to_ascii_lowercase();
        assert_eq!(created["content_type"], essence);
    }
    finish(&app).await;
}

async fn file_names_are_required_and_checked(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |_| {}).await;
    let ada = app.verified_user("ada").await;
    let long = format!("attachment; filename=\"{}.txt\"", "a".repeat(252));
    let cases: [(Option<&str>, &str, &str); 10] = [
        (None, "Content-Disposition", "is required"),
        (Some("attachment"), "Content-Disposition", "names no file"),
        (
            Some("attachment; filename=\"unclosed"),
            "Content-Disposition",
            "not closed",
        ),
        (
            Some("attachment; filename*=UTF-8''%ZZ.txt"),
            "Content-Disposition",
            "%-escape",
        ),
        (
            Some("attachment; filename=\"../../etc/passwd\""),
            "filename",
            "path separator",
        ),
        (
            Some("attachment; filename=\"C:\\\\boot.ini\""),
            "filename",
            "path separator",
        ),
        (
            Some("attachment; filename*=UTF-8''two%0Alines.txt"),
            "filename",
            "control characters",
        ),
        (
            Some("attachment; filename*=UTF-8''report%E2%80%AEtxt.exe"),
            "filename",
            "direction",
        ),
        (Some(long.as_str()), "filename", "at most 255 bytes"),
        (Some("attachment; filename=\"..\""), "filename", "only dots"),
    ];
    for (disposition, field, says) in cases {
        let resp = post(&app, Some(&ada.access), Some("text/plain"), disposition)
            .body("some text")
            .send()
            .await
            .unwrap();
        let problem = assert_problem(resp, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{disposition:?}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{disposition:?}: {message}");
    }
    let resp = post(
        &app,
        Some(&ada.access),
        Some("text/plain"),
        Some("attachment; filename=\"empty.txt\""),
    )
    .send()
    .await
    .unwrap();
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "body");
    finish(&app).await;
}

async fn only_the_owner_reads_and_deletes(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |_| {}).await;
    let ada = app.verified_user("ada").await;
    let bob = app.verified_user("bob").await;

    let resp = post(
        &app,
        None,
        Some("text/plain"),
        Some("attachment; filename=\"a.txt\""),
    )
    .body("anonymous")
    .send()
    .await
    .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;

    let created = upload(&app, &ada.access, "text/plain", "mine.txt", b"ada's notes").await;
    let path = format!("{UPLOADS}/{}", created["id"].as_str().unwrap());
    // Anonymous, another user, an id that does not exist: all the same 404.
    assert_problem(app.get(&path).await, 404, "not-found").await;
    assert_problem(app.get_auth(&path, &bob.access).await, 404, "not-found").await;
    assert_problem(app.delete_auth(&path, &bob.access).await, 404, "not-found").await;
    let missing = format!("{UPLOADS}/{}", uuid::Uuid::now_v7());
    assert_problem(app.get_auth(&missing, &ada.access).await, 404, "not-found").await;
    assert_problem(
        app.get_auth(&format!("{UPLOADS}/not-an-id"), &ada.access)
            .await,
        400,
        "bad-request",
    )
    .await;
    let resp = app.client.delete(app.url(&path)).send().await.unwrap();
    assert_problem(resp, 401, "unauthenticated").await;

    // A read-scoped token reads, and cannot upload or delete.
    let token: Value = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "reader", "scope": "read"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let read = token["token"].as_str().unwrap();
    assert_eq!(app.get_auth(&path, read).await.status(), 200);
    let resp = post(
        &app,
        Some(read),
        Some("text/plain"),
        Some("attachment; filename=\"b.txt\""),
    )
    .body("by a script")
    .send()
    .await
    .unwrap();
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(app.delete_auth(&path, read).await, 403, "forbidden").await;

    assert_eq!(app.delete_auth(&path, &ada.access).await.status(), 204);
    assert_problem(app.get_auth(&path, &ada.access).await, 404, "not-found").await;
    assert_problem(app.delete_auth(&path, &ada.access).await, 404, "not-found").await;
    finish(&app).await;
}

async fn an_idempotency_key_replays_a_stored_upload(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |_| {}).await;
    let ada = app.verified_user("ada").await;
    let csv = b"learner,score\nada,92\nbob,87\n".to_vec();
    let send = |key: &'static str, content_type: &'static str, body: Vec<u8>| {
        post(
            &app,
            Some(&ada.access),
            Some(content_type),
            Some("attachment; filename=\"scores.csv\""),
        )
        .header("idempotency-key", key)
        .body(body)
        .send()
    };
    let first = send("scores-1", "text/csv", csv.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();

    let again = send("scores-1", "text/csv", csv.clone()).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the first answer, and no second file");

    let mut changed = csv.clone();
    changed.extend_from_slice(b"cy,71\n");
    let resp = send("scores-1", "text/csv", changed).await.unwrap();
    let problem = assert_problem(resp, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");

    // A refused upload is not stored under its key: nothing happened, and the corrected
    // request with the same key is taken.
    let resp = send("scores-2", "image/png", csv.clone()).await.unwrap();
    assert_problem(resp, 415, "unsupported-media-type").await;
    let resp = send("scores-2", "text/csv", csv.clone()).await.unwrap();
    assert_eq!(resp.status(), 201);
    assert!(resp.headers().get("idempotent-replayed").is_none());
    let second: Value = resp.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);

    let mut db = Exec::from(&app.state.db);
    let count: i64 = db
        .scalar(query("SELECT COUNT(*) FROM uploads"))
        .await
        .unwrap();
    assert_eq!(count, 2);
    finish(&app).await;
}

async fn uploads_have_a_rate_limit_of_their_own(backend: Backend, files: Files) {
    let app = spawn(backend, &files, |s| {
        s.rate_limit.upload = RatePolicy {
            limit: 2,
            period_secs: 3600,
        };
    })
    .await;
    let ada = app.verified_user("ada").await;
    for n in 0..2 {
        let resp = post(
            &app,
            Some(&ada.access),
            Some("text/plain"),
            Some("attachment; filename=\"n.txt\""),
        )
        .body(format!("file {n}"))
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(header(&resp, "ratelimit-policy"), "\"upload\";q=2;w=3600");
    }
    let resp = post(
        &app,
        Some(&ada.access),
        Some("text/plain"),
        Some("attachment; filename=\"n.txt\""),
    )
    .body("one too many")
    .send()
    .await
    .unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    assert_problem(resp, 429, "rate-limited").await;
    // Other writes keep their own budget.
    let resp = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "still fine", "scope": "read"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    finish(&app).await;
}
