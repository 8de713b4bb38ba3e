//! Merge-field engine: filled in by the templates issue (#4).
