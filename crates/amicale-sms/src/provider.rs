//! SMS providers as pure functions: each builds the HTTP request that hands
//! one message to it, and reads its answer and its delivery receipts. No I/O
//! happens here, so every provider is tested byte for byte; the application
//! sends the request with the HTTP client it already has.
//!
//! - **Generic HTTP**: a URL and a JSON body template in which `{{to}}`,
//!   `{{text}}`, `{{sender}}`, `{{reference}}` and `{{receipt_url}}` are
//!   replaced by the JSON-escaped values, and an optional `Authorization`
//!   header. The provider's message id is read at a dotted path of the answer.
//! - **Twilio-compatible**: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
//!   form-encoded, HTTP basic authentication (Twilio and the services that
//!   copy its API).
//! - **OVH**: `POST {endpoint}/sms/{service}/jobs` signed with the
//!   application secret and consumer key (`$1$` + SHA-1 of the request).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

/// One message handed to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// Recipient in E.164 form (`+33612345678`).
    pub to: &'a str,
    /// The text as it will be sent.
    pub text: &'a str,
    /// Alphanumeric sender name or number; empty for the provider's default.
    pub sender: &'a str,
    /// Our reference of the message, echoed back by providers that support it.
    pub reference: &'a str,
    /// Where the provider posts delivery receipts, when it takes one per message.
    pub receipt_url: Option<&'a str>,
}

/// An HTTP request to send as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Always `POST` today; kept explicit for providers that differ.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Headers, `Content-Type` included.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// What the provider's answer means for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Taken by the provider, with its id for delivery receipts.
    Accepted {
        /// The provider's id of the message, when it gave one.
        id: Option<String>,
    },
    /// Try again later (rate limit, server error): the provider's words.
    Temporary(String),
    /// Never going to work (bad number, bad credentials): the provider's words.
    Permanent(String),
}

/// A provider and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// Any HTTP API taking a JSON body.
    Generic(Generic),
    /// Twilio or a Twilio-compatible API.
    Twilio(Twilio),
    /// OVHcloud's SMS API.
    Ovh(Ovh),
}

/// Settings of the generic HTTP provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generic {
    /// Where the JSON body is posted.
    pub url: String,
    /// The JSON body with `{{…}}` placeholders.
    pub body_template: String,
    /// Value of the `Authorization` header (`Bearer …`), if the API wants one.
    pub authorization: Option<String>,
    /// Dotted path of the message id in the answer (`id`, `messages.0.id`).
    pub id_field: String,
}

/// Settings of a Twilio-compatible provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twilio {
    /// `https://api.twilio.com` or a compatible service's address.
    pub base_url: String,
    /// Account SID, the basic-auth user.
    pub account_sid: String,
    /// Auth token, the basic-auth password.
    pub auth_token: String,
}

/// Settings of OVHcloud's SMS API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ovh {
    /// `https://eu.api.ovh.com/1.0` (or the Canadian or US endpoint).
    pub endpoint: String,
    /// The SMS account, `sms-ab12345-1`.
    pub service_name: String,
    /// Application key.
    pub application_key: String,
    /// Application secret (signs, never sent).
    pub application_secret: String,
    /// Consumer key.
    pub consumer_key: String,
}

/// The placeholders the generic body template may use.
pub const PLACEHOLDERS: [&str; 5] = ["to", "text", "sender", "reference", "receipt_url"];

/// The longest provider answer kept: enough to read, bounded for storage.
const ANSWER_MAX: usize = 500;

impl Provider {
    /// The request handing `m` to the provider. `unix_time` is the current
    /// time in seconds (OVH signs it).
    pub fn request(&self, m: &Outgoing<'_>, unix_time: i64) -> Result<Request, String> {
        match self {
            Provider::Generic(g) => g.request(m),
            Provider::Twilio(t) => Ok(t.request(m)),
            Provider::Ovh(o) => Ok(o.request(m, unix_time)),
        }
    }

    /// Reads the provider's answer to a request built by [`Provider::request`].
    pub fn read_answer(&self, status: u16, body: &str) -> Answer {
        let general = by_status(status, body);
        let Answer::Accepted { .. } = general else {
            return general;
        };
        let json: Option<Value> = serde_json::from_str(body).ok();
        match self {
            Provider::Generic(g) => Answer::Accepted {
                id: json.as_ref().and_then(|v| at_path(v, &g.id_field)),
            },
            Provider::Twilio(_) => Answer::Accepted {
                id: json.as_ref().and_then(|v| at_path(v, "sid")),
            },
            Provider::Ovh(_) => {
                let invalid = json
                    .as_ref()
                    .and_then(|v| v.get("invalidReceivers"))
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                if invalid {
                    return Answer::Permanent(format!("invalid receiver: {}", clip(body)));
                }
                Answer::Accepted {
                    id: json.as_ref().and_then(|v| at_path(v, "ids.0")),
                }
            }
        }
    }
}

/// 2xx accepted; 408, 429 and 5xx temporary; any other status permanent.
fn by_status(status: u16, body: &str) -> Answer {
    let said = format!("HTTP {status}: {}", clip(body));
    match status {
        200..=299 => Answer::Accepted { id: None },
        408 | 425 | 429 | 500..=599 => Answer::Temporary(said),
        _ => Answer::Permanent(said),
    }
}

fn clip(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(ANSWER_MAX) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

/// A value at a dotted path (`a.0.b`), as a string, numbers included.
fn at_path(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for key in path.split('.').filter(|k| !k.is_empty()) {
        cur = match cur {
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            Value::Object(o) => o.get(key)?,
            _ => return None,
        };
    }
    match cur {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The text of a JSON string literal without its quotes.
fn json_escaped(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

impl Generic {
    /// Checks a body template before it is saved: placeholders known, and the
    /// body valid JSON once they are replaced.
    pub fn check_template(template: &str) -> Result<(), String> {
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| "a placeholder is not closed with }}".to_owned())?;
            let name = after[..end].trim();
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!("unknown placeholder {{{{{name}}}}}"));
            }
            rest = &after[end + 2..];
        }
        let sample = Outgoing {
            to: "+33600000000",
            text: "Line \"1\"\nline 2",
            sender: "Amicale",
            reference: "1",
            receipt_url: Some("https://example.org/r"),
        };
        let body = fill(template, &sample);
        serde_json::from_str::<Value>(&body)
            .map(|_| ())
            .map_err(|e| format!("the body is not valid JSON: {e}"))
    }

    fn request(&self, m: &Outgoing<'_>) -> Result<Request, String> {
        let body = fill(&self.body_template, m);
        serde_json::from_str::<Value>(&body)
            .map_err(|e| format!("the body template does not give JSON: {e}"))?;
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(a) = self.authorization.as_ref().filter(|a| !a.is_empty()) {
            headers.push(("Authorization".to_owned(), a.clone()));
        }
        Ok(Request {
            method: "POST",
            url: self.url.clone(),
            headers,
            body: body.into_bytes(),
        })
    }
}

/// Replaces each `{{name}}` (spaces allowed inside) by its JSON-escaped value.
fn fill(template: &str, m: &Outgoing<'_>) -> String {
    let mut out = String::with_capacity(template.len() + m.text.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = match after[..end].trim() {
            "to" => m.to,
            "text" => m.text,
            "sender" => m.sender,
            "reference" => m.reference,
            "receipt_url" => m.receipt_url.unwrap_or(""),
            _ => "",
        };
        out.push_str(&json_escaped(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

impl Twilio {
    fn request(&self, m: &Outgoing<'_>) -> Request {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", m.to).append_pair("Body", m.text);
        if !m.sender.is_empty() {
            form.append_pair("From", m.sender);
        }
        if let Some(url) = m.receipt_url {
            form.append_pair("StatusCallback", url);
        }
        let auth = STANDARD.encode(format!("{}:{}", self.account_sid, self.auth_token));
        Request {
            method: "POST",
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base_url.trim_end_matches('/'),
                self.account_sid
            ),
            headers: vec![
                (
                    "Content-Type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                ("Authorization".to_owned(), format!("Basic {auth}")),
            ],
            body: form.finish().into_bytes(),
        }
    }
}

impl Ovh {
    fn request(&self, m: &Outgoing<'_>, unix_time: i64) -> Request {
        let url = format!(
            "{}/sms/{}/jobs",
            self.endpoint.trim_end_matches('/'),
            self.service_name
        );
        let mut body = json!({
            "message": m.text,
            "receivers": [m.to],
            "charset": "UTF-8",
            "coding": if crate::is_gsm7(m.text) { "7bit" } else { "8bit" },
            "noStopClause": true,
            "priority": "high",
            "tag": m.reference,
        });
        if !m.sender.is_empty() {
            body["sender"] = json!(m.sender);
        } else {
            body["senderForResponse"] = json!(true);
        }
        let body = body.to_string();
        let ts = unix_time.to_string();
        let signature = self.signature("POST", &url, &body, &ts);
        Request {
            method: "POST",
            url,
            headers: vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("X-Ovh-Application".to_owned(), self.application_key.clone()),
                ("X-Ovh-Consumer".to_owned(), self.consumer_key.clone()),
                ("X-Ovh-Timestamp".to_owned(), ts),
                ("X-Ovh-Signature".to_owned(), signature),
            ],
            body: body.into_bytes(),
        }
    }

    /// `$1$` + hex SHA-1 of `secret+consumer+METHOD+url+body+timestamp`.
    pub fn signature(&self, method: &str, url: &str, body: &str, ts: &str) -> String {
        let pre = format!(
            "{}+{}+{method}+{url}+{body}+{ts}",
            self.application_secret, self.consumer_key
        );
        let digest = Sha1::digest(pre.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("$1${hex}")
    }
}

/// What a delivery receipt says about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptStatus {
    /// Reached the handset.
    Delivered,
    /// Will not reach it (unknown number, expired, rejected).
    Failed,
    /// Still on its way (queued, sent to the operator).
    Pending,
}

impl ReceiptStatus {
    /// Stable lower-case name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Delivered => "delivered",
            ReceiptStatus::Failed => "failed",
            ReceiptStatus::Pending => "pending",
        }
    }
}

/// A delivery receipt: the provider's message id and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The id the provider gave when it accepted the message.
    pub id: String,
    /// What became of the message.
    pub status: ReceiptStatus,
}

/// Reads a receipt from the fields a provider posts (form or query fields,
/// or the top level of a JSON body): Twilio's `MessageSid`/`MessageStatus`,
/// OVH's `id`/`dlr`, and `id`/`status` for generic providers.
pub fn read_receipt(fields: &[(String, String)]) -> Option<Receipt> {
    let get = |names: &[&str]| {
        names.iter().find_map(|n| {
            fields
                .iter()
                .find(|(k, v)| k == n && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let id = get(&["MessageSid", "SmsSid", "id", "message_id", "messageId"])?;
    let raw = get(&["MessageStatus", "SmsStatus", "dlr", "status"])?;
    let status = match raw.to_ascii_lowercase().as_str() {
        "delivered" | "delivrd" | "1" => ReceiptStatus::Delivered,
        "failed" | "undelivered" | "undeliv" | "rejected" | "rejectd" | "expired" | "2" | "16" => {
            ReceiptStatus::Failed
        }
        _ => ReceiptStatus::Pending,
    };
    Some(Receipt { id, status })
}

/// The top-level fields of a JSON object as strings, for [`read_receipt`].
pub fn json_fields(body: &str) -> Vec<(String, String)> {
    let Ok(Value::Object(o)) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    o.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> Outgoing<'static> {
        Outgoing {
            to: "+33612345678",
            text: "Rappel \"atelier\"\nJeudi à 9h",
            sender: "AMICALE",
            reference: "42",
            receipt_url: Some("https://amicale.example/webhooks/sms/t0k"),
        }
    }

    #[test]
    fn generic_fills_the_template_with_escaped_values() {
        let g = Provider::Generic(Generic {
            url: "https://sms.example/send".into(),
            body_template: r#"{"dest": "{{ to }}", "msg": "{{text}}", "from": "{{sender}}", "ref": "{{reference}}"}"#.into(),
            authorization: Some("Bearer abc".into()),
            id_field: "result.id".into(),
        });
        let r = g.request(&msg(), 0).unwrap();
        assert_eq!(r.url, "https://sms.example/send");
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["dest"], "+33612345678");
        assert_eq!(v["msg"], "Rappel \"atelier\"\nJeudi à 9h");
        assert_eq!(v["ref"], "42");
        assert!(
            r.headers
                .contains(&("Authorization".into(), "Bearer abc".into()))
        );
        assert_eq!(
            g.read_answer(200, r#"{"result":{"id":"m-9"}}"#),
            Answer::Accepted {
                id: Some("m-9".into())
            }
        );
        assert_eq!(g.read_answer(201, "ok"), Answer::Accepted { id: None });
    }

    #[test]
    fn statuses_decide_temporary_or_permanent() {
        let g = Provider::Generic(Generic {
            url: "u".into(),
            body_template: "{}".into(),
            authorization: None,
            id_field: "id".into(),
        });
        assert!(
            matches!(g.read_answer(500, "boom"), Answer::Temporary(s) if s == "HTTP 500: boom")
        );
        assert!(matches!(g.read_answer(429, ""), Answer::Temporary(_)));
        assert!(matches!(g.read_answer(503, ""), Answer::Temporary(_)));
        assert!(
            matches!(g.read_answer(401, "bad key"), Answer::Permanent(s) if s.contains("bad key"))
        );
        assert!(matches!(g.read_answer(400, ""), Answer::Permanent(_)));
        let long = "x".repeat(2000);
        let Answer::Permanent(s) = g.read_answer(400, &long) else {
            panic!()
        };
        assert!(s.chars().count() < 520);
    }

    #[test]
    fn templates_are_checked_before_they_are_saved() {
        assert!(Generic::check_template(r#"{"to":"{{to}}","text":"{{text}}"}"#).is_ok());
        assert!(
            Generic::check_template(r#"{"to":"{{phone}}"}"#)
                .unwrap_err()
                .contains("phone")
        );
        assert!(Generic::check_template(r#"{"to":"{{to}}""#).is_err());
        assert!(Generic::check_template(r#"{"to":"{{to"}"#).is_err());
        // A placeholder outside a string gives invalid JSON once filled.
        assert!(Generic::check_template(r#"{"to":{{text}}}"#).is_err());
    }

    #[test]
    fn twilio_posts_a_form_with_basic_auth() {
        let t = Provider::Twilio(Twilio {
            base_url: "https://api.twilio.com/".into(),
            account_sid: "AC123".into(),
            auth_token: "tok".into(),
        });
        let r = t.request(&msg(), 0).unwrap();
        assert_eq!(
            r.url,
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        let form: Vec<(String, String)> = form_urlencoded::parse(&r.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert!(form.contains(&("To".into(), "+33612345678".into())));
        assert!(form.contains(&("Body".into(), "Rappel \"atelier\"\nJeudi à 9h".into())));
        assert!(form.contains(&("From".into(), "AMICALE".into())));
        assert!(form.contains(&(
            "StatusCallback".into(),
            "https://amicale.example/webhooks/sms/t0k".into()
        )));
        // base64("AC123:tok")
        assert!(
            r.headers
                .contains(&("Authorization".into(), "Basic QUMxMjM6dG9r".into()))
        );
        assert_eq!(
            t.read_answer(201, r#"{"sid":"SM1","status":"queued"}"#),
            Answer::Accepted {
                id: Some("SM1".into())
            }
        );
    }

    #[test]
    fn ovh_signs_its_requests() {
        let o = Ovh {
            endpoint: "https://eu.api.ovh.com/1.0".into(),
            service_name: "sms-ab12345-1".into(),
            application_key: "ak".into(),
            application_secret: "as".into(),
            consumer_key: "ck".into(),
        };
        // Independently: printf '%s' 'as+ck+GET+https://eu.api.ovh.com/1.0/me++1700000000' | sha1sum
        assert_eq!(
            o.signature("GET", "https://eu.api.ovh.com/1.0/me", "", "1700000000"),
            "$1$212ae9d571c1dbc085f3630b6c2b68d5b3fdc482"
        );
        let p = Provider::Ovh(o.clone());
        let r = p.request(&msg(), 1_700_000_000).unwrap();
        assert_eq!(r.url, "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/jobs");
        let body = String::from_utf8(r.body.clone()).unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["receivers"][0], "+33612345678");
        assert_eq!(v["sender"], "AMICALE");
        assert_eq!(v["coding"], "7bit");
        let sig = r
            .headers
            .iter()
            .find(|(k, _)| k == "X-Ovh-Signature")
            .unwrap();
        assert_eq!(sig.1, o.signature("POST", &r.url, &body, "1700000000"));
        assert_eq!(
            p.read_answer(
                200,
                r#"{"ids":[12345],"invalidReceivers":[],"totalCreditsRemoved":1}"#
            ),
            Answer::Accepted {
                id: Some("12345".into())
            }
        );
        assert!(matches!(
            p.read_answer(200, r#"{"ids":[],"invalidReceivers":["+33612345678"]}"#),
            Answer::Permanent(_)
        ));
    }

    #[test]
    fn receipts_of_each_provider() {
        let f = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            read_receipt(&f(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")])),
            Some(Receipt {
                id: "SM1".into(),
                status: ReceiptStatus::Delivered
            })
        );
        assert_eq!(
            read_receipt(&f(&[("id", "77"), ("dlr", "16")]))
                .unwrap()
                .status,
            ReceiptStatus::Failed
        );
        assert_eq!(
            read_receipt(&f(&[("id", "77"), ("dlr", "4")]))
                .unwrap()
                .status,
            ReceiptStatus::Pending
        );
        assert_eq!(
            read_receipt(&json_fields(r#"{"id": 5, "status": "undelivered"}"#)),
            Some(Receipt {
                id: "5".into(),
                status: ReceiptStatus::Failed
            })
        );
        assert_eq!(read_receipt(&f(&[("status", "delivered")])), None);
    }
}
