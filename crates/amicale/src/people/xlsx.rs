//! A minimal XLSX writer that streams rows: one worksheet of inline strings,
//! written row by row into the zip, so a million-row export holds one row in
//! memory. (Spreadsheet writers that keep cells in memory until they save
//! would hold the whole directory.)

use std::io::{Seek, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::error::{AppError, AppResult};

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

fn workbook(sheet: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        escape(sheet)
    )
}

/// XML text escaping; control characters that XML 1.0 forbids are dropped
/// (a stray one in a note would make the whole file unreadable).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

fn column_name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

pub struct XlsxWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    row: usize,
    line: String,
}

fn zip_err(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

impl<W: Write + Seek> XlsxWriter<W> {
    pub fn new(inner: W, sheet: &str) -> AppResult<Self> {
        let mut zip = ZipWriter::new(inner);
        let opts = SimpleFileOptions::default();
        for (name, body) in [
            ("[Content_Types].xml", CONTENT_TYPES.to_owned()),
            ("_rels/.rels", ROOT_RELS.to_owned()),
            ("xl/workbook.xml", workbook(sheet)),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.to_owned()),
        ] {
            zip.start_file(name, opts).map_err(zip_err)?;
            zip.write_all(body.as_bytes()).map_err(zip_err)?;
        }
        zip.start_file("xl/worksheets/sheet1.xml", opts)
            .map_err(zip_err)?;
        zip.write_all(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        )
        .map_err(zip_err)?;
        Ok(XlsxWriter {
            zip,
            row: 0,
            line: String::new(),
        })
    }

    pub fn write_row<S: AsRef<str>>(&mut self, cells: &[S]) -> AppResult<()> {
        self.row += 1;
        self.line.clear();
        self.line.push_str(&format!("<row r=\"{}\">", self.row));
        for (i, c) in cells.iter().enumerate() {
            let c = c.as_ref();
            if c.is_empty() {
                continue;
            }
            self.line.push_str(&format!(
                "<c r=\"{}{}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                column_name(i),
                self.row,
                escape(c)
            ));
        }
        self.line.push_str("</row>");
        self.zip.write_all(self.line.as_bytes()).map_err(zip_err)
    }

    pub fn finish(mut self) -> AppResult<W> {
        self.zip
            .write_all(b"</sheetData></worksheet>")
            .map_err(zip_err)?;
        self.zip.finish().map_err(zip_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_lettered_like_a_spreadsheet() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn cells_are_escaped_and_the_zip_holds_the_parts() {
        let mut w = XlsxWriter::new(std::io::Cursor::new(Vec::new()), "Personnes").unwrap();
        w.write_row(&["Nom", "Société"]).unwrap();
        w.write_row(&["<Dupré & fils>", "a\u{1}b"]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut z.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(sheet.contains("&lt;Dupré &amp; fils&gt;"));
        assert!(sheet.contains(">ab<"));
        assert!(sheet.contains("r=\"B2\""));
    }
}
