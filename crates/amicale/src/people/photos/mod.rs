//! Person photos: uploaded by staff, at most 1 MB, PNG, JPEG or GIF as
//! told by the bytes (not the name), served to those who may see the person.

pub mod pages;
pub(crate) mod store;

pub use pages::{MAX_PHOTO, remove, show, upload};
pub use store::with_photo;
