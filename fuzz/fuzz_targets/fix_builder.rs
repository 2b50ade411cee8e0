//! Arbitrary values into the fix builders (issue 17, class 1): a command holding them reads, for
//! a POSIX shell, as its twin built from harmless tokens with the values in their place, or is
//! withheld naming the value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portdoctor_engine::firewall::{RuleRef, attribute};
use portdoctor_model::firewall::{Backend, FwFamily};
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::net::Family;
use portdoctor_testbed::hostile::{assert_same_fix, shell_tokens};

/// Every way a value enters a command.
fn every_builder(a: &str, b: &str) -> Vec<Fix> {
    vec![
        Fix::run(ShellCommand::new("aws ec2 start-instances --instance-ids").arg(a).arg_or(Some(b), "<x>")),
        Fix::text("then: ").then_run(ShellCommand::new("firewall-cmd").kv("--zone=", a).word(Word::of(b).then("/tcp"))),
        Fix::run(ShellCommand::new("nft insert rule inet").nft_name(a).nft_name(b).lit("tcp dport 80 accept")),
        Fix::run(ShellCommand::new("sysctl -w").word(Word::lit("net.ipv4.conf.").val(a).then(".rp_filter=").val(b))),
    ]
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let (a, b) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    // A value holding a token would make the twins' substitution ambiguous.
    if text.contains("TOKEN") {
        return;
    }
    let subst = [("AAAATOKEN".to_string(), a.to_string()), ("BBBBTOKEN".to_string(), b.to_string())];
    for (harmless, hostile) in every_builder("AAAATOKEN", "BBBBTOKEN").iter().zip(every_builder(a, b)) {
        assert_same_fix(harmless, &hostile, &subst, shell_tokens);
    }
    // The firewall owners' fixes, the chain after each owner's prefix.
    let sel = data.first().copied().unwrap_or(0) as usize;
    let prefix = ["", "ufw-", "f2b-", "DOCKER", "filter_IN_", "CNI-", "KUBE-", "INPUT"][sel % 8];
    let backend = [Backend::IptablesNft, Backend::IptablesLegacy, Backend::Nftables][sel % 3];
    let family = [Some(FwFamily::Ip), Some(FwFamily::Ip6), Some(FwFamily::Inet), None][sel % 4];
    let rule = |chain: &str, table: &str| RuleRef {
        backend,
        table: table.to_string(),
        chain: format!("{prefix}{chain}"),
        index: sel % 3,
        text: String::new(),
    };
    let (owner, harmless) = attribute(&rule("AAAATOKEN", "BBBBTOKEN"), family, "tcp", 8080, Family::V4);
    let (hostile_owner, hostile) = attribute(&rule(a, b), family, "tcp", 8080, Family::V4);
    // A name can pick another owner (a table named `firewalld`, a chain ending in `_ZONES`):
    // then there is no twin to compare with.
    if subst.iter().fold(owner, |o, (t, v)| o.replace(t.as_str(), v)) != hostile_owner {
        return;
    }
    assert_eq!(harmless.len(), hostile.len());
    for (h, x) in harmless.iter().zip(&hostile) {
        assert_same_fix(h, x, &subst, shell_tokens);
    }
});
