#![no_main]
use libfuzzer_sys::fuzz_target;
use portdoctor_model::firewall::{Backend, FwFamily};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = portdoctor_parse::iptables::parse_save("fuzz", text, Backend::IptablesNft, FwFamily::Ip);
        let _ = portdoctor_parse::iptables::held_tables(text);
        let _ = portdoctor_parse::ipset::parse_ipset_save("fuzz", text);
    }
});
