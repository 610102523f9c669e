//! The layout rules, read off `src/` (design §1, the house issue): engine modules import neither
//! the view (`app`, `tui`) nor the terminal crates (`ratatui`, `crossterm`), and no two top-level
//! modules import each other, directly or round a ring. Test code (`#[cfg(test)]` items) is left
//! out of the import graph: a test may build a view fixture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The view side; `main.rs` wires it to the engine.
const VIEW: [&str; 2] = ["app", "tui"];

/// Source text with comments, string and char literals blanked (newlines kept, so lines stay right).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, s: &[u8]| out.extend(s.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let j = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (1, 2);
            while j < rest.len() && depth > 0 {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if (rest.starts_with(b"r#") || rest.starts_with(b"r\"") || rest.starts_with(b"br"))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && raw_string_len(rest).is_some()
        {
            let j = raw_string_len(rest).unwrap();
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let j = (j + 1).min(rest.len());
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest[0] == b'\'' && rest.len() > 2 && (rest[1] == b'\\' || rest[2] == b'\'') {
            // A char literal (a lifetime has no closing quote right after one character).
            let j = if rest[1] == b'\\' {
                rest[2..].iter().position(|&c| c == b'\'').map_or(rest.len(), |p| p + 3)
            } else {
                3
            };
            blank(&mut out, &rest[..j]);
            i += j;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Length of a raw string literal at the start of `s` (`r"…"`, `r#"…"#`, `br"…"`), if it is one.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let start = if s.starts_with(b"br") { 2 } else { 1 };
    let hashes = s[start..].iter().take_while(|&&c| c == b'#').count();
    if s.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = start + hashes + 1;
    let end = s[body..].windows(close.len()).position(|w| w == close.as_slice())?;
    Some(body + end + close.len())
}

/// Blank every item under `#[cfg(test)]`: up to its closing brace, or its `;` for a declaration.
fn without_tests(code: &str) -> String {
    let mut out: Vec<u8> = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(p) = code[from..].find("#[cfg(test)]") {
        let start = from + p;
        let b = code.as_bytes();
        let (mut j, mut depth) = (start + "#[cfg(test)]".len(), 0i32);
        while j < b.len() {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        for c in &mut out[start..j.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = j.min(code.len());
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// The top-level modules a file names with `crate::x` or `crate::{x, y::z}`, with line numbers.
fn crate_refs(code: &str) -> Vec<(usize, String)> {
    let re = regex::Regex::new(r"(?:^|[^\w$])\$?crate\s*::\s*(\w+|\{)").unwrap();
    let word = regex::Regex::new(r"^\s*(\w+)").unwrap();
    let line = |off: usize| code[..off].matches('\n').count() + 1;
    let mut refs = Vec::new();
    for m in re.captures_iter(code) {
        let g = m.get(1).unwrap();
        if g.as_str() != "{" {
            refs.push((line(g.start()), g.as_str().to_string()));
            continue;
        }
        let (mut depth, mut part_start) = (1, g.end());
        for (k, ch) in code[g.end()..].char_indices() {
            let at = g.end() + k;
            match ch {
                '{' => depth += 1,
                '}' | ',' if depth == 1 => {
                    if let Some(w) = word.captures(&code[part_start..at]) {
                        refs.push((line(part_start), w[1].to_string()));
                    }
                    part_start = at + 1;
                    if ch == '}' {
                        break;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
    }
    refs
}

/// `src/x.rs` and `src/x/…` belong to module `x`; `lib.rs` and `main.rs` to themselves.
fn top_module(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.strip_suffix(".rs").map(str::to_string).unwrap_or(first)
}

/// Offending imports: an engine file naming the view or a terminal crate ("file:line: what").
fn layer_violations(files: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let term = regex::Regex::new(r"(?:^|[^\w$:])(?:::)?(ratatui|crossterm)\s*(?:::|;|\bas\b)").unwrap();
    let mut bad = Vec::new();
    for (rel, text) in files {
        let m = top_module(rel);
        if VIEW.contains(&m.as_str()) || m == "main" {
            continue;
        }
        let code = code_only(text);
        for (line, target) in crate_refs(&code) {
            if VIEW.contains(&target.as_str()) {
                bad.push(format!("src/{}:{line}: imports crate::{target}", rel.display()));
            }
        }
        for c in term.captures_iter(&code) {
            let line = code[..c.get(1).unwrap().start()].matches('\n').count() + 1;
            bad.push(format!("src/{}:{line}: uses {}", rel.display(), &c[1]));
        }
    }
    bad
}

/// Rings in the graph of top-level modules (test code left out): each as "a -> b -> a".
fn module_cycles(files: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let mods: BTreeSet<String> = files.keys().map(|p| top_module(p)).filter(|m| m != "lib" && m != "main").collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let from = top_module(rel);
        if !mods.contains(&from) {
            continue;
        }
        for (_, to) in crate_refs(&without_tests(&code_only(text))) {
            if to != from && mods.contains(&to) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // A module is on a ring when it reaches itself; report each ring once, by its smallest member.
    let mut rings = BTreeSet::new();
    for start in &mods {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let mut ring = path.clone();
                    let min = ring.iter().enumerate().min_by_key(|(_, m)| m.as_str()).map(|(i, _)| i).unwrap();
                    ring.rotate_left(min);
                    ring.push(ring[0].clone());
                    rings.insert(ring.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    rings.into_iter().collect()
}

fn read_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<PathBuf, String> {
    files.iter().map(|(p, t)| (PathBuf::from(p), t.to_string())).collect()
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let t = tree(&[
        ("engine/mod.rs", "use crate::app::State;\nfn f() { let _ = \"crate::tui\"; } // crate::tui\n"),
        ("health/mod.rs", "use crate::{model::Event, tui::view};\nuse ratatui::Frame;\n"),
        ("model/mod.rs", "pub type Millis = i64;\n"),
        ("app/mod.rs", "use crate::model::Event;\nuse crossterm::event::KeyEvent;\n"),
        ("logs/mod.rs", "use crate::panels::X;\n#[cfg(test)]\nmod tests { use crate::scrape::Y; }\n"),
        ("panels.rs", "pub fn f() { crate::logs::g() }\n"),
        ("scrape/mod.rs", "use crate::logs::Z;\n"),
    ]);
    assert_eq!(
        layer_violations(&t),
        [
            "src/engine/mod.rs:1: imports crate::app",
            "src/health/mod.rs:1: imports crate::tui",
            "src/health/mod.rs:2: uses ratatui",
        ]
    );
    // logs <-> panels is a ring; scrape -> logs is not (logs uses scrape only in a test).
    assert_eq!(module_cycles(&t), ["logs -> panels -> logs"]);
}

#[test]
fn engine_modules_do_not_import_the_view_or_the_terminal() {
    let files = read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(files.len() > 20, "src/ read: {} files", files.len());
    let bad = layer_violations(&files);
    assert!(bad.is_empty(), "engine modules must not import app, tui, ratatui or crossterm:\n{}", bad.join("\n"));
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let files = read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let rings = module_cycles(&files);
    assert!(rings.is_empty(), "top-level modules import each other:\n{}", rings.join("\n"));
}
