//! The deploy engine (design §5). Not built yet: the config is parsed and validated, and the
//! `deploy`/`rollback`/`history` commands say plainly that the engine is a later issue. What exists
//! is the `http` driver's trigger step (`http::trigger`), which the dashboard's `d` key uses
//! directly and the engine will reuse once journal, verification and rollback exist; and the
//! cross-process lock (`lock`), tested but not yet taken by any command.

pub mod http;
pub mod lock;

pub const NOT_BUILT: &str = "the deploy engine is not built yet (it is the next milestone: design §5). \
Nothing was deployed. The dashboard's `d` key can trigger an environment's http deploy endpoint \
(without verification or rollback); in `opsdeck demo`, the fleet's deploy endpoint can also be driven \
directly: POST /deploy with {\"version\": \"...\"} on an environment's API.";
