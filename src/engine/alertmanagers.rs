//! The team's Alertmanagers as a view: a poller reads every one of them (groups and silences)
//! every few seconds, and at once after a silence was created or expired, and sends the merged
//! snapshot straight to the view (nothing in the engine needs it). Silences are created on
//! every configured Alertmanager; each one's answer is a notice.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::alertmanager::{self as am, NewSilence};
use crate::clock::SharedClock;
use crate::model::{Event, Matcher, Millis};

/// How often the Alertmanagers are read when nothing happens.
const POLL: Duration = Duration::from_secs(5);

pub(super) struct Alertmanagers {
    urls: Vec<String>,
    client: reqwest::Client,
    author: String,
    refresh: Arc<Notify>,
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Alertmanagers {
    fn drop(&mut self) {
        if let Some(p) = &self.poller {
            p.abort();
        }
    }
}

impl Alertmanagers {
    pub fn new(urls: Vec<String>, author: String, client: reqwest::Client) -> Alertmanagers {
        Alertmanagers { urls, client, author, refresh: Arc::new(Notify::new()), poller: None }
    }

    /// Start polling (nothing to do without an Alertmanager).
    pub fn spawn(&mut self, clock: SharedClock, events: mpsc::Sender<Event>) {
        if self.urls.is_empty() {
            return;
        }
        let (urls, client, refresh) = (self.urls.clone(), self.client.clone(), self.refresh.clone());
        self.poller = Some(tokio::spawn(async move {
            loop {
                let reads = urls.iter().map(|u| {
                    let client = &client;
                    async move { (u.clone(), am::fetch(client, u).await) }
                });
                let answers = futures::future::join_all(reads).await;
                let snap = am::merge(answers, clock.now());
                if events.send(Event::Alertmanager(snap)).await.is_err() {
                    return;
                }
                let _ = tokio::time::timeout(POLL, refresh.notified()).await;
            }
        }));
    }

    /// Create the silence on every Alertmanager; then read them again.
    pub fn create(
        &self,
        matchers: Vec<Matcher>,
        duration: Duration,
        comment: String,
        now: Millis,
        events: &mpsc::Sender<Event>,
    ) {
        let s = NewSilence {
            matchers,
            starts_at_ms: now,
            ends_at_ms: now + duration.as_millis() as i64,
            created_by: self.author.clone(),
            comment,
        };
        for u in &self.urls {
            let (client, u, s, events, refresh) =
                (self.client.clone(), u.clone(), s.clone(), events.clone(), self.refresh.clone());
            tokio::spawn(async move {
                let msg = match am::create(&client, &u, &s).await {
                    Ok(id) => format!("Alertmanager {u}: silence {id} created"),
                    Err(e) => format!("Alertmanager {u}: silence not created: {e}"),
                };
                let _ = events.send(Event::Notice(crate::sanitize::line(&msg).into_owned())).await;
                refresh.notify_one();
            });
        }
    }

    /// Expire a silence on the Alertmanager that holds it.
    pub fn expire(&self, id: String, source: String, events: &mpsc::Sender<Event>) {
        if !self.urls.contains(&source) {
            let msg = format!("silence {id} is on {source}, which is not configured: not expired");
            let _ = events.try_send(Event::Notice(crate::sanitize::line(&msg).into_owned()));
            return;
        }
        let (client, events, refresh) = (self.client.clone(), events.clone(), self.refresh.clone());
        tokio::spawn(async move {
            let msg = match am::expire(&client, &source, &id).await {
                Ok(()) => format!("Alertmanager {source}: silence {id} expired"),
                Err(e) => format!("Alertmanager {source}: silence {id} not expired: {e}"),
            };
            let _ = events.send(Event::Notice(crate::sanitize::line(&msg).into_owned())).await;
            refresh.notify_one();
        });
    }
}
