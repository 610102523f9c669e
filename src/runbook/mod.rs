//! Runbooks beside the alert (issue 14, part 3), the engine side: where an alert's runbook comes
//! from and loading it within bounds (`source`), its label placeholders (`placeholders`), markdown
//! into the terminal-free `model::runbook::Doc` (`markdown`), and the steps ticked per alert
//! instance (`ticks`). Nothing here knows the terminal, and nothing in a runbook is ever run.

pub mod markdown;
pub mod placeholders;
pub mod source;
pub mod ticks;

use std::path::PathBuf;

use crate::model::runbook::Doc;
use crate::model::Millis;
pub use source::{Loader, Location};

/// What an alert's runbook is looked up by.
#[derive(Debug, Clone)]
pub struct AlertRef {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub runbook_url: Option<String>,
}

/// Where runbooks are looked for: `[alerting] runbooks` and the config's folder, both resolved.
#[derive(Debug, Clone, Default)]
pub struct Places {
    pub dir: Option<PathBuf>,
    pub base: PathBuf,
}

impl Places {
    pub fn from_config(cfg: &crate::config::Config) -> Places {
        Places { dir: cfg.alerting.runbooks.as_deref().map(|d| cfg.resolve(d)), base: cfg.base_dir() }
    }
}

/// Load, fill and parse an alert's runbook. The source (shown even on failure) and the document
/// or why there is none; `(None, Err(..))` only when no runbook is configured for the alert.
pub async fn load(
    loader: &Loader,
    places: &Places,
    alert: &AlertRef,
    now: Millis,
) -> (Option<String>, Result<Doc, String>) {
    let loc = match source::locate(&alert.name, alert.runbook_url.as_deref(), places.dir.as_deref(), &places.base) {
        Ok(Some(loc)) => loc,
        Ok(None) => return (None, Err(NONE.to_string())),
        Err(e) => {
            let shown = alert.runbook_url.clone().or_else(|| places.dir.as_deref().map(|d| d.display().to_string()));
            return (
                shown.map(|s| crate::sanitize::line(&s).into_owned()),
                Err(crate::sanitize::line(&e).into_owned()),
            );
        }
    };
    let shown = crate::sanitize::line(&loc.shown()).into_owned();
    let doc = loader
        .load(&loc, now)
        .await
        .map(|text| markdown::parse(&placeholders::fill(&text, &alert.labels)))
        .map_err(|e| crate::sanitize::line(&e).into_owned());
    (Some(shown), doc)
}

/// Why an alert has no runbook section to show.
pub const NONE: &str = "no runbook: the alert has no runbook_url annotation and [alerting] runbooks is not set";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::runbook::Block;

    #[tokio::test]
    async fn a_runbook_from_the_folder_is_filled_then_parsed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("rb")).unwrap();
        std::fs::write(
            d.path().join("rb/cache-evictions.md"),
            "# Storm in {{ $labels.env }}\n\n`redis -n $labels.env`\n",
        )
        .unwrap();
        let places = Places { dir: Some(d.path().join("rb")), base: d.path().into() };
        let alert = AlertRef {
            name: "CacheEvictions".into(),
            labels: vec![("env".into(), "sandbox".into())],
            runbook_url: None,
        };
        let (src, doc) = load(&Loader::new(crate::net::client()), &places, &alert, 0).await;
        assert_eq!(src.unwrap(), d.path().join("rb/cache-evictions.md").display().to_string());
        let doc = doc.unwrap();
        let Block::Heading { text, .. } = &doc.blocks[0] else { panic!() };
        assert_eq!(text[0].text, "Storm in sandbox");
        let Block::Paragraph(p) = &doc.blocks[1] else { panic!() };
        assert!(p[0].code && p[0].text == "redis -n sandbox");

        // A missing file keeps its URL visible beside the reason.
        let gone =
            AlertRef { name: "Gone".into(), labels: vec![], runbook_url: Some("file:///nonexistent/rb.md".into()) };
        let (src, doc) = load(&Loader::new(crate::net::client()), &places, &gone, 0).await;
        assert_eq!(src.as_deref(), Some("/nonexistent/rb.md"));
        assert_eq!(doc.unwrap_err(), "no such file /nonexistent/rb.md");
        let (src, doc) =
            load(&Loader::new(crate::net::client()), &Places::default(), &AlertRef { runbook_url: None, ..gone }, 0)
                .await;
        assert_eq!((src, doc.unwrap_err()), (None, NONE.to_string()));
    }
}
