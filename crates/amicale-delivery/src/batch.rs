//! Recipients of a send read from a CSV file (`amicale send`): one row per
//! recipient, an `email` column, any other column a `person.*` merge field.

use serde_json::{Map, Value, json};

use crate::sends::Recipient;
use amicale_kernel::Login;

/// Every `person.*` field of the catalogue, empty: a known field missing from
/// the file prints as nothing, while a misspelt one still fails validation.
fn blank_person() -> Map<String, Value> {
    amicale_merge::catalogue::all()
        .iter()
        .filter(|f| f.namespace == "person")
        .map(|f| (f.name.to_owned(), Value::Null))
        .collect()
}

fn header_key(h: &str) -> String {
    h.trim().to_lowercase().replace([' ', '-'], "_")
}

/// Reads the file; returns the recipients, or the problems by line.
pub fn from_csv(
    data: &[u8],
    common: &Value,
    locale: &'static str,
) -> Result<Vec<Recipient>, Vec<String>> {
    let delimiter = if data
        .split(|&b| b == b'\n')
        .next()
        .is_some_and(|l| l.contains(&b';'))
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(data);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(header_key).collect(),
        Err(e) => return Err(vec![format!("header: {e}")]),
    };
    let Some(email_col) = headers
        .iter()
        .position(|h| h == "email" || h == "e_mail" || h == "mail")
    else {
        return Err(vec!["the file has no `email` column".into()]);
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let email = match Login::parse(row.get(email_col).unwrap_or("")) {
            Ok(e) => e,
            Err(_) => {
                problems.push(format!(
                    "line {line}: invalid e-mail `{}`",
                    row.get(email_col).unwrap_or("")
                ));
                continue;
            }
        };
        if !seen.insert(email.as_str().to_owned()) {
            problems.push(format!("line {line}: {email} appears twice"));
            continue;
        }
        let mut person = blank_person();
        for (h, v) in headers.iter().zip(row.iter()) {
            person.insert(h.clone(), json!(v.trim()));
        }
        person.insert("email".into(), json!(email.as_str()));
        let mut data = common.as_object().cloned().unwrap_or_default();
        data.insert("person".into(), Value::Object(person));
        out.push(Recipient {
            address: email.as_str().to_owned(),
            merge_data: Value::Object(data),
            locale,
            person_id: None,
            event_id: None,
            segments: None,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_bad_ones() {
        let common = json!({"network": {"name": "Amicale"}});
        let ok = from_csv(
            b"email;first_name;Last Name\nA@x.fr;Anne;Dupont\nb@x.fr;Bob;Martin\n",
            &common,
            "fr",
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].address, "a@x.fr");
        assert_eq!(ok[0].merge_data["person"]["last_name"], "Dupont");
        assert_eq!(ok[0].merge_data["network"]["name"], "Amicale");
        let bad = from_csv(
            b"email,first_name\nnot-an-address,X\nc@x.fr,C\nc@x.fr,C\n",
            &common,
            "fr",
        )
        .unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("line 2"));
        assert!(from_csv(b"name\nx\n", &common, "fr").is_err());
    }
}
