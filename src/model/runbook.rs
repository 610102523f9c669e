//! A runbook as the view shows it: markdown parsed by `runbook::markdown` into blocks and styled
//! spans, with no terminal in it. Every text here went through `sanitize`; only `Block::Code`'s
//! `copy` keeps the code's text for the clipboard (and even that without control characters).

use std::collections::BTreeMap;

/// A parsed runbook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// `#`..`######`, the markup dropped.
    Heading {
        level: u8,
        text: Vec<Span>,
    },
    Paragraph(Vec<Span>),
    /// A bullet, ordered or task list; items may hold paragraphs, nested lists and code.
    List(Vec<Item>),
    Code(Code),
    /// `---`
    Rule,
    Quote(Vec<Block>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub marker: Marker,
    /// Set on task items and ordered steps: the step's place among the document's steps.
    pub step: Option<Step>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Bullet,
    Number(u64),
    /// `- [ ]` / `- [x]`: whether the markdown itself has it checked.
    Task(bool),
}

/// A tickable step: task items and ordered-list items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 0-based, in reading order.
    pub index: usize,
    /// What the tick is saved under: the step's text (with `#n` for a repeated text), so a tick
    /// stays on its step when a runbook gains or loses steps elsewhere.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// 0-based, in reading order.
    pub index: usize,
    /// The fence's info string (`sh`), sanitised.
    pub lang: String,
    /// One sanitised line per line of code, for the screen.
    pub lines: Vec<String>,
    /// The code as written, for the clipboard: newlines and tabs kept, any other control
    /// character shown escaped (a pasted ESC could end bracketed paste and run what follows).
    pub copy: String,
}

/// A run of text with one style. A span whose text is exactly `"\n"` is a hard line break
/// (sanitised text never holds a raw newline, so it cannot be confused with content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub strike: bool,
    pub code: bool,
    /// Inside a link: its (sanitised) URL, shown after the link's text.
    pub link: Option<String>,
}

impl Span {
    pub fn is_break(&self) -> bool {
        self.text == "\n"
    }
}

impl Doc {
    /// Every step, in reading order (index = `Step::index`).
    pub fn steps(&self) -> Vec<(&Item, &Step)> {
        let mut out = Vec::new();
        walk(&self.blocks, &mut |n| {
            if let Node::Item(i) = n {
                out.extend(i.step.as_ref().map(|s| (i, s)));
            }
        });
        out
    }

    /// Every code block, in reading order.
    pub fn codes(&self) -> Vec<&Code> {
        let mut out = Vec::new();
        walk(&self.blocks, &mut |n| {
            if let Node::Block(Block::Code(c)) = n {
                out.push(c);
            }
        });
        out
    }

    /// What `j`/`k` move through: steps and code blocks, in reading order.
    pub fn selectables(&self) -> Vec<Selectable> {
        let mut out = Vec::new();
        walk(&self.blocks, &mut |n| match n {
            Node::Item(Item { step: Some(s), .. }) => out.push(Selectable::Step(s.index)),
            Node::Block(Block::Code(c)) => out.push(Selectable::Code(c.index)),
            _ => {}
        });
        out
    }
}

/// One thing the cursor can rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selectable {
    Step(usize),
    Code(usize),
}

enum Node<'a> {
    Block(&'a Block),
    Item(&'a Item),
}

/// Reading order: each block, and each list item before what it holds.
fn walk<'a>(blocks: &'a [Block], f: &mut impl FnMut(Node<'a>)) {
    for b in blocks {
        f(Node::Block(b));
        match b {
            Block::List(items) => {
                for i in items {
                    f(Node::Item(i));
                    walk(&i.blocks, f);
                }
            }
            Block::Quote(inner) => walk(inner, f),
            _ => {}
        }
    }
}

/// One thing the details' cursor rests on: the runbook flattened in reading order, each heading,
/// paragraph, list item, code block and rule a unit of its own, with its nesting. The view draws
/// units and the keys move over them, so both agree on what "the selected step" is.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    /// List nesting (0 at the top level).
    pub depth: usize,
    /// Inside a block quote.
    pub quote: bool,
    /// A blank line goes before it (a new block, not the next item of a list).
    pub gap: bool,
    pub kind: UnitKind<'a>,
}

#[derive(Debug, Clone, Copy)]
pub enum UnitKind<'a> {
    Heading(u8, &'a [Span]),
    Text(&'a [Span]),
    /// A list item with its first paragraph (its other blocks follow as units one level deeper).
    Item(&'a Item, &'a [Span]),
    Code(&'a Code),
    Rule,
}

impl Doc {
    pub fn units(&self) -> Vec<Unit<'_>> {
        let mut out = Vec::new();
        flatten(&self.blocks, 0, false, &mut out);
        out
    }
}

fn flatten<'a>(blocks: &'a [Block], depth: usize, quote: bool, out: &mut Vec<Unit<'a>>) {
    for b in blocks {
        // Inside a list item everything is tight; at the top, blocks are apart.
        let gap = depth == 0 && !out.is_empty();
        let kind = match b {
            Block::Heading { level, text } => Some(UnitKind::Heading(*level, text)),
            Block::Paragraph(spans) => Some(UnitKind::Text(spans)),
            Block::Code(c) => Some(UnitKind::Code(c)),
            Block::Rule => Some(UnitKind::Rule),
            Block::Quote(_) | Block::List(_) => None,
        };
        if let Some(kind) = kind {
            out.push(Unit { depth, quote, gap, kind });
            continue;
        }
        match b {
            Block::Quote(inner) => {
                let at = out.len();
                flatten(inner, depth, true, out);
                if let Some(u) = out.get_mut(at) {
                    u.gap = depth == 0 && at > 0;
                }
            }
            Block::List(items) => {
                for (n, item) in items.iter().enumerate() {
                    let (first, rest): (&[Span], &[Block]) = match item.blocks.first() {
                        Some(Block::Paragraph(p)) => (p, &item.blocks[1..]),
                        _ => (&[], &item.blocks[..]),
                    };
                    let gap = n == 0 && depth == 0 && !out.is_empty();
                    out.push(Unit { depth, quote, gap, kind: UnitKind::Item(item, first) });
                    flatten(rest, depth + 1, quote, out);
                }
            }
            _ => {}
        }
    }
}

/// The engine's answer to `Command::LoadRunbook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookView {
    /// The alert instance (`AlertView::key`) it was loaded for.
    pub key: String,
    /// Where it came from (URL or path), sanitised: shown even when loading failed.
    pub source: Option<String>,
    /// The runbook, or why there is none, in words.
    pub doc: Result<Doc, String>,
    /// Steps ticked (true) or unticked (false) by the user, by `Step::id`.
    pub ticks: BTreeMap<String, bool>,
}

impl RunbookView {
    /// Whether a step is ticked: the user's tick, else the markdown's own `[x]`.
    pub fn ticked(&self, item: &Item) -> bool {
        let own = matches!(item.marker, Marker::Task(true));
        item.step.as_ref().and_then(|s| self.ticks.get(&s.id).copied()).unwrap_or(own)
    }
}
