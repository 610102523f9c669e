//! The health poller: each environment's `/health`, polled on its interval.
