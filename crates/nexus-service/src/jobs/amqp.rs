//! The RabbitMQ transport of the job queue (lapin).
//!
//! The database's `jobs` table stays the ledger; the broker carries the work. A message is
//! the id and kind of one job, persistent on a durable queue, published with confirms and
//! `mandatory`, and marked published in the ledger only after the broker confirmed it.
//! A consumer claims the job in the ledger, runs it, commits the outcome, and only then
//! acknowledges the message. So:
//! - the broker restarting loses nothing: unconfirmed publishes are published again, and
//!   unacknowledged deliveries are delivered again;
//! - a duplicate message (a publish confirmed but not yet marked, a redelivery after the
//!   job finished) finds its job not claimable and is acknowledged without running it;
//! - a retry is a ledger change (due later, unpublished), published again when due, so
//!   no broker plugin or delay queue is needed.
//!
//! Each loop holds its own connection and reconnects with a short pause when the broker
//! goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use nexus_db::jobs as repo;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Services;

/// Messages published per ledger transaction.
const PUBLISH_BATCH: i64 = 100;
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// Longest wait for the broker to confirm a publish or take an acknowledgement. A
/// connection that died without a word would otherwise hold a publish batch, or a worker
/// slot, forever.
const BROKER_ANSWER: Duration = Duration::from_secs(10);

/// Where the broker is and whether this process currently reaches it.
#[derive(Clone)]
pub struct AmqpLink {
    url: String,
    queue: String,
    publisher_up: Arc<AtomicBool>,
    consumer_up: Arc<AtomicBool>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Message {
    job_id: Uuid,
    kind: String,
}

impl AmqpLink {
    pub fn new(url: &str, queue: &str) -> AmqpLink {
        AmqpLink {
            url: url.to_owned(),
            queue: queue.to_owned(),
            publisher_up: Arc::new(AtomicBool::new(false)),
            consumer_up: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Whether the loops of this process's worker hold a live connection.
    pub fn connected(&self) -> bool {
        self.publisher_up.load(Ordering::Relaxed) && self.consumer_up.load(Ordering::Relaxed)
    }

    async fn open(&self) -> anyhow::Result<(Connection, Channel)> {
        let connect = Connection::connect(
            &self.url,
            ConnectionProperties::default().with_connection_name("nexus".into()),
        );
        let conn = tokio::time::timeout(BROKER_ANSWER, connect)
            .await
            .map_err(|_| anyhow::anyhow!("RabbitMQ did not answer within {BROKER_ANSWER:?}"))??;
        let channel = conn.create_channel().await?;
        channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok((conn, channel))
    }

    /// Checks that the broker answers and the queue can be declared; for `/readyz` and
    /// start-up diagnostics.
    pub async fn probe(&self) -> anyhow::Result<u32> {
        let (conn, channel) = self.open().await?;
        let queue = channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let _ = conn.close(200, "probe done".into()).await;
        Ok(queue.message_count())
    }
}

/// Runs `session` until `stop`, each time on a fresh connection. A session that stops
/// hands its connection back to be closed cleanly; one that ends in an error (the broker
/// went away) is logged as `what` failing. Either way `up` goes down, and the next
/// session starts after [`RECONNECT_PAUSE`].
async fn reconnecting<S: Future<Output = anyhow::Result<Connection>>>(
    what: &str,
    up: &AtomicBool,
    stop: &CancellationToken,
    mut session: impl FnMut() -> S,
) {
    while !stop.is_cancelled() {
        match session().await {
            Ok(conn) => {
                let _ = conn.close(200, "shutting down".into()).await;
            }
            Err(e) => tracing::warn!(error = %e, "{what} failed; reconnecting"),
        }
        up.store(false, Ordering::Relaxed);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(RECONNECT_PAUSE) => {}
        }
    }
}

pub(crate) async fn publish_loop(services: Services, link: AmqpLink, stop: CancellationToken) {
    let idle = Duration::from_millis(services.queue.settings().poll_interval_ms);
    let (services, link, stop) = (&services, &link, &stop);
    let session = move || async move {
        let (conn, channel) = link.open().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        link.publisher_up.store(true, Ordering::Relaxed);
        loop {
            if !conn.status().connected() {
                anyhow::bail!("the connection to RabbitMQ is gone");
            }
            let published = publish_batch(services, link, &channel).await?;
            if published < PUBLISH_BATCH as usize {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = services.queue.woken().notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                }
            }
        }
        Ok::<_, anyhow::Error>(conn)
    };
    reconnecting(
        "publishing jobs to RabbitMQ",
        &link.publisher_up,
        stop,
        session,
    )
    .await;
}

/// Publishes one batch of due, unpublished jobs and marks them published once the broker
/// confirmed every one. A failure rolls the marks back: the jobs are published again.
async fn publish_batch(
    services: &Services,
    link: &AmqpLink,
    channel: &Channel,
) -> anyhow::Result<usize> {
    let mut tx = services.db.begin().await?;
    let due = repo::lock_unpublished(&mut tx, services.clock.now(), PUBLISH_BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut confirms = Vec::with_capacity(due.len());
    for (id, kind) in &due {
        let body = serde_json::to_vec(&Message {
            job_id: *id,
            kind: kind.clone(),
        })?;
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(ShortString::from("application/json"))
            .with_message_id(ShortString::from(id.to_string()))
            .with_type(ShortString::from(kind.as_str()));
        let confirm = channel
            .basic_publish(
                "".into(),
                link.queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &body,
                props,
            )
            .await?;
        confirms.push(confirm);
    }
    for confirm in confirms {
        let confirmation = tokio::time::timeout(BROKER_ANSWER, confirm)
            .await
            .map_err(|_| anyhow::anyhow!("the broker did not confirm a publish in time"))??;
        if !confirmation.is_ack() {
            anyhow::bail!("the broker refused a message: {confirmation:?}");
        }
        if confirmation.take_message().is_some() {
            anyhow::bail!("the broker returned a message: no queue took it");
        }
    }
    let ids: Vec<Uuid> = due.iter().map(|(id, _)| *id).collect();
    repo::mark_published(&mut tx, &ids, services.clock.now()).await?;
    tx.commit().await?;
    metrics::counter!("jobs_published_total").increment(ids.len() as u64);
    Ok(ids.len())
}

pub(crate) async fn consume_loop(
    services: Services,
    link: AmqpLink,
    worker: Arc<String>,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
) {
    let prefetch = u16::try_from(services.queue.settings().concurrency).unwrap_or(u16::MAX);
    let (services, link, worker, slots, stop) = (&services, &link, &worker, &slots, &stop);
    let session = move || async move {
        let (conn, channel) = link.open().await?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                link.queue.as_str().into(),
                ShortString::from(worker.as_str()),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        link.consumer_up.store(true, Ordering::Relaxed);
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => break,
                next = deliveries.next() => next,
            };
            let Some(delivery) = next else {
                anyhow::bail!("the broker closed the consumer");
            };
            let delivery = delivery?;
            let permit = slots.clone().acquire_owned().await?;
            let services = services.clone();
            let worker = worker.clone();
            tokio::spawn(async move {
                let acker = delivery.acker.clone();
                let outcome = handle_delivery(&services, &worker, &delivery.data).await;
                let answer = async {
                    match outcome {
                        Ok(()) => acker.ack(BasicAckOptions::default()).await,
                        Err(e) => {
                            tracing::warn!(error = %e, "a job message could not be handled; the broker will deliver it again");
                            acker
                                .nack(BasicNackOptions {
                                    requeue: true,
                                    ..Default::default()
                                })
                                .await
                        }
                    }
                };
                // If the connection is gone, the broker delivers the message again and
                // the ledger makes that second delivery a no-op.
                match tokio::time::timeout(BROKER_ANSWER, answer).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "acknowledging a job message failed")
                    }
                    Err(_) => tracing::debug!("the broker took no acknowledgement in time"),
                }
                drop(permit);
            });
        }
        Ok::<_, anyhow::Error>(conn)
    };
    reconnecting(
        "consuming jobs from RabbitMQ",
        &link.consumer_up,
        stop,
        session,
    )
    .await;
}

/// Claims and runs the job a message names. `Ok` means the message may be acknowledged:
/// the job ran and its outcome is committed, or the ledger says it is not this message's
/// to run (finished, running elsewhere, or not yet due and to be published again).
async fn handle_delivery(services: &Services, worker: &str, data: &[u8]) -> anyhow::Result<()> {
    let Ok(message) = serde_json::from_slice::<Message>(data) else {
        tracing::warn!("dropping a message that is not a Nexus job");
        return Ok(());
    };
    let now = services.clock.now();
    let until = now + Duration::from_secs(services.queue.settings().lease_secs);
    match repo::claim_one(&services.db, message.job_id, worker, now, until).await? {
        Some(job) => {
            super::worker::execute(services, worker, job).await;
            Ok(())
        }
        None => {
            metrics::counter!("jobs_duplicate_messages_total").increment(1);
            Ok(())
        }
    }
}
