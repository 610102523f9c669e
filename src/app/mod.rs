//! Application state: what the engine has learned, folded from events, and what the view shows.
//! Sources and the engine send `Event`s (owned snapshots); `State::apply` folds them in; the TUI
//! renders `&State` and turns keys into `Action`s. No I/O here.

pub mod model;

pub use model::*;
