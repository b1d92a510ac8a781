//! Logging: tracing to standard error (standard output stays free for command results), as
//! text or JSON lines. `RUST_LOG`, when set, overrides the configured level.
//!
//! One event is one line in either format. Values that come from requests (a Destination, an
//! Issuer, a NameID, a user agent) may hold line breaks: JSON escapes them, and the text format
//! writes every control character in a field value or message as an escape (`\r`, `\n`,
//! `\u{1b}`, …), so that no value can start a line of its own that reads like another event.

use std::fmt;
use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{DefaultFields, FormatFields, Writer};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests start many apps) do nothing.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},diesel=warn,actix_server=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let result = match format {
        LogFormat::Text => {
            text(filter, std::io::stderr, std::io::stderr().is_terminal()).try_init()
        }
        LogFormat::Json => json(filter, std::io::stderr).try_init(),
    };
    // Already installed (several apps in one test process): keep the first.
    drop(result);
}

/// The text format: tracing's own, with [`EscapedFields`]; colours only for a terminal.
fn text<W>(filter: EnvFilter, writer: W, ansi: bool) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .fmt_fields(EscapedFields::default())
        .finish()
}

/// JSON lines: one object an event, its fields at the top level.
fn json<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .finish()
}

/// The text format's field formatter: tracing's default one, whose output (the message, then
/// `name=value` pairs, of events and of their spans) is written with every control character
/// escaped. Line and paragraph separators (U+2028, U+2029) too, which some viewers break on.
#[derive(Debug, Default)]
pub struct EscapedFields(DefaultFields);

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        // Formatted without colours: their escape sequences would be escaped below.
        let mut plain = String::new();
        self.0.format_fields(Writer::new(&mut plain), fields)?;
        write_escaped(&mut writer, &plain)
    }
}

/// Writes `text` with its control characters (and U+2028, U+2029) escaped.
fn write_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                write!(out, "\\u{{{:x}}}", u32::from(c))?;
            }
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

mod requests;

pub use requests::RedactedRootSpan;

#[cfg(test)]
mod tests;
