//! The deploy engine (design §5): deploy, rollback and promote, one flow for the dashboard and
//! the headless commands, independent of the terminal.
//!
//! - [`flow`]: the steps of one operation and how checks are counted, over [`flow::Ports`];
//! - [`live`]: those ports on the real world (health checks, the gate watcher, the drivers);
//! - [`operate`]: everything around the flow: read-only, permission, confirmation, the lock, the
//!   journal's start record, the audit log; also the plan printed by `--dry-run`;
//! - [`journal`], [`audit`], [`lock`]: what is written to disk, and the cross-process lock;
//! - [`gates`]: the alert rules that judge a deploy, evaluated on fresh scrapes;
//! - [`http`], [`command`]: the two drivers; [`versions`]: what the picker offers;
//! - [`access`]: who may act.

pub mod access;
pub mod audit;
pub mod cli;
pub use crate::command;
pub mod flow;
pub mod gates;
pub mod http;
pub mod journal;
pub mod live;
pub mod lock;
pub mod operate;
pub mod versions;
