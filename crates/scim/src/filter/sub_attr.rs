//! A value path followed by a sub-attribute, `emails[type eq "work"].value eq "x"`, which Entra
//! ID sends to match users by email. RFC 7644's filter grammar has no such form (only PATCH
//! paths do), so `scim_v2` refuses it; it means what the RFC writes as
//! `emails[type eq "work" and value eq "x"]`: some element of `emails` is of type work and has
//! that value. This module rewrites the first form into the second before parsing.

use std::borrow::Cow;

/// `attr[inner].sub <op> <value>` (or `attr[inner].sub pr`) becomes
/// `attr[(inner) and sub <op> <value>]`; the rest of the text, string literals included, is
/// copied as it is. Text that does not have this shape is left for the parser to judge.
pub(super) fn fold(raw: &str) -> Cow<'_, str> {
    if !raw.contains("].") {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() + 16);
    // Where, in `out`, the text inside each open bracket starts.
    let mut opens: Vec<usize> = Vec::new();
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                out.push_str(&raw[i..end]);
                i = end;
            }
            b'[' => {
                out.push('[');
                opens.push(out.len());
                i += 1;
            }
            b']' => {
                let folded = opens.pop().and_then(|inner_start| {
                    let sub_end = (bytes.get(i + 1) == Some(&b'.'))
                        .then(|| attr_name_end(bytes, i + 2))
                        .flatten()?;
                    let end = comparison_end(bytes, sub_end)?;
                    Some((inner_start, end))
                });
                if let Some((inner_start, end)) = folded {
                    let inner = out.split_off(inner_start);
                    out.push('(');
                    out.push_str(&inner);
                    out.push_str(") and ");
                    out.push_str(&raw[i + 2..end]);
                    out.push(']');
                    changed = true;
                    i = end;
                } else {
                    out.push(']');
                    i += 1;
                }
            }
            _ => {
                // Copy up to the next structural character (never splitting a UTF-8 sequence:
                // the characters looked for are ASCII).
                let next = bytes[i + 1..]
                    .iter()
                    .position(|b| matches!(b, b'"' | b'[' | b']'))
                    .map_or(bytes.len(), |p| i + 1 + p);
                out.push_str(&raw[i..next]);
                i = next;
            }
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    }
}

/// The index just after the string literal that starts at `start` (a `"`), escapes included;
/// the end of the text when it is not closed.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of an attribute name (`ALPHA *(ALPHA / DIGIT / "-" / "_")`) starting at `start`.
fn attr_name_end(bytes: &[u8], start: usize) -> Option<usize> {
    if !bytes.get(start)?.is_ascii_alphabetic() {
        return None;
    }
    let len = bytes[start..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        .count();
    Some(start + len)
}

fn whitespace_end(bytes: &[u8], start: usize) -> usize {
    start
        + bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count()
}

/// The comparison operators of RFC 7644 §3.4.2.2 but `pr`.
const OPERATORS: [&[u8]; 9] = [
    b"eq", b"ne", b"co", b"sw", b"ew", b"gt", b"ge", b"lt", b"le",
];

/// The end of ` <op> <value>` or ` pr` starting at `start`.
fn comparison_end(bytes: &[u8], start: usize) -> Option<usize> {
    let op_start = whitespace_end(bytes, start);
    if op_start == start {
        return None;
    }
    let op_end = op_start + 2;
    let op = bytes.get(op_start..op_end)?.to_ascii_lowercase();
    let boundary = bytes
        .get(op_end)
        .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b')' | b']'));
    if !boundary {
        return None;
    }
    if op == b"pr" {
        return Some(op_end);
    }
    if !OPERATORS.contains(&op.as_slice()) {
        return None;
    }
    let value_start = whitespace_end(bytes, op_end);
    if value_start == op_end || value_start == bytes.len() {
        return None;
    }
    if bytes[value_start] == b'"' {
        return Some(string_end(bytes, value_start));
    }
    // true, false, null or a number.
    let len = bytes[value_start..]
        .iter()
        .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'(' | b')' | b'[' | b']'))
        .count();
    (len > 0).then_some(value_start + len)
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn a_sub_attribute_after_a_value_path_moves_into_the_brackets() {
        assert_eq!(
            fold(r#"emails[type eq "work"].value eq "a@b.test""#),
            r#"emails[(type eq "work") and value eq "a@b.test"]"#
        );
        assert_eq!(
            fold(r#"emails[type eq "work" or primary eq true].value PR"#),
            r#"emails[(type eq "work" or primary eq true) and value PR]"#
        );
        assert_eq!(
            fold(r#"userName sw "x" and (addresses[type eq "work"].postalCode ge 100)"#),
            r#"userName sw "x" and (addresses[(type eq "work") and postalCode ge 100])"#
        );
        assert_eq!(
            fold(r#"emails[type eq "a"].value eq "1" or emails[type eq "b"].value eq "2""#),
            r#"emails[(type eq "a") and value eq "1"] or emails[(type eq "b") and value eq "2"]"#
        );
        assert_eq!(
            fold(r#"emails[value eq "ü]." and type eq "work"].display co "é""#),
            r#"emails[(value eq "ü]." and type eq "work") and display co "é"]"#,
            "brackets and dots inside strings are text"
        );
    }

    #[test]
    fn other_text_is_left_for_the_parser() {
        for unchanged in [
            r#"emails[type eq "work"]"#,
            r#"emails[type eq "work"]. eq "x""#,
            r#"emails[type eq "work"].value"#,
            r#"emails[type eq "work"].value eq"#,
            r#"emails[type eq "work"].value xx "x""#,
            r#"emails[type eq "work"].1x eq "x""#,
            r#"title eq "a].b eq c""#,
            "x].value eq 1",
        ] {
            assert_eq!(fold(unchanged), unchanged);
        }
    }
}
