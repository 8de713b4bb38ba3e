//! Uploaded files are judged by their content, not their name: the bytes must
//! be of a kind we accept, and the extension must agree with them.

/// A file kind we accept as an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub mime: &'static str,
    pub extensions: &'static [&'static str],
}

const PDF: FileKind = FileKind {
    mime: "application/pdf",
    extensions: &["pdf"],
};
const PNG: FileKind = FileKind {
    mime: "image/png",
    extensions: &["png"],
};
const JPEG: FileKind = FileKind {
    mime: "image/jpeg",
    extensions: &["jpg", "jpeg", "jpe"],
};
const GIF: FileKind = FileKind {
    mime: "image/gif",
    extensions: &["gif"],
};
const OOXML: FileKind = FileKind {
    mime: "application/vnd.openxmlformats-officedocument",
    extensions: &["docx", "xlsx", "pptx"],
};
const ODF: FileKind = FileKind {
    mime: "application/vnd.oasis.opendocument",
    extensions: &["odt", "ods", "odp"],
};
const OLE: FileKind = FileKind {
    mime: "application/msword",
    extensions: &["doc", "xls", "ppt"],
};
const ICS: FileKind = FileKind {
    mime: "text/calendar",
    extensions: &["ics"],
};
const TEXT: FileKind = FileKind {
    mime: "text/plain; charset=utf-8",
    extensions: &["txt", "csv"],
};

/// Why a file was refused, as a locale key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLarge,
    UnknownContent,
    ExtensionMismatch,
}

impl Refusal {
    pub fn key(self) -> &'static str {
        match self {
            Refusal::Empty => "upload-empty",
            Refusal::TooLarge => "upload-too-large",
            Refusal::UnknownContent => "upload-unknown-content",
            Refusal::ExtensionMismatch => "upload-extension-mismatch",
        }
    }
}

fn zip_contains(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

/// What the bytes are, whatever the name says.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(PDF)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(GIF)
    } else if bytes.starts_with(b"PK\x03\x04") {
        // Office Open XML lists its parts in [Content_Types].xml; OpenDocument
        // stores its type in a first entry named "mimetype".
        if zip_contains(bytes, b"[Content_Types].xml") {
            Some(OOXML)
        } else if zip_contains(
            &bytes[..bytes.len().min(200)],
            b"mimetypeapplication/vnd.oasis.opendocument",
        ) {
            Some(ODF)
        } else {
            None
        }
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some(OLE)
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        if text.contains('\0') {
            None
        } else if text
            .trim_start_matches('\u{feff}')
            .starts_with("BEGIN:VCALENDAR")
        {
            Some(ICS)
        } else if text.trim_start().starts_with('<') {
            // HTML or SVG can carry scripts: not accepted as an attachment.
            None
        } else {
            Some(TEXT)
        }
    } else {
        None
    }
}

/// Accepts `bytes` named `filename` when the content is a kind we know, the
/// extension is one of that kind's, and the size is within `max`.
pub fn check(filename: &str, bytes: &[u8], max: usize) -> Result<FileKind, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() > max {
        return Err(Refusal::TooLarge);
    }
    let kind = sniff(bytes).ok_or(Refusal::UnknownContent)?;
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if kind.extensions.contains(&ext.as_str()) {
        Ok(kind)
    } else {
        Err(Refusal::ExtensionMismatch)
    }
}

/// A file name safe to show and to put in a Content-Disposition header.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .take(150)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').to_owned();
    if trimmed.is_empty() {
        "file".into()
    } else {
        trimmed
    }
}

/// A multipart body that cannot be read is the client's doing: 413 beyond
/// the route's limit, 400 when cut short or malformed — never a 500.
pub fn unreadable(e: axum::extract::multipart::MultipartError) -> crate::error::AppError {
    crate::error::AppError::BadBody {
        too_large: e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        why: e.body_text(),
    }
}

/// The first part named `field` of a multipart form: its file name as sent
/// and its bytes; other parts are skipped.
pub async fn file_field(
    mp: &mut axum::extract::Multipart,
    field: &str,
) -> crate::error::AppResult<Option<(String, axum::body::Bytes)>> {
    while let Some(part) = mp.next_field().await.map_err(unreadable)? {
        if part.name() == Some(field) {
            let name = part.file_name().unwrap_or("").to_owned();
            return Ok(Some((name, part.bytes().await.map_err(unreadable)?)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides() {
        assert_eq!(
            check("a.pdf", b"%PDF-1.7 ...", 100).unwrap().mime,
            "application/pdf"
        );
        assert_eq!(
            check("a.PDF", b"%PDF-1.7 ...", 100).unwrap().mime,
            "application/pdf"
        );
        assert_eq!(
            check("a.pdf", b"hello, not a pdf", 100),
            Err(Refusal::ExtensionMismatch)
        );
        assert_eq!(
            check("a.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff", 100),
            Err(Refusal::UnknownContent)
        );
        assert_eq!(
            check("a.txt", b"<script>alert(1)</script>", 100),
            Err(Refusal::UnknownContent)
        );
        assert_eq!(check("a.txt", b"", 100), Err(Refusal::Empty));
        assert_eq!(check("a.txt", b"plain words", 5), Err(Refusal::TooLarge));
        assert_eq!(
            check("rdv.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR", 100)
                .unwrap()
                .mime,
            "text/calendar"
        );
        assert!(check("p.png", b"\x89PNG\r\n\x1a\nrest", 100).is_ok());
        assert_eq!(
            check("p.jpg", b"\x89PNG\r\n\x1a\nrest", 100),
            Err(Refusal::ExtensionMismatch)
        );
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_filename("C:\\Users\\x\\Convocation \"RDV\".pdf"),
            "Convocation RDV.pdf"
        );
        assert_eq!(clean_filename(".."), "file");
    }
}
