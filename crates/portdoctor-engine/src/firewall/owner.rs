//! Who owns a rule that decides, and the fix in that owner's own tool (ufw, firewall-cmd,
//! fail2ban-client, Docker's DOCKER-USER, Podman, Kubernetes, nft in the rule's own table
//! family, iptables with the position to insert at): the remedy half of the firewall layer, apart
//! from the walk that finds the rule.

use super::RuleRef;
use portdoctor_model::firewall::{Backend, Chain, FwFamily, Netfilter, Table};
use portdoctor_model::fix::{Fix, ShellCommand, Word};
use portdoctor_model::net::Family;

/// The chain through which ufw or firewalld manages a table: they set INPUT's policy and hang
/// their own chains under it.
pub fn manager_chain(t: &Table) -> Option<&Chain> {
    t.chains
        .iter()
        .find(|c| ["ufw", "INPUT_ZONES", "IN_", "filter_IN_"].iter().any(|prefix| c.name.starts_with(prefix)))
}

/// Who owns a rule, and how the user fixes it in that tool. A chain *policy* belongs to whatever
/// manages the table.
pub fn attribute_in(nf: &Netfilter, r: &RuleRef, proto: &str, port: u16, family: Family) -> (String, Vec<Fix>) {
    let table = table_of(nf, r, family);
    let fam = table.map(|t| t.family);
    if r.index == 0
        && let Some(chain) = table.and_then(manager_chain)
    {
        return attribute(&RuleRef { chain: chain.name.clone(), ..r.clone() }, fam, proto, port, family);
    }
    attribute(r, fam, proto, port, family)
}

/// The rule's own table: same backend and name, holding the chain, for this packet's family
/// (`ip filter` and `ip6 filter` can both exist).
pub fn table_of<'a>(nf: &'a Netfilter, r: &RuleRef, family: Family) -> Option<&'a Table> {
    let fits = |t: &&Table| !matches!((t.family, family), (FwFamily::Ip, Family::V6) | (FwFamily::Ip6, Family::V4));
    let mut tables = nf.tables.iter().filter(|t| t.name == r.table && t.backend == r.backend);
    tables.clone().filter(fits).find(|t| t.chains.iter().any(|c| c.name == r.chain)).or_else(|| tables.next())
}

/// `nft insert rule FAMILY`, the family of the rule's own table: `nft insert rule inet filter …`
/// fails on an `ip filter` table.
pub fn nft_insert_rule(table_family: Option<FwFamily>) -> ShellCommand {
    ShellCommand::new(match table_family {
        Some(FwFamily::Ip) => "nft insert rule ip",
        Some(FwFamily::Ip6) => "nft insert rule ip6",
        Some(FwFamily::Netdev) => "nft insert rule netdev",
        Some(FwFamily::Other) => "nft insert rule <family>",
        Some(FwFamily::Inet) | None => "nft insert rule inet",
    })
}

/// Who owns a rule, before it is named or its fix written.
enum Owner<'a> {
    Ufw,
    Firewalld {
        zone: &'a str,
    },
    Fail2ban {
        jail: &'a str,
    },
    Docker,
    Podman,
    KubeProxy,
    /// A table of nft's own, no manager's.
    Nftables,
    /// A table of iptables' (either backend), no manager's.
    Iptables,
}

/// Who owns `r`, judged by the names of its chain and table.
fn owner_of(r: &RuleRef) -> Owner<'_> {
    let chain = r.chain.as_str();
    if chain.starts_with("ufw") {
        return Owner::Ufw;
    }
    if r.table == "firewalld" || chain.starts_with("filter_IN_") || chain.starts_with("IN_") || chain.contains("_ZONES")
    {
        let zone = chain
            .strip_prefix("filter_IN_")
            .or_else(|| chain.strip_prefix("IN_"))
            .map(|z| z.trim_end_matches("_allow").trim_end_matches("_deny").trim_end_matches("_log"))
            .filter(|z| !z.is_empty() && !z.contains("ZONES"))
            .unwrap_or("public");
        return Owner::Firewalld { zone };
    }
    if chain.starts_with("f2b-") {
        return Owner::Fail2ban { jail: chain.trim_start_matches("f2b-") };
    }
    if chain.starts_with("DOCKER") {
        return Owner::Docker;
    }
    if chain.starts_with("NETAVARK") || chain.starts_with("CNI-") || r.table == "netavark" {
        return Owner::Podman;
    }
    if chain.starts_with("KUBE-") || chain.starts_with("kube-") || r.table == "kube-proxy" {
        return Owner::KubeProxy;
    }
    match r.backend {
        Backend::Nftables => Owner::Nftables,
        _ => Owner::Iptables,
    }
}

impl Owner<'_> {
    /// The owner as a cause names it (`r`: its rule).
    fn name(&self, r: &RuleRef) -> String {
        match self {
            Owner::Ufw => "ufw".into(),
            Owner::Firewalld { zone } => format!("firewalld (zone {zone})"),
            Owner::Fail2ban { jail } => format!("fail2ban (jail {jail})"),
            Owner::Docker => "Docker".into(),
            Owner::Podman => "Podman (netavark/CNI)".into(),
            Owner::KubeProxy => "kube-proxy".into(),
            Owner::Nftables => format!("nftables (table {})", r.table),
            Owner::Iptables => format!("{} ({} chain {})", r.backend.name(), r.table, r.chain),
        }
    }
}

/// `iptables` or `ip6tables`, for the packet's family.
fn iptables_for(family: Family) -> &'static str {
    if family == Family::V6 { "ip6tables" } else { "iptables" }
}

/// Podman publishes through FORWARD: check the mapping, or filter before its rules.
fn podman_fixes(proto: &str, port: u16, family: Family) -> Vec<Fix> {
    vec![
        Fix::text(format!("check the container's mapping: `podman port <container>` must show {port}/{proto}")),
        Fix::text("to filter a published port, add rules before Podman's in FORWARD: ")
            .then_run(
                ShellCommand::new(iptables_for(family))
                    .lit("-I FORWARD 1 -p")
                    .arg(proto)
                    .lit("-m conntrack --ctorigdstport")
                    .arg(port)
                    .lit("-j ACCEPT"),
            )
            .then_text(" (or DROP)"),
    ]
}

/// An ACCEPT inserted at the rule's own position (a policy's: first), and how to persist it.
fn iptables_fixes(r: &RuleRef, proto: &str, port: u16, family: Family) -> Vec<Fix> {
    let persist = if family == Family::V6 {
        "persist it: `ip6tables-save > /etc/iptables/rules.v6` (Debian iptables-persistent) or `service ip6tables save` (RHEL)"
    } else {
        "persist it: `iptables-save > /etc/iptables/rules.v4` (Debian iptables-persistent) or `service iptables save` (RHEL)"
    };
    let pos = if r.index > 0 { r.index } else { 1 };
    vec![
        Fix::run(
            ShellCommand::new(iptables_for(family))
                .lit("-t")
                .arg(&r.table)
                .lit("-I")
                .arg(&r.chain)
                .arg(pos)
                .lit("-p")
                .arg(proto)
                .lit("--dport")
                .arg(port)
                .lit("-j ACCEPT"),
        ),
        Fix::text(persist),
    ]
}

/// The fix for `r` in its owner's own tool (`table_family`: the nft family of the rule's table,
/// when known).
fn owner_fixes(
    owner: &Owner<'_>,
    r: &RuleRef,
    table_family: Option<FwFamily>,
    proto: &str,
    port: u16,
    family: Family,
) -> Vec<Fix> {
    match owner {
        Owner::Ufw => vec![Fix::run(ShellCommand::new("ufw allow").word(Word::of(port).then("/").val(proto)))],
        Owner::Firewalld { zone } => vec![Fix::run(
            ShellCommand::new("firewall-cmd")
                .kv("--zone=", *zone)
                .word(Word::lit("--add-port=").val(port).then("/").val(proto))
                .lit("--permanent && firewall-cmd --reload"),
        )],
        Owner::Fail2ban { jail } => vec![
            Fix::run(ShellCommand::new("fail2ban-client set").arg(*jail).lit("unbanip <client-address>")),
            Fix::text(
                "if clients are banned wrongly, check the jail's filter and `ignoreip` in /etc/fail2ban/jail.local",
            ),
        ],
        Owner::Docker => vec![Fix::run(
            ShellCommand::new(iptables_for(family))
                .lit("-I DOCKER-USER -p")
                .arg(proto)
                .lit("-m conntrack --ctorigdstport")
                .arg(port)
                .lit("-j RETURN"),
        )],
        Owner::Podman => podman_fixes(proto, port, family),
        Owner::KubeProxy => vec![Fix::text(
            "fix it in Kubernetes (the Service, its endpoints, or a NetworkPolicy): kube-proxy rewrites these chains",
        )],
        Owner::Nftables => vec![
            Fix::run(
                nft_insert_rule(table_family)
                    .nft_name(&r.table)
                    .nft_name(&r.chain)
                    .nft_name(proto)
                    .lit("dport")
                    .arg(port)
                    .lit("accept"),
            ),
            Fix::text("persist it in /etc/nftables.conf"),
        ],
        Owner::Iptables => iptables_fixes(r, proto, port, family),
    }
}

/// Who owns a rule, judged by its own chain and table (`table_family`: the nft family of the
/// rule's table, when known).
pub fn attribute(
    r: &RuleRef,
    table_family: Option<FwFamily>,
    proto: &str,
    port: u16,
    family: Family,
) -> (String, Vec<Fix>) {
    let owner = owner_of(r);
    (owner.name(r), owner_fixes(&owner, r, table_family, proto, port, family))
}
