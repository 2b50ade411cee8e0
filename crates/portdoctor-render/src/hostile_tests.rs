//! Seeded mutation testing of the renderers (issue 17, class 2): reports whose every string
//! came from a hostile machine, in every format and option. Text and Markdown hold no raw
//! control character and no line the evidence started; JSON gives the values back unchanged;
//! HTML copies only safely rendered commands.

use crate::{Format, Options, render};
use portdoctor_model::Diagnosis;
use portdoctor_model::fix::Fix;
use portdoctor_testbed::hostile::{
    hostile_report, hostile_string, markdown_lines_are_ours, text_lines_are_ours, unsafe_chars, without_our_colours,
};
use portdoctor_testbed::rng::Rng;

fn rendered(d: &Diagnosis, format: Format, opts: Options) -> String {
    let mut out = Vec::new();
    render(&mut out, d, format, opts).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn no_hostile_report_reaches_the_terminal_or_the_markdown_raw() {
    let mut rng = Rng::new(0x0bad_c0de);
    for _ in 0..300 {
        let d = hostile_report(&mut || hostile_string(&mut rng, 8));
        for (verbose, color, width) in [(false, false, None), (true, true, Some(60)), (true, false, Some(30))] {
            let out = rendered(&d, Format::Text, Options { verbose, color, width });
            let out = if color { without_our_colours(&out) } else { out };
            assert_eq!(unsafe_chars(&out), Vec::<char>::new(), "{out}");
            text_lines_are_ours(&out);
        }
        let md = rendered(&d, Format::Markdown, Options::default());
        assert_eq!(unsafe_chars(&md), Vec::<char>::new(), "{md}");
        markdown_lines_are_ours(&md);

        let json = rendered(&d, Format::Json, Options::default());
        assert_eq!(unsafe_chars(&json), Vec::<char>::new(), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["verdict"]["causes"][0]["evidence"][1], d.causes[0].evidence[1].as_str(), "values kept");
        assert_eq!(v["notes"][0], d.notes[0].as_str());

        let html = rendered(&d, Format::Html, Options::default());
        assert_eq!(html.matches("<script").count(), 1, "only our script");
        let copies: Vec<&str> = html.split("data-copy=\"").skip(1).map(|s| &s[..s.find('"').unwrap()]).collect();
        let commands: Vec<String> = d.causes.iter().flat_map(|c| &c.fix).filter_map(Fix::command).collect();
        assert_eq!(copies.len(), commands.len(), "a button for each safe command, none for the rest");
        for c in copies {
            assert!(!c.contains(['<', '>', '\n']) && unsafe_chars(c).is_empty(), "{c:?}");
        }
    }
}
