//! A runbook beside a firing alert, in a real terminal: the release path end to end (rule file →
//! alert → `runbook_url` file → markdown on screen), hostile bytes escaped on the bytes tmux got,
//! `y` setting tmux's clipboard through OSC 52 byte for byte, and a ticked step surviving a restart.

use crate::common::{have_tmux, terminal_acts_on, Tmux, HOSTILE};

const RUNBOOK: &str = "# Cache eviction storm\n\n\
    Drain the {{ $labels.env }} queue first, then page team $labels.team.\n\n\
    - [ ] Check the eviction rate\n\
    - [ ] Raise maxmemory if the host has room\n\n\
    ```sh\nredis-cli -p 6380 CONFIG SET maxmemory 2gb\nredis-cli -p 6380 INFO stats\n```\n\n\
    See [the capacity guide](https://wiki.example.org/cap) first.\n\n\
    - one hA\x1b]52;c;SGFja2Vk\x07zA\n\
    - two hB\x1b[2JzB\n\
    - three hC\u{9b}31mzC\n\
    - four hD\u{202e}zD\n";

const CODE: &str = "redis-cli -p 6380 CONFIG SET maxmemory 2gb\nredis-cli -p 6380 INFO stats";

fn start(name: &'static str, dir: Option<&std::path::Path>) -> Tmux {
    let keep = dir.map(|d| d.to_path_buf());
    Tmux::opsdeck(name, 160, 60, "", move |scratch| {
        let dir = keep.unwrap_or_else(|| scratch.to_path_buf());
        let probes: String = HOSTILE.iter().map(|h| format!("- {h}\n")).collect();
        std::fs::write(dir.join("cache-evictions.md"), format!("{RUNBOOK}\n{probes}")).unwrap();
        let rules = format!(
            "groups:\n- name: rb\n  interval: 1s\n  rules:\n  - alert: CacheEvictionStorm\n    \
             expr: label_replace(label_replace(vector(1), \"env\", \"sandbox\", \"\", \"\"), \"team\", \"blue-owls\", \"\", \"\")\n    \
             labels: {{ severity: warning }}\n    annotations:\n      summary: cache evictions are climbing\n      \
             runbook_url: file://{}/cache-evictions.md\n",
            dir.display()
        );
        std::fs::write(dir.join("rules.yml"), rules).unwrap();
        std::fs::write(
            dir.join("opsdeck.toml"),
            "[alerting]\nrule_files = [\"rules.yml\"]\nevaluation_interval = \"1s\"\n",
        )
        .unwrap();
        format!("--config {} --state-dir {}", dir.join("opsdeck.toml").display(), dir.join("state").display())
    })
}

fn open_details(t: &Tmux) -> String {
    t.wait("the alert firing", 30, |s| s.contains("CacheEvictionStorm") && s.contains("firing"));
    t.keys(&["a"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.keys(&["Enter"]);
    t.wait("the runbook", 10, |s| s.contains("Cache eviction storm") && s.contains("hD"))
}

#[test]
fn a_runbook_beside_the_alert_copied_with_osc52_and_ticked_across_a_restart() {
    if !have_tmux() {
        return;
    }
    let t = start("runbook", None);
    t.record();
    assert!(t.tmux(&["set", "-g", "set-clipboard", "on"]).status.success());
    let s = open_details(&t);
    let s = if s.contains("zJ") { s } else { t.wait("every probe", 5, |s| s.contains("zJ")) };
    assert!(!s.contains("# Cache") && !s.contains("```") && !s.contains("$labels"), "{s}");
    assert!(s.contains("Drain the sandbox queue first, then page team blue-owls."), "{s}");
    assert!(s.contains("the capacity guide <https://wiki.example.org/cap>"), "{s}");
    for shown in ["hA\\x1b]52;c;SGFja2Vk\\x07zA", "hB\\x1b[2JzB", "hC\\u{9b}31mzC", "hD\\u{202e}zD"] {
        assert!(s.contains(shown), "{shown} not shown escaped:\n{s}");
    }
    // The bytes tmux holds for the pane: colours (SGR) only, no other escape, no raw C1 or bidi.
    let esc = String::from_utf8_lossy(&t.tmux(&["capture-pane", "-e", "-p"]).stdout).into_owned();
    let stripped = regex::Regex::new(r"\x1b\[[0-9;:]*m").unwrap().replace_all(&esc, "");
    assert!(
        !stripped.chars().any(|c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)),
        "an escape reached the terminal:\n{stripped:?}"
    );
    // And on the bytes opsdeck sent, before `y` sends its one OSC 52 on purpose.
    let raw = t.raw();
    assert!(raw.windows(2).any(|w| w == b"zJ"), "the recording holds the runbook");
    let bad = terminal_acts_on(&raw);
    assert!(bad.is_empty(), "the pane received what a terminal acts on: {bad:?}");
    for marker in ["zA", "zB", "zC", "zD", "zE", "zF", "zG", "zH", "zI", "hJ宽字符🙂zJ"] {
        assert!(s.contains(marker), "probe {marker} not on screen:\n{s}");
    }

    // y: the runbook's only code block into tmux's clipboard, and nothing from the hostile line.
    t.keys(&["y"]);
    let mut buf = String::new();
    for _ in 0..30 {
        buf = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
        if buf.contains("maxmemory") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(buf, CODE, "OSC 52 byte for byte");
    let buffers = String::from_utf8_lossy(&t.tmux(&["list-buffers", "-F", "#{buffer_sample}"]).stdout).into_owned();
    assert!(!buffers.contains("Hacked"), "{buffers}");
    t.wait("the copy notice", 5, |s| s.contains("sent to the clipboard"));

    // j to the first step, Space ticks it; the tick is kept in the state dir.
    t.keys(&["j", "j", "Space"]);
    t.wait("the step ticked", 5, |s| s.contains("[x] Check the eviction rate"));
    t.keys(&["Escape", "q"]);
    t.wait("the exit", 10, |s| s.contains("EXITED 0"));
    let saved = std::fs::read_to_string(t.dir.path().join("state/runbook_ticks.json")).unwrap();
    assert!(saved.contains("Check the eviction rate"), "{saved}");

    // A restart in the middle of the incident keeps where on-call had got to.
    let again = start("runbook2", Some(t.dir.path()));
    let s = open_details(&again);
    assert!(s.contains("[x] Check the eviction rate") && s.contains("[ ] Raise maxmemory"), "{s}");
}
