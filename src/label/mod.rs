//! SPEC §3: labelling one flow observed on one node. Pure: no I/O.
