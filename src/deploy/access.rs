//! Who may act on an environment: read-only mode refuses every action, `allowed_users` names
//! users and `@group`s (checked against `SUDO_USER`, then `USER`, as the audit log records them).

use std::path::Path;

/// `None` when `user` may act; otherwise why not.
pub fn refusal(user: &str, allowed: &[String]) -> Option<String> {
    if allowed.is_empty() || allowed.iter().any(|a| a == user) {
        return None;
    }
    let groups = groups_of(user, Path::new("/etc/passwd"), Path::new("/etc/group"));
    if allowed.iter().filter_map(|a| a.strip_prefix('@')).any(|g| groups.iter().any(|m| m == g)) {
        return None;
    }
    Some(format!("{user} is not in allowed_users ({})", allowed.join(", ")))
}

/// The groups `user` belongs to: its primary group (passwd) and every group listing it.
fn groups_of(user: &str, passwd: &Path, group: &Path) -> Vec<String> {
    let passwd = std::fs::read_to_string(passwd).unwrap_or_default();
    let primary = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == user).then(|| f[3].to_string())
    });
    let groups = std::fs::read_to_string(group).unwrap_or_default();
    groups
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            let member = f[3].split(',').any(|m| m.trim() == user) || primary.as_deref() == Some(f[2]);
            member.then(|| f[0].to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_groups() {
        let dir = tempfile::tempdir().unwrap();
        let (p, g) = (dir.path().join("passwd"), dir.path().join("group"));
        std::fs::write(&p, "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n").unwrap();
        std::fs::write(&g, "alice:x:1000:\noncall:x:2000:bob,carol\n").unwrap();
        assert_eq!(groups_of("bob", &p, &g), ["oncall"]);
        assert_eq!(groups_of("alice", &p, &g), ["alice"]);
        assert!(refusal("anyone", &[]).is_none());
        assert!(refusal("alice", &["alice".into()]).is_none());
        let why = refusal("mallory", &["alice".into(), "@oncall".into()]).unwrap();
        assert!(why.contains("mallory") && why.contains("@oncall"), "{why}");
    }
}
