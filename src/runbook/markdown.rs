//! Markdown → `model::runbook::Doc`, with pulldown-cmark (a maintained CommonMark parser with the
//! GFM task lists on-call runbooks use). Every piece of text goes through `sanitize` here, so
//! escapes in a runbook reach the screen as visible `\x1b` text, never as raw bytes.

use std::collections::HashMap;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::model::runbook::{Block, Code, Doc, Item, Marker, Span, Step};
use crate::sanitize;

/// Parse a runbook. Never fails: anything CommonMark does not give a structure to is text.
pub fn parse(text: &str) -> Doc {
    let opts = Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH;
    let mut b = Builder::default();
    b.frames.push(Frame::new(Kind::Root));
    for ev in Parser::new_ext(text, opts) {
        b.event(ev);
    }
    while b.frames.len() > 1 {
        b.close();
    }
    let mut root = b.frames.pop().unwrap_or_else(|| Frame::new(Kind::Root));
    root.flush_spans();
    Doc { blocks: root.blocks }
}

/// What is open while events arrive.
enum Kind {
    Root,
    Quote,
    /// `Some(n)`: ordered, the next item's number.
    List(Option<u64>),
    Item {
        marker: Marker,
        step: Option<usize>,
    },
    Paragraph,
    Heading(u8),
    Code {
        lang: String,
        raw: String,
    },
}

struct Frame {
    kind: Kind,
    blocks: Vec<Block>,
    items: Vec<Item>,
    spans: Vec<Span>,
}

impl Frame {
    fn new(kind: Kind) -> Frame {
        Frame { kind, blocks: Vec::new(), items: Vec::new(), spans: Vec::new() }
    }

    /// Text that arrived outside a paragraph (a tight list item's) becomes one.
    fn flush_spans(&mut self) {
        if !self.spans.is_empty() {
            let spans = std::mem::take(&mut self.spans);
            self.blocks.push(Block::Paragraph(spans));
        }
    }
}

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    bold: u32,
    italic: u32,
    strike: u32,
    links: Vec<String>,
    steps: usize,
    codes: usize,
    /// Step ids seen, for `#n` on a repeated step text.
    ids: HashMap<String, usize>,
}

impl Builder {
    fn top(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the root frame stays open")
    }

    fn open(&mut self, kind: Kind) {
        // A block starting inside an item ends the item's loose text first.
        if !matches!(kind, Kind::Item { .. }) {
            self.top().flush_spans();
        }
        self.frames.push(Frame::new(kind));
    }

    fn text(&mut self, text: &str, code: bool) {
        if text.is_empty() {
            return;
        }
        let span = Span {
            text: sanitize::line(text).into_owned(),
            bold: self.bold > 0,
            italic: self.italic > 0,
            strike: self.strike > 0,
            code,
            link: self.links.last().cloned(),
        };
        if let Kind::Code { raw, .. } = &mut self.top().kind {
            raw.push_str(text);
            return;
        }
        self.top().spans.push(span);
    }

    fn line_break(&mut self) {
        self.top().spans.push(Span { text: "\n".into(), ..Span::default() });
    }

    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::Text(t) => self.text(&t, false),
            Event::Code(t) => self.text(&t, true),
            // Raw HTML is shown as the text it is: nothing in a runbook is interpreted.
            Event::Html(t) | Event::InlineHtml(t) => {
                for (i, line) in t.lines().enumerate() {
                    if i > 0 {
                        self.line_break();
                    }
                    self.text(line, false);
                }
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, true),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]"), false),
            Event::SoftBreak => self.text(" ", false),
            Event::HardBreak => self.line_break(),
            Event::Rule => {
                self.top().flush_spans();
                self.top().blocks.push(Block::Rule);
            }
            Event::TaskListMarker(checked) => {
                let steps = &mut self.steps;
                // The innermost open item (a loose item has its paragraph open above it).
                if let Some(Kind::Item { marker, step }) =
                    self.frames.iter_mut().rev().map(|f| &mut f.kind).find(|k| matches!(k, Kind::Item { .. }))
                {
                    *marker = Marker::Task(checked);
                    if step.is_none() {
                        *step = Some(*steps);
                        *steps += 1;
                    }
                }
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.open(Kind::Paragraph),
            Tag::Heading { level, .. } => self.open(Kind::Heading(level as u8)),
            Tag::BlockQuote(_) => self.open(Kind::Quote),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or("").to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.open(Kind::Code { lang, raw: String::new() });
            }
            Tag::List(start) => self.open(Kind::List(start)),
            Tag::Item => {
                let number = match &mut self.top().kind {
                    Kind::List(Some(n)) => {
                        let this = *n;
                        *n += 1;
                        Some(this)
                    }
                    _ => None,
                };
                let (marker, step) = match number {
                    // Numbered steps are steps: they can be ticked like a task list.
                    Some(n) => {
                        self.steps += 1;
                        (Marker::Number(n), Some(self.steps - 1))
                    }
                    None => (Marker::Bullet, None),
                };
                self.open(Kind::Item { marker, step });
            }
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.links.push(sanitize::line(&dest_url).into_owned())
            }
            // Not enabled (tables, footnotes, definition lists, metadata): their text still shows.
            _ => {}
        }
    }

    fn end(&mut self, end: TagEnd) {
        match end {
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link | TagEnd::Image => {
                self.links.pop();
            }
            TagEnd::Paragraph
            | TagEnd::Heading(_)
            | TagEnd::BlockQuote(_)
            | TagEnd::CodeBlock
            | TagEnd::List(_)
            | TagEnd::Item => self.close(),
            _ => {}
        }
    }

    /// Close the innermost frame and hand what it built to its parent.
    fn close(&mut self) {
        if self.frames.len() <= 1 {
            return;
        }
        let mut f = self.frames.pop().expect("checked above");
        match f.kind {
            Kind::Root => {}
            Kind::Paragraph => self.top().blocks.push(Block::Paragraph(f.spans)),
            Kind::Heading(level) => self.top().blocks.push(Block::Heading { level, text: f.spans }),
            Kind::Quote => {
                f.flush_spans();
                self.top().blocks.push(Block::Quote(f.blocks));
            }
            Kind::Code { lang, raw } => {
                let index = self.codes;
                self.codes += 1;
                let code = code_block(index, &lang, &raw);
                self.top().blocks.push(Block::Code(code));
            }
            Kind::List(_) => self.top().blocks.push(Block::List(f.items)),
            Kind::Item { marker, step } => {
                f.flush_spans();
                let step = step.map(|index| Step { index, id: self.step_id(&f.blocks) });
                let item = Item { marker, step, blocks: f.blocks };
                match &mut self.top().kind {
                    Kind::List(_) => self.top().items.push(item),
                    // An item outside a list cannot come from the parser; keep its text anyway.
                    _ => self.top().blocks.push(Block::List(vec![item])),
                }
            }
        }
    }

    /// A step's id: its first paragraph's text, `#2`, `#3`… on repeats.
    fn step_id(&mut self, blocks: &[Block]) -> String {
        let text: String = blocks
            .iter()
            .find_map(|b| match b {
                Block::Paragraph(s) => Some(s.iter().filter(|s| !s.is_break()).map(|s| s.text.as_str()).collect()),
                _ => None,
            })
            .unwrap_or_default();
        let text = text.trim().to_string();
        let n = self.ids.entry(text.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            text
        } else {
            format!("{text} #{n}")
        }
    }
}

fn code_block(index: usize, lang: &str, raw: &str) -> Code {
    let body = raw.strip_suffix('\n').unwrap_or(raw);
    // CRLF runbooks (from a Windows wiki export) would otherwise show `\r` on every line.
    let lines: Vec<&str> = body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let copy = lines
        .iter()
        .map(|l| l.split('\t').map(|part| sanitize::line(part)).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n");
    Code {
        index,
        lang: sanitize::line(lang).into_owned(),
        lines: lines.iter().map(|l| sanitize::line(l).into_owned()).collect(),
        copy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::runbook::Selectable;

    fn plain(spans: &[Span]) -> String {
        spans.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn headings_paragraphs_emphasis_and_links() {
        let d = parse(
            "# Cache *storm*\n\nDrain **now**, see [the guide](https://wiki.example.org/cap) and `INFO`.\n\n---\n",
        );
        let Block::Heading { level: 1, text } = &d.blocks[0] else { panic!("{:?}", d.blocks[0]) };
        assert_eq!(plain(text), "Cache storm");
        assert!(text[1].italic && !text[0].italic);
        let Block::Paragraph(p) = &d.blocks[1] else { panic!("{:?}", d.blocks[1]) };
        assert_eq!(plain(p), "Drain now, see the guide and INFO.");
        let now = p.iter().find(|s| s.text == "now").unwrap();
        assert!(now.bold);
        let link = p.iter().find(|s| s.text == "the guide").unwrap();
        assert_eq!(link.link.as_deref(), Some("https://wiki.example.org/cap"));
        assert!(p.iter().find(|s| s.text == "INFO").unwrap().code);
        assert_eq!(d.blocks[2], Block::Rule);
    }

    #[test]
    fn task_lists_and_ordered_lists_are_steps_bullets_are_not() {
        let md = "- [ ] check the rate\n- [x] page the team\n- a note\n\n3. restart\n4. verify\n   - [ ] nested step\n";
        let d = parse(md);
        let Block::List(tasks) = &d.blocks[0] else { panic!() };
        assert_eq!(tasks[0].marker, Marker::Task(false));
        assert_eq!(tasks[1].marker, Marker::Task(true));
        assert_eq!(tasks[2].marker, Marker::Bullet);
        assert!(tasks[2].step.is_none());
        let Block::List(ordered) = &d.blocks[1] else { panic!() };
        assert_eq!(ordered[0].marker, Marker::Number(3));
        assert_eq!(ordered[1].marker, Marker::Number(4));
        let ids: Vec<_> = d.steps().iter().map(|(_, s)| (s.index, s.id.clone())).collect();
        assert_eq!(
            ids,
            [
                (0, "check the rate".to_string()),
                (1, "page the team".into()),
                (2, "restart".into()),
                (3, "verify".into()),
                (4, "nested step".into())
            ]
        );
    }

    #[test]
    fn code_blocks_keep_their_text_without_fences() {
        let d = parse("Run:\n\n```sh\nredis-cli INFO stats\n\tredis-cli PING\n```\n\n    indented\n");
        let codes = d.codes();
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[0].lang, "sh");
        assert_eq!(codes[0].copy, "redis-cli INFO stats\n\tredis-cli PING");
        assert_eq!(codes[0].lines, ["redis-cli INFO stats", "\\tredis-cli PING"]);
        assert_eq!((codes[1].lang.as_str(), codes[1].copy.as_str()), ("", "indented"));
        assert_eq!(d.selectables(), [Selectable::Code(0), Selectable::Code(1)]);
    }

    #[test]
    fn hostile_bytes_are_shown_escaped_in_text_and_code() {
        let md = "- one hA\x1b]52;c;SGFja2Vk\x07zA\n- two hB\x1b[2JzB\n- three hC\u{9b}31mzC\n- four hD\u{202e}zD\n\n\
                  ```\nrm\x1b[201~ -rf\u{200b} /\r\n```\n";
        let d = parse(md);
        let Block::List(items) = &d.blocks[0] else { panic!() };
        let texts: Vec<String> = items
            .iter()
            .map(|i| match &i.blocks[0] {
                Block::Paragraph(s) => plain(s),
                b => panic!("{b:?}"),
            })
            .collect();
        assert_eq!(
            texts,
            ["one hA\\x1b]52;c;SGFja2Vk\\x07zA", "two hB\\x1b[2JzB", "three hC\\u{9b}31mzC", "four hD\\u{202e}zD"]
        );
        let code = d.codes()[0];
        assert_eq!(code.lines, ["rm\\x1b[201~ -rf\\u{200b} /"]);
        assert_eq!(code.copy, "rm\\x1b[201~ -rf\\u{200b} /", "no control character reaches the clipboard");
    }

    #[test]
    fn quotes_html_and_breaks_stay_text() {
        let d = parse("> careful:\n> **prod** only\n\n<b>raw</b>\n\nline one  \nline two\n");
        let Block::Quote(q) = &d.blocks[0] else { panic!("{:?}", d.blocks) };
        let Block::Paragraph(p) = &q[0] else { panic!() };
        assert_eq!(plain(p), "careful: prod only");
        let Block::Paragraph(h) = &d.blocks[1] else { panic!("{:?}", d.blocks[1]) };
        assert_eq!(plain(h), "<b>raw</b>");
        let Block::Paragraph(b) = &d.blocks[2] else { panic!() };
        assert!(b.iter().any(Span::is_break));
        assert_eq!(plain(b), "line one\nline two");
    }

    #[test]
    fn repeated_step_texts_get_distinct_ids() {
        let d = parse("- [ ] restart\n- [ ] restart\n");
        let ids: Vec<_> = d.steps().iter().map(|(_, s)| s.id.clone()).collect();
        assert_eq!(ids, ["restart", "restart #2"]);
    }
}
