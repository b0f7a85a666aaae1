//! Any text as `classify`'s address input (stdin lines, or one argument):
//! every token gets an answer and nothing panics. A token is found exactly
//! when it parses as an address; a found address lies in the prefix the
//! answer names; the inventory's holder and the §3.9 class (local site
//! aws/us-east-1) come out for it.
#![no_main]

#[path = "common.rs"]
mod common;

use std::net::IpAddr;

use ipnet::IpNet;
use kubenetmon::classify::{answer, tokens, Answer, Pods};
use kubenetmon::label::{LabelIndex, LocalSite, PrivateNets};
use kubenetmon::model::Cloud;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // stdin is read as UTF-8 lines; other bytes are a read error there.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let table = common::table();
    let inv = common::inventory();
    let pods: Pods<'_> = Some((inv, LabelIndex::new(inv)));
    let local = LocalSite {
        cloud: Cloud::Aws,
        region: "us-east-1".into(),
    };
    let private = PrivateNets::with_extra(["100.64.0.0/10".parse().unwrap()]);
    // An argument may hold anything, blanks and `#` included.
    let whole = std::iter::once(text);
    let toks = text.lines().flat_map(tokens);
    for token in whole.chain(toks) {
        let parsed = token.trim().parse::<IpAddr>().ok();
        for (local, pods) in [(None, &None), (Some(&local), &pods)] {
            match answer(token, table, local, &private, pods) {
                Answer::Unparsable { input } => {
                    assert!(parsed.is_none());
                    assert_eq!(input, token);
                }
                Answer::Found {
                    ip,
                    prefix,
                    class,
                    owner,
                    ..
                } => {
                    assert_eq!(Some(ip), parsed);
                    if !prefix.is_empty() {
                        let net: IpNet = prefix.parse().unwrap();
                        assert!(net.contains(&ip.to_canonical()), "{ip} {net}");
                    }
                    assert_eq!(class.is_some(), local.is_some());
                    if let Some(o) = owner {
                        let _ = (o.pod(), o.node(), o.multiple());
                    }
                }
            }
        }
    }
});
