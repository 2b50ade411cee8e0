//! Arbitrary strings in every field of a report (issue 17, class 2): text and Markdown hold no
//! raw control character and no line, heading, list item, table cell or code span the evidence
//! started; JSON holds none raw either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portdoctor_render::{Format, Options, render};
use portdoctor_testbed::hostile::{
    hostile_report, markdown_lines_are_ours, text_lines_are_ours, unsafe_chars, without_our_colours,
};

fn rendered(d: &portdoctor_model::Diagnosis, format: Format, opts: Options) -> String {
    let mut out = Vec::new();
    render(&mut out, d, format, opts).unwrap();
    String::from_utf8(out).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\u{1}').collect();
    let mut i = 0;
    let d = hostile_report(&mut || {
        i += 1;
        parts[i % parts.len()].to_string()
    });
    for (verbose, color, width) in [(false, false, None), (true, true, Some(40))] {
        let out = without_our_colours(&rendered(&d, Format::Text, Options { verbose, color, width }));
        assert!(unsafe_chars(&out).is_empty(), "{out}");
        text_lines_are_ours(&out);
    }
    let md = rendered(&d, Format::Markdown, Options::default());
    assert!(unsafe_chars(&md).is_empty(), "{md}");
    markdown_lines_are_ours(&md);
    assert!(unsafe_chars(&rendered(&d, Format::Json, Options::default())).is_empty());
});
