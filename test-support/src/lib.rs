//! Helpers that both kinds of kubenetmon tests use: the unit tests next to
//! the code (`#[cfg(test)]`, which see dev-dependencies) and the integration
//! tests in `tests/it/`. A crate of its own so that the library holds no
//! `#[path]` into `tests/`. Helpers only the integration tests need (the
//! binary's command builder, work directories) live in `tests/it/support.rs`.

pub mod http;
