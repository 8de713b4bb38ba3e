//! The one way the product writes CSV cells. A spreadsheet opening a CSV
//! file runs any cell that starts with `=`, `+`, `-` or `@` as a formula
//! (and a leading tab or carriage return hides such a start from naive
//! checks), so a person named `=HYPERLINK(…)` would run in the reader's
//! spreadsheet. Every cell written goes through [`neutralise`]; the import
//! undoes it with [`restore`], so an export imports back unchanged.

use std::borrow::Cow;
use std::io::Write;

/// The first characters a spreadsheet reads as the start of a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as it may be written: prefixed with a single quote when it would
/// start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(TRIGGERS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The inverse of [`neutralise`], for cells read back by the import: the
/// quote it added is dropped, any other text is kept as it is.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(TRIGGERS) => rest,
        _ => cell,
    }
}

/// One neutralised cell quoted for a hand-built CSV line (`,` or `;`
/// separated).
pub fn field(cell: &str) -> String {
    let s = neutralise(cell);
    if s.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// Writes one record of neutralised cells.
pub fn write_record<W: Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    cells: &[S],
) -> csv::Result<()> {
    w.write_record(cells.iter().map(|c| neutralise(c.as_ref()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_restored() {
        for s in ["=1+1", "+33 6", "-2", "@SUM(A1)", "\t=x", "\r=x"] {
            let n = neutralise(s);
            assert!(n.starts_with('\''), "{s:?}");
            assert_eq!(restore(&n), s);
        }
        assert_eq!(neutralise("Hélène"), "Hélène");
        assert_eq!(restore("'quoted"), "'quoted");
        assert_eq!(field("=a,b"), "\"'=a,b\"");
        assert_eq!(field("plain"), "plain");
    }
}
