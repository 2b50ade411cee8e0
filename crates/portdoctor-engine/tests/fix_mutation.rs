//! Seeded mutation testing of the fix builders (issue 17, class 1): hostile strings wherever the
//! evidence supplies a value. Each builder runs twice, once with a harmless token and once with
//! the hostile value in its place; the hostile fix, read by a real /bin/sh, must give exactly the
//! harmless fix's words with the token replaced by the hostile value — or be withheld, naming
//! that value. No unquoted interpolation can pass.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use portdoctor_engine::cloud::{CloudQuery, CloudTarget, diagnose_cloud};
use portdoctor_engine::firewall::{RuleRef, attribute};
use portdoctor_model::cloud::PortRange;
use portdoctor_model::firewall::{Backend, FwFamily};
use portdoctor_model::net::Family;
use portdoctor_model::{Diagnosis, Proto};
use portdoctor_testbed::hostile::{assert_same_fix, hostile_string, shell_words};
use portdoctor_testbed::rng::Rng;

fn same_fixes(harmless: &Diagnosis, hostile: &Diagnosis, subst: &[(String, String)]) -> usize {
    let codes = |d: &Diagnosis| d.causes.iter().map(|c| c.code).collect::<Vec<_>>();
    assert_eq!(codes(hostile), codes(harmless), "the hostile values changed the verdict");
    let mut n = 0;
    for (a, b) in harmless.causes.iter().zip(&hostile.causes) {
        assert_eq!(a.fix.len(), b.fix.len());
        for (fa, fb) in a.fix.iter().zip(&b.fix) {
            n += usize::from(assert_same_fix(fa, fb, subst, shell_words));
        }
    }
    n
}

/// Chains and tables of every owner (ufw, firewalld, fail2ban, Docker, Podman, plain iptables,
/// nftables) with hostile names after the owner's prefix.
#[test]
fn firewall_fixes_keep_hostile_chain_and_table_names_one_word() {
    let mut rng = Rng::new(0x5eed_c0de);
    let mut commands = 0;
    for i in 0..600 {
        let prefix = rng.pick(&["", "ufw-user-", "f2b-", "DOCKER", "filter_IN_", "CNI-", "INPUT"]);
        let backend = [Backend::IptablesNft, Backend::IptablesLegacy, Backend::Nftables][i % 3];
        let family = if rng.chance(30) { Family::V6 } else { Family::V4 };
        let table_family = [None, Some(FwFamily::Ip), Some(FwFamily::Ip6), Some(FwFamily::Inet)][i % 4];
        let (chain_v, table_v) = (hostile_string(&mut rng, 6), hostile_string(&mut rng, 4));
        let hostile_table = rng.chance(40);
        let rule = |chain: &str, table: &str| RuleRef {
            backend,
            table: table.to_string(),
            chain: format!("{prefix}{chain}"),
            index: i % 4,
            text: String::new(),
        };
        let (ct, tt) = ("CHAINTOKEN", if hostile_table { "TABLETOKEN" } else { "filter" });
        let harmless = attribute(&rule(ct, tt), table_family, "tcp", 8443, family);
        let hostile = attribute(
            &rule(&chain_v, if hostile_table { &table_v } else { "filter" }),
            table_family,
            "tcp",
            8443,
            family,
        );
        let mut subst = vec![(ct.to_string(), chain_v.clone())];
        if hostile_table {
            subst.push((tt.to_string(), table_v.clone()));
        }
        assert_eq!(harmless.1.len(), hostile.1.len());
        for (a, b) in harmless.1.iter().zip(&hostile.1) {
            commands += usize::from(assert_same_fix(a, b, &subst, shell_words));
        }
    }
    assert!(commands > 300, "only {commands} commands were compared");
}

/// The seed incident's AWS evidence, every resource id replaced by a token (`sg-TOK03`).
fn tokenised_seed() -> (Vec<(String, String)>, Vec<String>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/seed-incident/aws");
    let mut docs: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        // CloudTrail nests JSON in a string: a hostile id there would change the timeline, not a fix.
        .filter(|p| !p.to_string_lossy().contains("cloudtrail"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    docs.sort();
    let mut ids: Vec<String> = Vec::new();
    for (_, text) in &docs {
        for (i, _) in text.match_indices('"') {
            let rest = &text[i + 1..];
            let Some(end) = rest.find('"') else { continue };
            let s = &rest[..end];
            let kinds = ["sg-", "acl-", "rtb-", "eni-", "vpc-", "subnet-", "igw-", "eipalloc-", "i-", "case-"];
            let is_id = kinds.iter().any(|k| s.starts_with(k)) && s.len() > 8 && !s.contains(' ');
            let is_arn = s.starts_with("arn:aws:health:") && s.contains(":event/");
            let is_detector = s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit());
            if (is_id || is_arn || is_detector) && !ids.iter().any(|x| x == s) {
                ids.push(s.to_string());
            }
        }
    }
    // Longest first, so no id is replaced inside a longer one.
    ids.sort_by_key(|s| std::cmp::Reverse(s.len()));
    (docs, ids)
}

/// The prefix an id's kind is known by (`sg-`, `arn:aws:health:…/`), kept so the engine takes
/// the hostile id for the same kind of thing.
fn kind_prefix(id: &str) -> &str {
    match id.rfind('/').or_else(|| id.find('-')) {
        Some(i) => &id[..=i],
        None => "",
    }
}

fn run(docs: &[(String, String)], instance: &str, port: u16) -> Diagnosis {
    let ev = portdoctor_parse::aws::parse_aws(docs).unwrap_or_else(|e| {
        let doc = &docs.iter().find(|(f, _)| *f == e.file).unwrap().1;
        panic!("{e:?}\n{}", doc.lines().take(14).collect::<Vec<_>>().join("\n"))
    });
    let q = CloudQuery {
        port,
        proto: Proto::Tcp,
        from: "internet".parse().unwrap(),
        target: CloudTarget::Instance(instance.to_string()),
        client_ports: PortRange { from: 1024, to: 65535 },
        changes: Default::default(),
        family: None,
        name: None,
    };
    diagnose_cloud(&ev, &q)
}

/// Every id of the seed incident's account hostile at once, in accounts broken in different
/// ways so that each AWS fix is built: security group, ACL in and out, route, gateway, instance
/// state, the abuse notices and GuardDuty.
#[test]
fn aws_fixes_keep_hostile_ids_one_word() {
    let (docs, ids) = tokenised_seed();
    assert!(ids.len() >= 10, "{ids:?}");
    let instance = ids.iter().find(|s| s.starts_with("i-")).unwrap().clone();
    let breaks: [(&str, &str, &str); 6] = [
        ("sg", "\"FromPort\": 8080", "\"FromPort\": 8081"),
        ("acl-in", "\"RuleAction\": \"allow\"", "\"RuleAction\": \"deny\""),
        (
            "route",
            "\"0.0.0.0/0\",\n                    \"GatewayId\"",
            "\"198.51.100.0/24\",\n                    \"GatewayId\"",
        ),
        ("instance", "\"Name\": \"running\"", "\"Name\": \"stopped\""),
        ("igw", "\"State\": \"available\"", "\"State\": \"detached\""),
        ("none", "", ""),
    ];
    let mut rng = Rng::new(0xaba5_e1d5);
    let mut commands = 0;
    for round in 0..60 {
        let (_, from, to) = breaks[round % breaks.len()];
        let tokens: Vec<(String, String)> =
            ids.iter().enumerate().map(|(k, id)| (id.clone(), format!("{}TOK{k:02}", kind_prefix(id)))).collect();
        let hostile: Vec<(String, String)> = ids
            .iter()
            .map(|id| {
                let v = format!("{}{}", kind_prefix(id), hostile_string(&mut rng, 5));
                (id.clone(), v)
            })
            .collect();
        let account = |names: &[(String, String)], json: bool| -> Vec<(String, String)> {
            docs.iter()
                .map(|(f, t)| {
                    let t = if from.is_empty() { t.clone() } else { t.replace(from, to) };
                    let t = names.iter().fold(t, |t, (id, v)| {
                        let v = if json {
                            let quoted = serde_json::to_string(v).unwrap();
                            quoted[1..quoted.len() - 1].to_string()
                        } else {
                            v.clone()
                        };
                        t.replace(id.as_str(), &v)
                    });
                    (f.clone(), t)
                })
                .collect()
        };
        let target = |names: &[(String, String)]| names.iter().find(|(id, _)| *id == instance).unwrap().1.clone();
        let harmless = run(&account(&tokens, false), &target(&tokens), 8080);
        let bad = run(&account(&hostile, true), &target(&hostile), 8080);
        let subst: Vec<(String, String)> =
            tokens.iter().zip(&hostile).map(|((_, token), (_, v))| (token.clone(), v.clone())).collect();
        commands += same_fixes(&harmless, &bad, &subst);
    }
    assert!(commands > 100, "only {commands} commands were compared");
}

/// A host snapshot folder of the CLI's tests, `name` replaced by `value` in every file (JSON
/// files get it escaped).
fn host_with(fixture: &str, name: &str, value: &str) -> portdoctor_model::host::HostEvidence {
    use portdoctor_parse::host::{RawHost, parse_host, parse_manifest};
    let dir = format!("{}/../portdoctor/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let mut sources = parse_manifest(&std::fs::read_to_string(format!("{dir}/manifest.json")).unwrap()).unwrap();
    for (file, src) in sources.iter_mut() {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap_or_default();
        let v = if file.ends_with(".json") {
            let quoted = serde_json::to_string(value).unwrap();
            quoted[1..quoted.len() - 1].to_string()
        } else {
            value.to_string()
        };
        src.content = text.replace(name, &v).into_bytes();
    }
    parse_host(&RawHost { sources }).unwrap()
}

/// The host's own fixes with hostile names: the service's unit and process (SELinux's
/// `semanage`, `systemctl`, `journalctl`) and a firewall chain. A name that changes what the
/// evidence parses to changes the verdict and has no twin: skipped, and enough must remain.
#[test]
fn host_fixes_keep_hostile_unit_process_and_chain_names_one_word() {
    use portdoctor_engine::host::{HostQuery, diagnose_host};
    let mut rng = Rng::new(0x0005_e11b);
    let (mut commands, mut twins) = (0, 0);
    for (fixture, name, port) in
        [("selinux-bind-denied", "nginx", 8081), ("hostile-host", "p;touch$IFS/tmp/x", 8443)].iter().cycle().take(400)
    {
        let q = HostQuery { port: *port, proto: Proto::Tcp, from: "internet".parse().unwrap(), to: None };
        // Line formats end a name at white space or a quote (`comm="…"`): such a value would
        // reach the fix cut, and the twins would differ for that reason alone.
        let value: String =
            hostile_string(&mut rng, 5).chars().filter(|c| !c.is_whitespace() && !matches!(c, '"' | '=')).collect();
        if value.is_empty() {
            continue;
        }
        let token = "NAMETOKEN";
        let harmless = diagnose_host(&host_with(fixture, name, token), &q);
        let hostile = diagnose_host(&host_with(fixture, name, &value), &q);
        let shape = |d: &Diagnosis| d.causes.iter().map(|c| (c.code, c.fix.len())).collect::<Vec<_>>();
        if shape(&harmless) != shape(&hostile) {
            continue;
        }
        twins += 1;
        commands += same_fixes(&harmless, &hostile, &[(token.to_string(), value)]);
    }
    assert!(twins > 100 && commands > 200, "{twins} twins, {commands} commands compared");
}
