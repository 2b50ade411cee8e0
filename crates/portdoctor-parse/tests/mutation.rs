//! Seeded mutation testing of every parser (a fuzzer's job without a nightly toolchain): real
//! inputs, bytes flipped, dropped, duplicated and truncated, thousands of times. Each parser
//! must return Ok or a ParseError naming the file — never panic.

use portdoctor_model::firewall::{Backend, FwFamily};
use portdoctor_model::net::Family;
use portdoctor_parse::{aws, iproute, ipset, iptables, nft, procfs, sockdiag, sockets};
use portdoctor_testbed::rng::Rng;

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.next_u64() % 4 {
        if v.is_empty() {
            break;
        }
        let at = (rng.next_u64() as usize) % v.len();
        match rng.next_u64() % 5 {
            0 => v[at] = rng.next_u64() as u8,
            1 => {
                v.remove(at);
            }
            2 => v.insert(at, b"{}[]\"-:/,!0 \n"[(rng.next_u64() % 13) as usize]),
            3 => v.truncate(at),
            _ => {
                let end = (at + (rng.next_u64() as usize % 16)).min(v.len());
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
        }
    }
    v
}

const ITERATIONS: u64 = 5_000;

fn run(name: &str, seed_input: &[u8], parse: impl Fn(&[u8]) -> Result<(), String>) -> (u64, u64) {
    let mut rng = Rng::new(0x00c0_ffee ^ name.len() as u64);
    let mut errors = 0;
    for _ in 0..ITERATIONS {
        let input = mutate(&mut rng, seed_input);
        if let Err(e) = parse(&input) {
            assert!(e.starts_with(name), "error must name the file: {e}");
            errors += 1;
        }
    }
    (ITERATIONS, errors)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn no_parser_panics_on_mutated_input() {
    let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/host-loopback-only/");
    let read = |f: &str| std::fs::read(format!("{ex}{f}")).unwrap_or_default();
    let ipt = b"*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-user-input\n-A ufw-user-input -p tcp -m multiport --dports 80,443 -m comment --comment \"web\" -j ACCEPT\n-A ufw-user-input -m iprange --src-range 10.0.0.1-10.0.0.9 -m set --match-set x src -j REJECT --reject-with tcp-reset\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080\nCOMMIT\n".to_vec();
    let nft_json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nft-ruleset.json")).unwrap();
    let aws_doc = br#"{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":80,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}],"NetworkAcls":[{"NetworkAclId":"acl-1","VpcId":"v","Entries":[{"RuleNumber":1,"Egress":false,"Protocol":"6","RuleAction":"deny","CidrBlock":"1.0.0.0/8","PortRange":{"From":1,"To":2}}]}]}"#.to_vec();
    let mut diag = sockdiag::request(2, 6, 1024, 1);
    diag.extend_from_slice(&[0u8; 64]);
    let results = [
        (
            "iptables-nft.txt",
            run("iptables-nft.txt", &ipt, |b| {
                iptables::parse_save("iptables-nft.txt", &text(b), Backend::IptablesNft, FwFamily::Ip)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "nft-ruleset.json",
            run("nft-ruleset.json", &nft_json, |b| {
                nft::parse_ruleset("nft-ruleset.json", &text(b)).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "ipset.txt",
            run("ipset.txt", b"create a hash:net family inet\nadd a 10.0.0.0/8\nadd a 10.1.0.1-10.1.0.9\n", |b| {
                ipset::parse_ipset_save("ipset.txt", &text(b)).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "sockets.json",
            run("sockets.json", &read("sockets.json"), |b| {
                sockets::parse_sockets("sockets.json", &text(b)).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "ip-addr.json",
            run("ip-addr.json", &read("ip-addr.json"), |b| {
                iproute::parse_addr("ip-addr.json", &text(b)).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "ip-route.json",
            run("ip-route.json", &read("ip-route.json"), |b| {
                iproute::parse_routes("ip-route.json", &text(b), Family::V4).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "proc-net-netstat.txt",
            run("proc-net-netstat.txt", &read("proc-net-netstat.txt"), |b| {
                procfs::parse_counters("proc-net-netstat.txt", &text(b)).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "stat",
            run("stat", &read("proc-net-stat-nf_conntrack.txt"), |b| {
                procfs::parse_conntrack_stat("stat", &text(b)).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "aws.json",
            run("aws.json", &aws_doc, |b| {
                aws::parse_aws(&[("aws.json".into(), text(b))]).map(|_| ()).map_err(|e| e.to_string())
            }),
        ),
        (
            "sock_diag",
            run("sock_diag", &diag, |b| sockdiag::parse_datagram(b).map(|_| ()).map_err(|e| format!("sock_diag: {e}"))),
        ),
    ];
    for (name, (n, errors)) in results {
        println!("{name}: {n} mutated inputs, {errors} rejected with an error, 0 panics");
    }
}
