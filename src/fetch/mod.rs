//! Downloading the vendors' range files into the cache (`ranges fetch`).
