//! A value with line breaks stays on its event's line, in both formats.

use std::io;
use std::sync::{Arc, Mutex};

use super::*;

/// A log destination the test reads back.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const FORGED: &str = "jane@acme.test\r\n2026-12-01T00:00:00Z  INFO idgate: admin root signed in";

/// What a refused sign-in logs, with request values in a span field, event fields (Display and
/// Debug) and the message.
fn log_a_refusal() {
    let span = tracing::info_span!("request", user_agent = %"curl\n\u{1b}[2J\u{2028}x");
    let _entered = span.enter();
    tracing::warn!(
        name_id = %FORGED,
        issuer = ?"https://idp.test/\n",
        "SAML sign-in refused for {}",
        "jane\r\nINFO forged\ttab\u{7}"
    );
}

#[test]
fn text_logs_escape_control_characters_in_every_field_and_the_message() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = text(EnvFilter::new("info"), move || writer.clone(), false);
    tracing::subscriber::with_default(subscriber, log_a_refusal);
    let text = out.text();
    assert_eq!(text.lines().count(), 1, "one event, one line: {text}");
    assert!(text.ends_with('\n'), "{text}");
    let line = text.trim_end_matches('\n');
    assert!(
        !line.chars().any(|c| c.is_control() || c == '\u{2028}'),
        "no raw control character: {line:?}"
    );
    for escaped in [
        r"user_agent=curl\n\u{1b}[2J\u{2028}x",
        r"name_id=jane@acme.test\r\n2026-12-01T00:00:00Z  INFO idgate: admin root signed in",
        r#"issuer="https://idp.test/\n""#,
        r"SAML sign-in refused for jane\r\nINFO forged\ttab\x07",
    ] {
        assert!(line.contains(escaped), "{escaped} in {line}");
    }
}

#[test]
fn write_escaped_leaves_printable_text_alone() {
    let mut out = String::new();
    write_escaped(&mut out, "Zürich \"quoted\" back\\slash a=b").unwrap();
    assert_eq!(out, "Zürich \"quoted\" back\\slash a=b");
    out.clear();
    write_escaped(&mut out, "\u{0}\u{85}\u{2029}").unwrap();
    assert_eq!(out, r"\u{0}\u{85}\u{2029}");
}

#[test]
fn json_logs_are_one_object_a_line_with_the_values_intact() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = json(EnvFilter::new("info"), move || writer.clone());
    tracing::subscriber::with_default(subscriber, log_a_refusal);
    let text = out.text();
    assert_eq!(text.lines().count(), 1, "one event, one line: {text}");
    let event: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(event["name_id"], FORGED, "escaped by JSON, read back whole");
    assert_eq!(
        event["message"],
        "SAML sign-in refused for jane\r\nINFO forged\ttab\u{7}"
    );
}
