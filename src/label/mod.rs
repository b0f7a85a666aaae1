//! SPEC §3: labelling one flow observed on one node. Pure: no I/O.

pub mod remote;

pub use remote::{classify_remote, LocalSite, PrivateNets, RemoteClass, SameCloudEmptyRegion};
