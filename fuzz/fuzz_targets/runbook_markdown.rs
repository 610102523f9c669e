//! Runbook markdown: label placeholders filled, then CommonMark (with task lists) into the
//! view's blocks. Oracle: every text the view shows is already sanitised, and the clipboard copy
//! of a code block holds nothing dangerous but newlines and tabs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::model::runbook::{Block, Span};
use opsdeck::runbook::{markdown, placeholders};
use opsdeck::sanitize;
use std::borrow::Cow;

fn clean(what: &str, s: &str) {
    assert!(matches!(sanitize::line(s), Cow::Borrowed(_)), "{what} is not sanitised: {s:?}");
}

fn spans(ss: &[Span]) {
    for s in ss {
        if !s.is_break() {
            clean("span text", &s.text);
        }
        if let Some(l) = &s.link {
            clean("a link", l);
        }
    }
}

fn blocks(bs: &[Block]) {
    for b in bs {
        match b {
            Block::Heading { text, .. } => spans(text),
            Block::Paragraph(s) => spans(s),
            Block::List(items) => {
                for i in items {
                    if let Some(st) = &i.step {
                        clean("a step id", &st.id);
                    }
                    blocks(&i.blocks);
                }
            }
            Block::Code(c) => {
                clean("a code block's language", &c.lang);
                c.lines.iter().for_each(|l| clean("a code line", l));
                // Newlines and tabs are kept for the clipboard; nothing else dangerous is.
                c.copy.split(['\n', '\t']).for_each(|part| clean("a code block's copy", part));
            }
            Block::Rule => {}
            Block::Quote(q) => blocks(q),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let labels = [("env".to_string(), "prod\u{1b}[2J".to_string()), ("ns".to_string(), "api".to_string())];
    let filled = placeholders::fill(text, &labels);
    let doc = markdown::parse(&filled);
    blocks(&doc.blocks);
    let steps = doc.steps();
    assert!(steps.iter().enumerate().all(|(i, (_, s))| s.index == i), "steps are numbered in reading order");
    let codes = doc.codes();
    assert!(codes.iter().enumerate().all(|(i, c)| c.index == i), "code blocks are numbered in reading order");
    let _ = doc.selectables();
    let _ = doc.units();
});
