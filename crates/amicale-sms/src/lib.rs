//! SMS encoding and segments: filled in by the delivery-engine issue (#3).
