#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = portdoctor_parse::nft::parse_ruleset("fuzz", text);
        let _ = portdoctor_parse::aws::parse_aws(&[("fuzz".to_string(), text.to_string())]);
    }
});
