//! PromQL evaluation over the local `tsdb`, with Prometheus's semantics.

pub mod notation;
