//! Which targets each of the balancer's nodes sends to, whether it fails open, and whether DNS
//! gives its address out (Elastic Load Balancing guides: "Cross-zone load balancing", "Target
//! group health"; Classic: "HTTP 503: … registered instances in every Availability Zone").
//!
//! - A node sends to the targets of its own zone (and those registered for `all` zones), or with
//!   cross-zone load balancing to every target in an enabled zone.
//! - elbv2: below the routing threshold of healthy targets among those (default: fewer than 1)
//!   the node fails open and sends to all of them, unhealthy ones too; below the DNS threshold
//!   (default: fewer than 1) its address leaves DNS — unless every node is below, then every
//!   address stays (DNS fails open). With cross-zone load balancing every node has the same
//!   targets, so they all fare alike: the zones matter only with it off.
//! - Classic: neither. An instance out of service gets nothing, and a zone without one in
//!   service keeps its node in DNS, which answers 503 (HTTP) or closes the connection.

use super::{Failover, Lb};

/// What the plan needs of one registered target.
pub(super) struct Member<'a> {
    /// Its Availability Zone (`all`: registered for every zone, an address outside the VPC).
    pub zone: Option<&'a str>,
    /// Its zone is one the balancer serves (or not known not to be).
    pub enabled: bool,
    /// Healthy, or health checks off: a node sends to it without failing open.
    pub healthy: bool,
}

/// One enabled zone's node.
pub(super) struct Node<'a> {
    pub zone: Option<&'a str>,
    pub subnet: &'a str,
    /// The targets (indices into the group's) this node sends to.
    pub members: Vec<usize>,
    pub healthy: usize,
    /// Below the routing threshold: it sends to its unhealthy targets too.
    pub fails_open: bool,
    /// Below the DNS threshold: its address leaves DNS (unless every node's does).
    pub below_dns: bool,
    /// Its address is among the balancer's DNS answers.
    pub in_dns: bool,
}

pub(super) struct Plan<'a> {
    pub nodes: Vec<Node<'a>>,
    /// Every node was below the DNS threshold, so every address stays.
    pub dns_fails_open: bool,
}

/// Whether a node in `zone` sends to a target in `target_zone`.
fn sends_to(zone: Option<&str>, target_zone: Option<&str>, cross_zone: bool) -> bool {
    match (zone, target_zone) {
        _ if cross_zone => true,
        // Not known: it may; the stricter reading would invent a zone with no target.
        (None, _) | (_, None) => true,
        (Some(z), Some(t)) => t == "all" || t == z,
    }
}

impl<'a> Plan<'a> {
    /// The plan for a group whose targets are `members`, cross-zone `cross_zone` (as judged:
    /// an unknown setting is judged off by the caller) and health settings `failover`.
    pub fn new(lb: &'a Lb<'a>, members: &[Member<'_>], cross_zone: bool, failover: Option<&Failover>) -> Plan<'a> {
        // A balancer whose zones are not known: one node standing for all of them.
        let zones: Vec<(Option<&'a str>, &'a str)> = if lb.b.zones.is_empty() {
            vec![(None, "")]
        } else {
            lb.b.zones.iter().map(|z| (z.zone, z.subnet)).collect()
        };
        let mut nodes: Vec<Node<'a>> = zones
            .into_iter()
            .map(|(zone, subnet)| {
                let chosen: Vec<usize> = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.enabled && sends_to(zone, m.zone, cross_zone))
                    .map(|(i, _)| i)
                    .collect();
                let healthy = chosen.iter().filter(|&&i| members[i].healthy).count();
                let (fails_open, below_dns) = failover.map_or((false, false), |f| {
                    (f.routing.breached(healthy, chosen.len()), f.dns.breached(healthy, chosen.len()))
                });
                Node { zone, subnet, members: chosen, healthy, fails_open, below_dns, in_dns: true }
            })
            .collect();
        let dns_fails_open = nodes.iter().all(|n| n.below_dns);
        for n in &mut nodes {
            n.in_dns = !n.below_dns || dns_fails_open;
        }
        Plan { nodes, dns_fails_open }
    }

    /// Whether a node clients reach sends to target `i` although it is unhealthy.
    pub fn fails_open_to(&self, i: usize) -> bool {
        self.nodes.iter().any(|n| n.in_dns && n.fails_open && n.members.contains(&i))
    }
}
