//! A small predicate language over indexed columns, translated to SQL once for both backends.
//!
//! The SCIM crate turns the parts of a client's filter that map onto columns into a
//! [`Predicate`]; whatever does not map is evaluated by the caller on the returned documents.
//! Identities (userName, email, team names) compare on their key columns, folded once in Rust
//! ([`crate::IdentityKey`]), exactly the same on both backends. Other case-insensitive text
//! columns (names, display names) compare through `lower()` on both sides.

/// A comparison operator, as in SCIM filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A value to compare a column with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A tree of comparisons on columns of type `C`.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate<C> {
    /// Every row.
    True,
    /// No row.
    False,
    Cmp(C, Op, Value),
    /// The column is not null (and, for text, not empty).
    Present(C),
    And(Vec<Predicate<C>>),
    Or(Vec<Predicate<C>>),
    Not(Box<Predicate<C>>),
}

impl<C> Predicate<C> {
    pub fn and(items: Vec<Predicate<C>>) -> Self {
        match items.len() {
            0 => Predicate::True,
            _ => Predicate::And(items),
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Ascending,
    Descending,
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds a boxed diesel filter expression for a predicate over a table's columns.
///
/// `$column_expr` maps a column enum value to a closure producing the expression for each kind
/// of comparison; see `users.rs` and `teams.rs`.
macro_rules! boxed_predicate {
    ($table:ty) => {
        Box<dyn diesel::BoxableExpression<$table, crate::conn::MultiBackend, SqlType = diesel::sql_types::Bool>>
    };
}
pub(crate) use boxed_predicate;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Text comparison on a column expression, case-insensitive through `$crate::predicate::lower()` when `ci`.
macro_rules! text_cmp {
    ($ty:ty, $col:expr, $ci:expr, $op:expr, $value:expr) => {{
        let value: String = $value;
        let pattern = |p: String| if $ci { p.to_lowercase() } else { p };
        if $ci {
            let col = $crate::predicate::lower($col);
            let out: $ty = match $op {
                $crate::predicate::Op::Eq => Box::new(col.eq($crate::predicate::lower(value))),
                $crate::predicate::Op::Ne => Box::new(col.ne($crate::predicate::lower(value))),
                $crate::predicate::Op::Co => Box::new(
                    col.like(pattern(format!(
                        "%{}%",
                        $crate::predicate::like_escape(&value)
                    )))
                    .escape('\\'),
                ),
                $crate::predicate::Op::Sw => Box::new(
                    col.like(pattern(format!(
                        "{}%",
                        $crate::predicate::like_escape(&value)
                    )))
                    .escape('\\'),
                ),
                $crate::predicate::Op::Ew => Box::new(
                    col.like(pattern(format!(
                        "%{}",
                        $crate::predicate::like_escape(&value)
                    )))
                    .escape('\\'),
                ),
                $crate::predicate::Op::Gt => Box::new(col.gt($crate::predicate::lower(value))),
                $crate::predicate::Op::Ge => Box::new(col.ge($crate::predicate::lower(value))),
                $crate::predicate::Op::Lt => Box::new(col.lt($crate::predicate::lower(value))),
                $crate::predicate::Op::Le => Box::new(col.le($crate::predicate::lower(value))),
            };
            out
        } else {
            let col = $col;
            let out: $ty = match $op {
                $crate::predicate::Op::Eq => Box::new(col.eq(value)),
                $crate::predicate::Op::Ne => Box::new(col.ne(value)),
                $crate::predicate::Op::Co => Box::new(
                    col.like(format!("%{}%", $crate::predicate::like_escape(&value)))
                        .escape('\\'),
                ),
                $crate::predicate::Op::Sw => Box::new(
                    col.like(format!("{}%", $crate::predicate::like_escape(&value)))
                        .escape('\\'),
                ),
                $crate::predicate::Op::Ew => Box::new(
                    col.like(format!("%{}", $crate::predicate::like_escape(&value)))
                        .escape('\\'),
                ),
                $crate::predicate::Op::Gt => Box::new(col.gt(value)),
                $crate::predicate::Op::Ge => Box::new(col.ge(value)),
                $crate::predicate::Op::Lt => Box::new(col.lt(value)),
                $crate::predicate::Op::Le => Box::new(col.le(value)),
            };
            out
        }
    }};
}

/// A comparison on a nullable text column: false where the column is null (so `not` turns it
/// into true, as SCIM's "attribute absent" reads).
macro_rules! nullable_text_cmp {
    ($ty:ty, $col:expr, $ci:expr, $op:expr, $value:expr) => {{
        let inner = text_cmp!($ty, $col.assume_not_null(), $ci, $op, $value);
        let out: $ty = Box::new($col.is_not_null().and(inner));
        out
    }};
}

macro_rules! int_cmp {
    ($ty:ty, $col:expr, $op:expr, $value:expr) => {{
        let value: i64 = $value;
        let out: $ty = match $op {
            $crate::predicate::Op::Eq => Box::new($col.eq(value)),
            $crate::predicate::Op::Ne => Box::new($col.ne(value)),
            $crate::predicate::Op::Gt => Box::new($col.gt(value)),
            $crate::predicate::Op::Ge => Box::new($col.ge(value)),
            $crate::predicate::Op::Lt => Box::new($col.lt(value)),
            $crate::predicate::Op::Le => Box::new($col.le(value)),
            $crate::predicate::Op::Co | $crate::predicate::Op::Sw | $crate::predicate::Op::Ew => {
                Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1=0"))
            }
        };
        out
    }};
}

pub(crate) use {int_cmp, nullable_text_cmp, text_cmp};

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_escape("50%_off\\"), "50\\%\\_off\\\\");
    }
}
