//! Drives the labeller over dumps (placeholder until the reader lands).
