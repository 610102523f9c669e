//! Notifications: terminal bell, Alertmanager API v2, webhooks.
