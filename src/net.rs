//! Small HTTP helpers shared by the sources that talk to endpoints.

/// An error with its causes, "error sending request for url (...): connection refused", without
/// repeating a cause the message already contains. Not sanitised: callers decide where it goes.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_are_appended_once() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(super::error_chain(&outer), "connection refused");
    }
}
