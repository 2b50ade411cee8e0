//! What the scenario test files share: the binary under test, running `host` in the testbed's
//! instance, and reading a report.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use portdoctor_testbed::Testbed;
use serde_json::Value;
use std::path::Path;

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_portdoctor"))
}

/// `portdoctor host --json ARGS` in the instance: (exit code, report).
pub fn host(tb: &Testbed, args: &[&str]) -> (i32, Value) {
    let mut argv = vec!["host", "--json"];
    argv.extend_from_slice(args);
    let out = tb.run_in_instance(bin(), &argv).expect("run portdoctor");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The cause codes of a report, primary first (none when it has no verdict).
pub fn codes(r: &Value) -> Vec<String> {
    r["verdict"]["causes"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["code"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The check with this id; fails the test when there is none.
pub fn check<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {r:#}"))
}
