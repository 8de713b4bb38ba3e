//! Typed values of Amicale's people directory and CRM.
//!
//! Every value here is validated when built and cannot be held invalid
//! afterwards: an [`Email`] is a plausible address with a lowercased domain, a
//! [`Phone`] is in E.164 form, a [`PromoYear`] is within 1900–2100, and so on.
//! Refusals are [`FieldError`] codes, never messages, so that the French and
//! English interfaces word them their own way.
//!
//! - [`normalise`] folds names and queries (`Hélène DUPRÉ` → `helene dupre`)
//!   for search and duplicate detection.
//! - [`import`] maps the columns of a member spreadsheet, whatever language
//!   its headers are in, and validates rows reporting every bad field at once.
//!
//! ```
//! use amicale_people::import::HeaderMap;
//!
//! let map = HeaderMap::from_headers(&["Prénom", "Nom", "E-mail", "Promo", "Téléphone"]).unwrap();
//! let row = map
//!     .parse_row(&["Hélène", "Dupré", "Helene.Dupre@Exemple.fr", "2015", "06 12 34 56 78"])
//!     .unwrap();
//! assert_eq!(row.email.unwrap().as_str(), "Helene.Dupre@exemple.fr");
//! assert_eq!(row.phone.unwrap().e164(), "+33612345678");
//!
//! let errors = map.parse_row(&["Jean", "", "jean@", "1850", ""]).unwrap_err();
//! let codes: Vec<_> = errors.iter().map(|(f, e)| (f.key(), e.code())).collect();
//! assert_eq!(
//!     codes,
//!     [("last_name", "required"), ("email", "email-invalid"), ("promo", "promo-out-of-range")]
//! );
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod date;
pub mod email;
mod error;
pub mod import;
pub mod normalise;
pub mod phone;
pub mod promo;
pub mod roles;
pub mod text;

pub use date::Date;
pub use email::Email;
pub use error::FieldError;
pub use import::{
    DuplicateInFile, HeaderError, HeaderMap, ImportField, ImportRow, duplicate_keys, parse_bool,
};
pub use normalise::{fold, name_key, terms};
pub use phone::{Country, Phone};
pub use promo::PromoYear;
pub use roles::{Civility, CommunityRole};
pub use text::{Line, Text, check_line, check_text};
