//! `portdoctor diagnose` end to end, against the real kernel: an internet client → a cloud edge
//! (1:1 NAT of 203.0.113.10, plus rules that play a security group or a provider block) → an
//! instance running a real OpenSSH server and real listeners. portdoctor runs in the client
//! namespace with the user's `ssh` (key auth), captures on the instance over SSH while it
//! probes, and — where the scenario has a cloud — asks moto, started in the client namespace and
//! populated to match the edge. Each scenario asserts the kernel's outcome and the verdict.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
use common::{bin, check, codes, diagnose};
use portdoctor_testbed::{Listen, PUBLIC_V4, Testbed, Wire, docker_rules};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The instance with sshd on 22 (portdoctor not installed there); returns the client's key.
fn instance(tb: &mut Testbed) -> PathBuf {
    tb.start_sshd(None).unwrap()
}

/// moto in the client namespace, populated with the instance as the edge plays it: a public
/// subnet, an internet gateway, 203.0.113.10 associated, a security group admitting `ports`.
/// Returns (endpoint, instance id).
fn moto(tb: &mut Testbed, ports: &[u16]) -> (String, String) {
    let port = 4566;
    let client = tb.client.clone();
    tb.spawn_in(&client, &["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()]).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let script = format!(
        r#"
import boto3, time, sys
for _ in range(100):
    try:
        ec2 = boto3.client("ec2", endpoint_url="{url}", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        ec2.describe_vpcs(); break
    except Exception:
        time.sleep(0.1)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
rtb = ec2.describe_route_tables(Filters=[{{"Name": "vpc-id", "Values": [vpc]}}])["RouteTables"][0]["RouteTableId"]
ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
for p in [{ports}]:
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{{"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{{"CidrIp": "0.0.0.0/0"}}]}}])
ami = ec2.describe_images()["Images"][0]["ImageId"]
i = ec2.run_instances(ImageId=ami, InstanceType="t3.small", MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[sg], PrivateIpAddress="10.0.1.10")["Instances"][0]["InstanceId"]
alloc = ec2.allocate_address(Domain="vpc", Address="{PUBLIC_V4}")["AllocationId"]
ec2.associate_address(AllocationId=alloc, InstanceId=i)
print(i)
"#,
        ports = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    );
    let out = tb.exec(&client, &["python3", "-c", &script]).unwrap();
    assert!(out.status.success(), "populating moto: {}", String::from_utf8_lossy(&out.stderr));
    (url, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn aws_env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("AWS_ENDPOINT_URL", url),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// The edge drops what a security group or a provider would: new connections to the instance
/// on every port but `allowed`.
fn edge_admits_only(tb: &Testbed, allowed: &[u16]) {
    let ports = allowed.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    let edge = tb.edge.clone();
    tb.nft(&edge, &format!(
        "table inet upstream {{\n chain screen {{ type filter hook forward priority 0; ct state established,related accept; ip daddr 10.0.1.10 tcp dport {{ {ports} }} accept; ip daddr 10.0.1.10 drop; }}\n}}\n"
    ))
    .unwrap();
}

#[test]
fn healthy_everything_agrees() {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.listen(&Listen { name: Some("node".into()), ..Listen::tcp("0.0.0.0", 8080) }).unwrap();
    let (url, iid) = moto(&mut tb, &[22, 8080]);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let (code, r, _) = diagnose(&tb, &key, &["--instance", &iid], &aws_env(&url));
    assert_eq!(r["verdict"]["status"], "reachable", "{r:#}");
    assert_eq!(code, 0);
    assert_eq!(check(&r, "path.probe")["status"], "pass");
    let cap = check(&r, "path.capture");
    assert_eq!(cap["status"], "pass", "{cap:#}");
    assert!(cap["summary"].as_str().unwrap().contains("SYN-ACKs left"), "{cap:#}");
    assert_eq!(check(&r, "host.listener")["status"], "pass");
    assert_eq!(check(&r, "cloud.security-group")["status"], "pass");
}

/// Issue 13, class 6: the cloud layer knows where the flow arrives (the private address of the
/// interface that holds 203.0.113.10) and hands it to the host layer, which then judges that
/// arrival only. The instance has a second interface with a route toward the client's network
/// through it, and a listener on eth0's address only: judged without the cloud, the arrival at
/// eth1 is plausible too, and it is refused there.
#[test]
fn the_cloud_layer_gives_the_host_layer_its_arrival() {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.add_second_nic().unwrap();
    tb.instance_ip(&["route", "add", "198.51.100.0/24", "via", "10.0.2.1", "dev", "eth1"]).unwrap();
    // Replies from eth0's address leave by eth0 (SSH's too).
    tb.instance_ip(&["rule", "add", "from", "10.0.1.10", "table", "101"]).unwrap();
    tb.instance_ip(&["route", "add", "default", "via", "10.0.1.1", "dev", "eth0", "table", "101"]).unwrap();
    tb.instance_sysctl("net.ipv4.conf.all.rp_filter=1").unwrap();
    tb.listen(&Listen::tcp("10.0.1.10", 8080)).unwrap();
    let (url, iid) = moto(&mut tb, &[22, 8080]);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Open);
    let from = ["--from", "198.51.100.2"];
    let (code, r, _) = diagnose(&tb, &key, &[&from[..], &["--instance", &iid]].concat(), &aws_env(&url));
    assert_eq!(r["verdict"]["status"], "reachable", "{r:#}");
    assert_eq!(code, 0);
    let addr = check(&r, "host.address");
    assert_eq!(addr["summary"], "Traffic arrives at 10.0.1.10 on eth0", "{addr:#}");
    assert!(!r["checks"].as_array().unwrap().iter().any(|c| c["id"] == "host.address.arrival2"), "{r:#}");
    // Without the cloud layer the host layer cannot know, and judges both arrivals.
    let (_, r, _) = diagnose(&tb, &key, &from, &[]);
    let second = check(&r, "host.address.arrival2");
    assert!(second["summary"].as_str().unwrap().contains("10.0.1.10 on eth0"), "{second:#}");
    assert!(
        r["verdict"]["causes"].as_array().unwrap().iter().any(|c| c["code"] == "LISTENER_ADDRESS_MISMATCH"
            && c["message"].as_str().unwrap().starts_with("Arriving on eth1 (10.0.2.10")),
        "{r:#}"
    );
}

#[test]
fn nothing_listening() {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Refused);
    let (code, r, _) = diagnose(&tb, &key, &[], &[]);
    assert_eq!(codes(&r), ["NOT_LISTENING"], "{r:#}");
    assert_eq!(code, 1);
    let c = &r["verdict"]["causes"][0];
    assert!(c["evidence"].as_array().unwrap().iter().any(|e| e.as_str().unwrap().contains("refused (RST)")), "{c:#}");
    let cap = check(&r, "path.capture");
    assert!(cap["summary"].as_str().unwrap().contains("RSTs left"), "{cap:#}");
}

#[test]
fn host_firewall_drop_seen_at_the_nic() {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 8080 -j DROP\nCOMMIT\n", false).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r, _) = diagnose(&tb, &key, &[], &[]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert_eq!(code, 1);
    let cap = check(&r, "path.capture");
    assert!(cap["summary"].as_str().unwrap().contains("nothing left in answer"), "{cap:#}");
    let ev = r["verdict"]["causes"][0]["evidence"].as_array().unwrap();
    assert!(ev.iter().any(|e| e.as_str().unwrap().contains("reached the NIC")), "{ev:#?}");
}

#[test]
fn host_firewall_reject() {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset\nCOMMIT\n",
        false,
    )
    .unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Refused);
    let (code, r, _) = diagnose(&tb, &key, &[], &[]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_REJECT"], "{r:#}");
    assert_eq!(code, 1);
}

/// A listener on 8080 behind an edge that passes only 22, and moto's security group admitting
/// `sg_ports`; the kernel times out on 8080. Returns diagnose's exit and report.
fn blocked_upstream(sg_ports: &[u16]) -> (i32, Value) {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    edge_admits_only(&tb, &[22]);
    let (url, iid) = moto(&mut tb, sg_ports);
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    assert_eq!(tb.connect(PUBLIC_V4, 22, "tcp").unwrap(), Wire::Open);
    let (code, r, _) = diagnose(&tb, &key, &["--instance", &iid], &aws_env(&url));
    (code, r)
}

#[test]
fn security_group_missing_the_port() {
    let (code, r) = blocked_upstream(&[22]);
    assert_eq!(codes(&r), ["SECURITY_GROUP_NO_INGRESS"], "{r:#}");
    assert_eq!(code, 1);
    let ev = r["verdict"]["causes"][0]["evidence"].as_array().unwrap();
    assert!(ev.iter().any(|e| e.as_str().unwrap().contains("the wire agrees")), "{ev:#?}");
    assert!(check(&r, "path.capture")["summary"].as_str().unwrap().starts_with("None of your"));
}

#[test]
fn provider_block_only_ssh_passes() {
    // The account's configuration admits 8080: the block is not in it.
    let (code, r) = blocked_upstream(&[22, 8080]);
    assert_eq!(codes(&r), ["UPSTREAM_FILTERED"], "{r:#}");
    assert_eq!(r["verdict"]["causes"][0]["confidence"], "confirmed");
    assert_eq!(code, 1);
    let ev = r["verdict"]["causes"][0]["evidence"].as_array().unwrap();
    assert!(ev.iter().any(|e| e.as_str().unwrap().contains("port 22 answers")), "{ev:#?}");
}

/// SSH refused (no sshd): the host layer is an unknown check with the remedy, and the rest of
/// the diagnosis still runs — the probe's RST alone says nothing listens.
#[test]
fn ssh_refused_the_rest_still_runs() {
    let tb = Testbed::new().unwrap();
    let key = tb.edge.clone(); // any path: ssh never gets to use it
    let (code, r, _) = diagnose(&tb, Path::new(&key), &[], &[]);
    let ssh = check(&r, "host.ssh");
    assert_eq!(ssh["status"], "unknown", "{ssh:#}");
    let ev = ssh["evidence"][0].as_str().unwrap();
    assert!(ev.contains("Connection refused") && ev.contains("sshd"), "{ev}");
    assert_eq!(codes(&r), ["NOT_LISTENING"], "{r:#}");
    assert_eq!(r["verdict"]["causes"][0]["confidence"], "likely");
    assert_eq!(code, 1);
    assert_eq!(check(&r, "path.capture")["status"], "unknown");
}

/// portdoctor installed on the host: the host's evidence is its own snapshot (sock_diag, not
/// `ss`) and the capture is `portdoctor capture --pcap` rather than tcpdump.
#[test]
fn portdoctor_installed_on_the_host() {
    let mut tb = Testbed::new().unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", bin().parent().unwrap().display());
    let key = tb.start_sshd(Some(&path)).unwrap();
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    tb.iptables_restore("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 8080 -j DROP\nCOMMIT\n", false).unwrap();
    let (code, r, _) = diagnose(&tb, &key, &[], &[]);
    assert_eq!(codes(&r), ["HOST_FIREWALL_DROP"], "{r:#}");
    assert_eq!(code, 1);
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.starts_with("host evidence from") && n.contains("/portdoctor on")), "{notes:#?}");
    let cap = check(&r, "path.capture");
    assert!(cap["summary"].as_str().unwrap().contains("nothing left in answer"), "{cap:#}");
}

/// A key the host does not accept: BatchMode means no prompt, and the check says what to do.
#[test]
fn ssh_key_refused() {
    let mut tb = Testbed::new().unwrap();
    let _accepted = instance(&mut tb);
    let stranger = std::env::temp_dir().join(format!("portdoctor-stranger-key-{}", std::process::id()));
    let _ = std::fs::remove_file(&stranger);
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(ok.success());
    let (_, r, _) = diagnose(&tb, &stranger, &[], &[]);
    let _ = std::fs::remove_file(&stranger);
    let _ = std::fs::remove_file(stranger.with_extension("pub"));
    let ssh = check(&r, "host.ssh");
    assert_eq!(ssh["status"], "unknown");
    let ev = ssh["evidence"][0].as_str().unwrap();
    assert!(ev.contains("Permission denied") && ev.contains("ssh-agent"), "{ev}");
}

/// `portdoctor probe` names the ICMP error it got, read from the socket's error queue: the edge
/// rejects 8081 as "administratively prohibited" and 8082 as "host unreachable"; UDP gets an
/// answer from an echo listener and a port-unreachable from a closed port.
#[test]
fn probe_names_icmp_kinds() {
    let mut tb = Testbed::new().unwrap();
    let edge = tb.edge.clone();
    tb.nft(&edge, "table inet reject_some {\n chain screen { type filter hook forward priority 0; tcp dport 8081 reject with icmp type admin-prohibited; tcp dport 8082 reject with icmp type host-unreachable; }\n}\n").unwrap();
    tb.listen(&Listen::udp("0.0.0.0", 9000)).unwrap();
    let probe = |target: &str, proto: &str| -> Value {
        let out = tb
            .run_in_client(
                bin(),
                &[
                    "probe",
                    target,
                    "--proto",
                    proto,
                    "--json",
                    "--attempts",
                    "1",
                    "--control-port",
                    "1",
                    "--timeout-ms",
                    "800",
                ],
                &[],
            )
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let r = probe("203.0.113.10:8081", "tcp");
    assert_eq!(r["attempts"][0]["outcome"], "unreachable", "{r:#}");
    assert_eq!(r["attempts"][0]["kind"], "admin-prohibited");
    // A reject after the edge's DNAT is sent from the translated address, un-NATed on the way
    // back: the client sees it come from the target itself.
    assert_eq!(r["attempts"][0]["from"], "203.0.113.10");
    let r = probe("203.0.113.10:8082", "tcp");
    assert_eq!(r["attempts"][0]["kind"], "host-unreachable", "{r:#}");
    let r = probe("203.0.113.10:9000", "udp");
    assert_eq!(r["attempts"][0]["outcome"], "open", "{r:#}");
    let r = probe("203.0.113.10:9001", "udp");
    assert_eq!(r["attempts"][0]["kind"], "port-unreachable", "{r:#}");
}

/// A network between the client and the provider filters the port (played by the edge, for the
/// client's network only), while the SSH host — the instance itself, through the edge's hairpin
/// NAT — reaches it: `CARRIER_BLOCK` from `--vantage ssh-host`.
#[test]
fn carrier_block_seen_from_a_second_vantage() {
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    let edge = tb.edge.clone();
    let carrier = "table inet carrier {\n chain screen { type filter hook forward priority 0; ip saddr 198.51.100.0/24 tcp dport 8080 drop; }\n}\n";
    tb.nft(&edge, carrier).unwrap();
    // Hairpin: the instance reaching its own public address comes back from the edge. The edge
    // sends the packet out where it came in; no ICMP redirect may teach the instance a shortcut.
    tb.exec(
        &edge,
        &["sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth1.send_redirects=0"],
    )
    .unwrap();
    tb.nft(&edge, "table ip hairpin {\n chain post { type nat hook postrouting priority srcnat; ip saddr 10.0.1.0/24 ip daddr 10.0.1.10 masquerade; }\n}\n").unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Timeout);
    let (code, r, _) = diagnose(&tb, &key, &["--vantage", "ssh-host"], &[]);
    assert_eq!(codes(&r), ["CARRIER_BLOCK"], "{r:#}");
    assert_eq!(code, 1);
    assert_eq!(check(&r, "path.probe.ssh-host")["status"], "pass");
    let hops: Vec<&str> = r["path"].as_array().unwrap().iter().map(|h| h["hop"].as_str().unwrap()).collect();
    assert_eq!(hops[1], "carrier", "{hops:?}");
}

/// A host without tcpdump (and without portdoctor): the capture is an unknown check that says
/// how to install it, and the rest of the diagnosis stands.
#[test]
fn tcpdump_absent_on_the_host() {
    let mut tb = Testbed::new().unwrap();
    let bare = tb.programs_without(&["tcpdump", "portdoctor"]).unwrap();
    let key = tb.start_sshd(Some(bare.to_str().unwrap())).unwrap();
    let (code, r, _) = diagnose(&tb, &key, &[], &[]);
    let cap = check(&r, "path.capture");
    assert_eq!(cap["status"], "unknown", "{cap:#}");
    assert!(cap["evidence"][0].as_str().unwrap().contains("install tcpdump"), "{cap:#}");
    assert_eq!(codes(&r), ["NOT_LISTENING"], "the host layer still answered: {r:#}");
    assert_eq!(code, 1);
}

/// A login user whose sudo wants a password (a real `sudo`, no sudoers entry): portdoctor never
/// prompts; the host is read as that user, the firewall becomes an unknown check, the capture
/// is unknown with the sudo remedy, and a note says why. The user is removed afterwards.
#[test]
fn sudo_wants_a_password() {
    struct User(String);
    impl Drop for User {
        fn drop(&mut self) {
            let _ = std::process::Command::new("userdel").args(["-r", &self.0]).output();
        }
    }
    let name = format!("pdsudo{}", std::process::id() % 100_000);
    // `-p '*'`: no password, but not a locked account (sshd refuses those even with a key).
    let ok = std::process::Command::new("useradd").args(["-m", "-s", "/bin/sh", "-p", "*", &name]).status().unwrap();
    assert!(ok.success(), "useradd");
    let _user = User(name.clone());
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    tb.listen(&Listen::tcp("0.0.0.0", 8080)).unwrap();
    let key_arg = key.display().to_string();
    let dest = format!("{name}@203.0.113.10");
    let args = [
        "diagnose",
        "203.0.113.10:8080",
        "--json",
        "--ssh",
        &dest,
        "--ssh-identity",
        &key_arg,
        "--ssh-option",
        "StrictHostKeyChecking=no",
        "--ssh-option",
        "UserKnownHostsFile=/dev/null",
        "--ssh-option",
        "LogLevel=ERROR",
    ];
    let out = tb.run_in_client(bin(), &args, &[]).unwrap();
    let r: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let notes: Vec<&str> = r["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(notes.iter().any(|n| n.starts_with("sudo -n was refused") && n.contains("password")), "{notes:#?}");
    let cap = check(&r, "path.capture");
    assert_eq!(cap["status"], "unknown", "{cap:#}");
    assert!(cap["evidence"][0].as_str().unwrap().contains("passwordless sudo"), "{cap:#}");
    assert_eq!(check(&r, "host.firewall")["status"], "unknown");
    assert_eq!(check(&r, "path.probe")["status"], "pass", "the rest still ran");
    assert_eq!(r["verdict"]["status"], "inconclusive", "{r:#}");
}

#[test]
fn container_app_on_its_loopback_read_over_ssh_with_plain_tools() {
    // Docker's `-p 8080:80` to an app bound to 127.0.0.1 inside its container: the plain-tools
    // script enters the container's namespace and pairs it with the host by its veth ends.
    let mut tb = Testbed::new().unwrap();
    let key = instance(&mut tb);
    let k = tb.add_container().unwrap();
    tb.iptables_restore(&docker_rules(""), false).unwrap();
    tb.listen_in(&k, &Listen::tcp("127.0.0.1", 80)).unwrap();
    assert_eq!(tb.connect(PUBLIC_V4, 8080, "tcp").unwrap(), Wire::Refused);
    let (code, r, _) = diagnose(&tb, &key, &[], &[]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(codes(&r), ["LISTENER_LOOPBACK_ONLY"], "{r:#}");
    assert!(r["verdict"]["causes"][0]["message"].as_str().unwrap().contains("Inside the container"), "{r:#}");
}
