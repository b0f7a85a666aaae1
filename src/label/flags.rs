//! SPEC §6.3: the `connectionFlags` of a labelled flow.
//!
//! A run compiles its flag options into [`FlagRules`] once; the labeller
//! asks it for each flow's [`FlagSet`]. The names live in the rules'
//! [`FlagNames`] (sorted, so sets iterate in output order), which the
//! sinks get through `RunMeta` to write the keys. A new rule goes in
//! [`FlagRules::flags_of`] and gets its name registered in
//! [`FlagRules::new`]; nothing else changes.

use crate::model::{FlagNames, FlagSet, LabelledFlow};

use super::remote::RemoteClass;

/// What the flag rules may look at, beyond the labelled flow itself.
#[derive(Debug, Clone, Copy)]
pub struct FlagInput<'f, 'a> {
    pub flow: &'f LabelledFlow<'a>,
    /// The local endpoint is the original source (§3.6: local = src), i.e.
    /// it opened the connection.
    pub initiated_locally: bool,
    pub remote: &'f RemoteClass<'a>,
}

/// The flag rules of a run.
#[derive(Debug, Clone, Default)]
pub struct FlagRules {
    names: FlagNames,
}

impl FlagRules {
    /// No flags at all: upstream's empty map.
    pub fn none() -> FlagRules {
        FlagRules::default()
    }

    /// The names a [`FlagSet`] of these rules refers to.
    pub fn names(&self) -> &FlagNames {
        &self.names
    }

    /// The flags of one flow.
    #[inline]
    pub fn flags_of(&self, _input: &FlagInput<'_, '_>) -> FlagSet {
        FlagSet::EMPTY
    }
}
