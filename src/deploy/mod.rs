//! The deploy engine (design §5). Not built yet: the config is parsed and validated, and the
//! `deploy`/`rollback`/`history` commands say plainly that the engine is a later issue.

pub const NOT_BUILT: &str = "the deploy engine is not built yet (it is the next milestone: design §5). \
Nothing was deployed. In `opsdeck demo`, the fleet's deploy endpoint can be driven directly: \
POST /deploy with {\"version\": \"...\"} on an environment's API.";

pub mod http;
