//! Live AWS collection with the official aws-sdk-rust: the describe calls a question needs,
//! turned into the same AWS CLI JSON documents a snapshot folder holds, so live runs and
//! `--snapshot` share one parser and one engine.
//!
//! Layer: collect (cloud). Kept in its own crate because the SDK takes minutes to build on two
//! cores; nothing else depends on it but the binary. [`Live`] is AWS's side of the provider seam
//! (`portdoctor_collect::cloud::CloudApi`). Invariants: read-only (only Describe*/Get*
//! calls, listed in docs/iam-policy.json); a call that fails — denied by IAM, not implemented,
//! throttled past the SDK's retries — is recorded with its action and reason, never dropped.
//! Credentials come from the SDK's standard chain (env, profiles, SSO, instance role);
//! `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_PROFILE`, `AWS_MAX_ATTEMPTS` are honoured. Every call
//! is bounded in time (`call_timeouts`): a call past it is a `timed-out` unknown, never a hang.

mod convert;
mod lb;
mod platform;

pub use platform::PlatformScope;

use aws_config::BehaviorVersion;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use portdoctor_engine::cloud::CloudTarget;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::IpAddr;

#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// What to collect: only the VPC of one target, or everything in the region (`snapshot aws`).
#[derive(Debug, Clone)]
pub enum Scope {
    Instance(String),
    PublicIp(IpAddr),
    /// One load balancer by name, ARN or DNS name: it, its listeners, rules, target groups and
    /// their health, and the EC2 documents of its VPC and its target groups' (the legs).
    LoadBalancer(String),
    Region,
}

/// Documents in AWS CLI shape, `(file name, JSON text)`, plus what could not be had.
pub use portdoctor_collect::cloud::Fetched as Collected;

/// How one describe call went, as recorded in the `PortdoctorCalls` document.
struct Call {
    key: &'static str,
    action: &'static str,
    outcome: &'static str,
    message: String,
}

pub(crate) struct Session {
    failed_everything: bool,
    succeeded: bool,
    client: Client,
    docs: Vec<(String, String)>,
    calls: Vec<Call>,
}

pub(crate) fn describe_error<E, R>(e: &aws_sdk_ec2::error::SdkError<E, R>) -> (&'static str, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or("");
    let message = e.message().map(str::to_string).unwrap_or_else(|| {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    });
    let outcome = match code {
        _ if matches!(e, aws_sdk_ec2::error::SdkError::TimeoutError(_)) => "timed-out",
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => "permission-denied",
        "AuthFailure" | "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" => "credentials-rejected",
        "RequestLimitExceeded" | "Throttling" | "ThrottlingException" => "throttled",
        "SubscriptionRequiredException" => "subscription-required",
        "" if message.contains("credentials") => "no-credentials",
        _ => "failed",
    };
    let message = if code.is_empty() { message } else { format!("{code}: {message}") };
    (outcome, one_line(&message))
}

/// The SDK's error text on one line, its useful part only: the credential chain's dump (one
/// line per provider tried) becomes the list of their names, the transport's layers of
/// "dispatch failure: other:" go, and the rest is bounded. Exit-2 messages are one line, and
/// checks quote this as evidence.
fn one_line(text: &str) -> String {
    const LIMIT: usize = 300;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines.next().unwrap_or("").to_string();
    for noise in ["dispatch failure: ", "other: ", "the credential provider was not enabled: "] {
        while let Some(rest) = first.strip_prefix(noise) {
            first = rest.to_string();
        }
    }
    let rest: Vec<&str> = lines.collect();
    if let Some(head) = first.strip_suffix("Attempted:") {
        // "Environment: the credential provider was not enabled: …" → "Environment".
        let tried: Vec<&str> = rest.iter().filter_map(|l| l.split_once(':').map(|(name, _)| name.trim())).collect();
        first = format!("{} (tried: {})", head.trim_end().trim_end_matches('.'), tried.join(", "));
    } else if !rest.is_empty() {
        first = format!("{first}; {}", rest.join("; "));
    }
    let mut out: String = first.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if out.chars().count() > LIMIT {
        out = out.chars().take(LIMIT).collect::<String>() + "…";
    }
    out
}

impl Session {
    /// Records what a successful call returned.
    pub(crate) fn put(&mut self, key: &'static str, items: Vec<Value>) {
        self.succeeded = true;
        self.put_empty_or(key, items);
    }

    /// Records a document without a call behind it (an empty list that is known to be empty).
    /// Absent fields are left out, as the AWS CLI prints them, rather than written as null.
    fn put_empty_or(&mut self, key: &'static str, items: Vec<Value>) {
        let items: Vec<Value> = items.into_iter().map(without_nulls).collect();
        self.docs.push((format!("{key}.json"), json!({ key: items }).to_string()));
    }

    pub(crate) fn failed(
        &mut self,
        key: &'static str,
        action: &'static str,
        (outcome, message): (&'static str, String),
    ) {
        self.calls.push(Call { key, action, outcome, message });
    }

    /// A filter on the scope's VPCs; none for a region.
    fn vpc_filter(name: &str, vpcs: &Option<Vec<String>>) -> Option<Filter> {
        vpcs.as_ref().map(|v| Filter::builder().name(name).set_values(Some(v.clone())).build())
    }
}

/// Runs one paginated describe call, converting every item; a failure is recorded, not fatal.
macro_rules! paginated {
    ($s:expr, $key:literal, $action:literal, $builder:expr, $items:ident, $conv:path) => {{
        match $builder.into_paginator().send().collect::<Result<Vec<_>, _>>().await {
            Ok(pages) => {
                let items: Vec<Value> = pages.iter().flat_map(|p| p.$items().iter().map($conv)).collect();
                $s.put($key, items);
            }
            Err(e) => $s.failed($key, $action, describe_error(&e)),
        }
    }};
}

/// How long one attempt of a call may take (`PORTDOCTOR_AWS_TIMEOUT` seconds, default 20), and
/// the whole call with its retries (three times that). The SDK's defaults bound the connect only
/// (3.1 s): an endpoint or proxy that accepts the connection and never answers would hang the run.
fn call_timeouts() -> aws_config::timeout::TimeoutConfig {
    const DEFAULT_SECONDS: u64 = 20;
    let seconds = std::env::var("PORTDOCTOR_AWS_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_SECONDS);
    let attempt = std::time::Duration::from_secs(seconds);
    aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * 3)
        .build()
}

async fn load_config(opts: &AwsOptions) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(call_timeouts());
    if let Some(r) = &opts.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

fn session(config: &aws_config::SdkConfig) -> Session {
    Session {
        failed_everything: false,
        succeeded: false,
        client: Client::new(config),
        docs: Vec::new(),
        calls: Vec::new(),
    }
}

async fn run(opts: AwsOptions, scope: Scope) -> Collected {
    let config = load_config(&opts).await;
    let region = config.region().map(|r| r.to_string());
    let mut s = session(&config);
    let c = s.client.clone();

    // 1. Find the VPC the target lives in, so every later call asks only for that VPC (a load
    // balancer's target groups may add more).
    let mut vpc: Option<String> = None;
    let mut more_vpcs: Vec<String> = Vec::new();
    // Whether that lookup answered; when it did not, "nothing holds the target" is not known.
    let mut looked_up = true;
    match &scope {
        Scope::Instance(id) => {
            paginated!(
                s,
                "Reservations",
                "ec2:DescribeInstances",
                c.describe_instances().instance_ids(id),
                reservations,
                convert::reservation
            );
            looked_up = s.docs.iter().any(|(n, _)| n == "Reservations.json");
            vpc = s.docs.last().and_then(|(_, d)| {
                let v: Value = serde_json::from_str(d).ok()?;
                v["Reservations"][0]["Instances"][0]["VpcId"].as_str().map(str::to_string)
            });
        }
        Scope::PublicIp(ip) => {
            // An Elastic IP names its interface or instance; an auto-assigned address is found
            // through the interface's association.
            let mut eni_id = None;
            let mut instance_id = None;
            if ip.is_ipv4()
                && let Ok(out) = c.describe_addresses().public_ips(ip.to_string()).send().await
                && let Some(a) = out.addresses().first()
            {
                // An unassociated address has none (moto says "" where AWS leaves it out).
                let present = |v: Option<&str>| v.filter(|x| !x.is_empty()).map(str::to_string);
                eni_id = present(a.network_interface_id());
                instance_id = present(a.instance_id());
            }
            let lookup = match (&eni_id, &instance_id) {
                (Some(id), _) => c.describe_network_interfaces().network_interface_ids(id),
                (None, Some(i)) => c
                    .describe_network_interfaces()
                    .filters(Filter::builder().name("attachment.instance-id").values(i).build()),
                (None, None) => {
                    // A private address is asked about too (the engine answers
                    // TARGET_ADDRESS_PRIVATE): find whose it is, for the evidence.
                    let private =
                        matches!(ip, IpAddr::V4(v4) if v4.is_private() || v4.is_loopback() || v4.is_link_local());
                    let filter = match (ip.is_ipv6(), private) {
                        (true, _) => "ipv6-addresses.ipv6-address",
                        (false, true) => "private-ip-address",
                        (false, false) => "association.public-ip",
                    };
                    c.describe_network_interfaces()
                        .filters(Filter::builder().name(filter).values(ip.to_string()).build())
                }
            };
            let holder = match lookup.send().await {
                Ok(out) => out.network_interfaces().first().cloned(),
                Err(e) => {
                    let (outcome, message) = describe_error(&e);
                    // An endpoint that does not implement the filter (moto has no
                    // association.public-ip) or an id that vanished: every interface of the
                    // region, searched here. Denied or no credentials: that is the answer.
                    let everything = match outcome {
                        "failed" => c
                            .describe_network_interfaces()
                            .into_paginator()
                            .send()
                            .collect::<Result<Vec<_>, _>>()
                            .await
                            .ok(),
                        _ => None,
                    };
                    match everything {
                        Some(pages) => {
                            pages.iter().flat_map(|p| p.network_interfaces()).find(|e| holds(e, ip)).cloned()
                        }
                        None => {
                            looked_up = false;
                            s.failed("NetworkInterfaces", "ec2:DescribeNetworkInterfaces", (outcome, message));
                            None
                        }
                    }
                }
            };
            vpc = holder.as_ref().and_then(|e| e.vpc_id()).map(str::to_string);
            // The address is a load balancer's node (a name resolving to it): the balancer's
            // documents and its targets' VPCs come too, so the walk follows it to its targets.
            if let Some(name) = holder.as_ref().and_then(|e| balancer_of_node(e.description()?)) {
                let found = lb::collect(&mut s, &config, lb::Which::One(name)).await;
                more_vpcs = found.vpcs.into_iter().filter(|v| Some(v) != vpc.as_ref()).collect();
            }
        }
        Scope::LoadBalancer(name) => {
            let found = lb::collect(&mut s, &config, lb::Which::One(name)).await;
            looked_up = found.looked_up;
            let mut vpcs = found.vpcs.into_iter();
            vpc = vpcs.next();
            more_vpcs = vpcs.collect();
        }
        Scope::Region => {}
    }
    let scoped = !matches!(scope, Scope::Region);
    if scoped && !looked_up {
        // The lookup itself failed (no credentials, denied, unreachable endpoint): nothing is
        // known about the target, and nothing may be written as if it had been listed empty.
        // The lists the walk would need are recorded as failed for the same reason.
        let why = s.calls.last().map(|c| (c.outcome, c.message.clone()));
        let (outcome, message) = why.unwrap_or(("failed", "the target's lookup failed".into()));
        for (key, action) in [
            ("Reservations", "ec2:DescribeInstances"),
            ("NetworkInterfaces", "ec2:DescribeNetworkInterfaces"),
            ("Addresses", "ec2:DescribeAddresses"),
        ] {
            if !s.calls.iter().any(|c| c.key == key) {
                s.failed(key, action, (outcome, format!("not asked: the target's lookup failed ({message})")));
            }
        }
        return finish(s, region);
    }
    if scoped && vpc.is_none() {
        // The lookup answered and nothing in this region holds the target: say so with empty
        // lists, which the engine turns into PUBLIC_IP_NOT_ASSOCIATED (or an unknown
        // instance), plus the addresses.
        match c.describe_addresses().send().await {
            Ok(out) => s.put("Addresses", out.addresses().iter().map(convert::address).collect()),
            Err(e) => s.failed("Addresses", "ec2:DescribeAddresses", describe_error(&e)),
        }
        if !s.docs.iter().any(|(n, _)| n == "NetworkInterfaces.json") {
            s.put_empty_or("NetworkInterfaces", vec![]);
        }
        for key in ["Vpcs", "SecurityGroups", "NetworkAcls", "RouteTables", "InternetGateways", "Subnets"] {
            s.put_empty_or(key, vec![]);
        }
        return finish(s, region);
    }

    // 2. The target's VPC (or the whole region).
    let vpcs: Option<Vec<String>> = vpc.map(|v| std::iter::once(v).chain(more_vpcs).collect());
    let f = |name: &str| Session::vpc_filter(name, &vpcs);
    if !matches!(scope, Scope::Instance(_)) {
        paginated!(
            s,
            "Reservations",
            "ec2:DescribeInstances",
            c.describe_instances().set_filters(f("vpc-id").map(|x| vec![x])),
            reservations,
            convert::reservation
        );
    }
    paginated!(
        s,
        "NetworkInterfaces",
        "ec2:DescribeNetworkInterfaces",
        c.describe_network_interfaces().set_filters(f("vpc-id").map(|x| vec![x])),
        network_interfaces,
        convert::network_interface
    );
    paginated!(
        s,
        "SecurityGroups",
        "ec2:DescribeSecurityGroups",
        c.describe_security_groups().set_filters(f("vpc-id").map(|x| vec![x])),
        security_groups,
        convert::security_group
    );
    paginated!(
        s,
        "NetworkAcls",
        "ec2:DescribeNetworkAcls",
        c.describe_network_acls().set_filters(f("vpc-id").map(|x| vec![x])),
        network_acls,
        convert::network_acl
    );
    paginated!(
        s,
        "RouteTables",
        "ec2:DescribeRouteTables",
        c.describe_route_tables().set_filters(f("vpc-id").map(|x| vec![x])),
        route_tables,
        convert::route_table
    );
    paginated!(
        s,
        "Subnets",
        "ec2:DescribeSubnets",
        c.describe_subnets().set_filters(f("vpc-id").map(|x| vec![x])),
        subnets,
        convert::subnet
    );
    paginated!(s, "Vpcs", "ec2:DescribeVpcs", c.describe_vpcs().set_vpc_ids(vpcs.clone()), vpcs, convert::vpc);
    paginated!(
        s,
        "InternetGateways",
        "ec2:DescribeInternetGateways",
        c.describe_internet_gateways().set_filters(f("attachment.vpc-id").map(|x| vec![x])),
        internet_gateways,
        convert::internet_gateway
    );
    paginated!(
        s,
        "EgressOnlyInternetGateways",
        "ec2:DescribeEgressOnlyInternetGateways",
        c.describe_egress_only_internet_gateways(),
        egress_only_internet_gateways,
        convert::egress_only_gateway
    );
    match c.describe_addresses().send().await {
        Ok(out) => s.put("Addresses", out.addresses().iter().map(convert::address).collect()),
        Err(e) => s.failed("Addresses", "ec2:DescribeAddresses", describe_error(&e)),
    }

    if matches!(scope, Scope::Region) {
        lb::collect(&mut s, &config, lb::Which::Region).await;
    }

    // 3. Prefix lists referenced by security groups and routes: their entries.
    let mut lists = BTreeSet::new();
    for (_, d) in &s.docs {
        if let Ok(v) = serde_json::from_str::<Value>(d) {
            prefix_list_ids(&v, &mut lists);
        }
    }
    let mut entries = Vec::new();
    for id in lists {
        match c
            .get_managed_prefix_list_entries()
            .prefix_list_id(&id)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
        {
            Ok(pages) => {
                let cidrs: Vec<&str> = pages.iter().flat_map(|p| p.entries().iter().filter_map(|e| e.cidr())).collect();
                entries.push(json!({"PrefixListId": id, "Cidrs": cidrs}));
            }
            Err(e) => s.failed("PrefixLists", "ec2:GetManagedPrefixListEntries", describe_error(&e)),
        }
    }
    if !entries.is_empty() || !s.calls.iter().any(|c| c.key == "PrefixLists") {
        s.put_empty_or("PrefixLists", entries);
    }

    // 4. VPC Block Public Access (account/region setting and exclusions).
    match c.describe_vpc_block_public_access_options().send().await {
        Ok(out) => {
            let mode = out
                .vpc_block_public_access_options()
                .and_then(|o| o.internet_gateway_block_mode())
                .map(|m| m.as_str().to_string());
            s.succeeded = true;
            s.docs.push(("VpcBlockPublicAccessOptions.json".into(), json!({"VpcBlockPublicAccessOptions": {"InternetGatewayBlockMode": mode.unwrap_or_else(|| "off".into())}}).to_string()));
            match c.describe_vpc_block_public_access_exclusions().send().await {
                Ok(x) => s.put(
                    "VpcBlockPublicAccessExclusions",
                    x.vpc_block_public_access_exclusions().iter().map(convert::bpa_exclusion).collect(),
                ),
                Err(e) => s.failed(
                    "VpcBlockPublicAccessExclusions",
                    "ec2:DescribeVpcBlockPublicAccessExclusions",
                    describe_error(&e),
                ),
            }
        }
        Err(e) => {
            s.failed("VpcBlockPublicAccessOptions", "ec2:DescribeVpcBlockPublicAccessOptions", describe_error(&e))
        }
    }
    finish(s, region)
}

/// Whether an interface holds `ip`: as its public (or Elastic) address, a private address, or
/// an IPv6 address.
fn holds(e: &aws_sdk_ec2::types::NetworkInterface, ip: &IpAddr) -> bool {
    let text = ip.to_string();
    let is = |v: Option<&str>| v == Some(text.as_str());
    is(e.association().and_then(|a| a.public_ip()))
        || e.private_ip_addresses()
            .iter()
            .any(|p| is(p.private_ip_address()) || is(p.association().and_then(|a| a.public_ip())))
        || e.ipv6_addresses().iter().any(|a| is(a.ipv6_address()))
}

fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Every prefix-list id a document refers to (security-group rules, route destinations).
fn prefix_list_ids(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("PrefixListId" | "DestinationPrefixListId", Value::String(id)) => {
                        out.insert(id.clone());
                    }
                    _ => prefix_list_ids(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| prefix_list_ids(i, out)),
        _ => {}
    }
}

fn finish(mut s: Session, region: Option<String>) -> Collected {
    s.failed_everything = !s.succeeded;
    if !s.calls.is_empty() {
        let calls: Vec<Value> = s
            .calls
            .iter()
            .map(|c| json!({"Key": c.key, "Action": c.action, "Outcome": c.outcome, "Message": c.message}))
            .collect();
        s.docs.push(("portdoctor-calls.json".into(), json!({"PortdoctorCalls": calls}).to_string()));
    }
    Collected { failed_everything: s.failed_everything, docs: s.docs, region }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the AWS client runtime: {e}"))
}

/// Collects on a private single-threaded runtime, so the binary needs no async of its own.
pub fn collect_blocking(opts: AwsOptions, scope: Scope) -> Result<Collected, String> {
    Ok(runtime()?.block_on(run(opts, scope)))
}

/// The platform layer (abuse notices, findings, changes) for one subject, or for the whole
/// region when the scope names nothing (what `snapshot aws` writes).
pub fn collect_platform_blocking(opts: AwsOptions, scope: PlatformScope) -> Result<Collected, String> {
    runtime()?.block_on(async {
        let config = load_config(&opts).await;
        let region = config.region().map(|r| r.to_string());
        let mut s = session(&config);
        platform::collect(&mut s, &config, &scope).await;
        Ok(finish(s, region))
    })
}

/// The live AWS API as a cloud source.
#[derive(Debug, Clone, Default)]
pub struct Live(pub AwsOptions);

impl portdoctor_collect::cloud::CloudApi for Live {
    fn configured(&self) -> bool {
        let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        env("AWS_ACCESS_KEY_ID")
            || env("AWS_PROFILE")
            || env("AWS_ENDPOINT_URL")
            || env("AWS_WEB_IDENTITY_TOKEN_FILE")
            || std::env::var_os("HOME").is_some_and(|h| {
                let home = std::path::Path::new(&h);
                home.join(".aws/credentials").exists() || home.join(".aws/config").exists()
            })
    }

    fn network(&self, target: Option<&CloudTarget>) -> Result<Collected, String> {
        let scope = match target {
            Some(CloudTarget::Instance(i)) => Scope::Instance(i.clone()),
            Some(CloudTarget::PublicIp(ip)) => Scope::PublicIp(*ip),
            Some(CloudTarget::LoadBalancer(name)) => Scope::LoadBalancer(name.clone()),
            None => Scope::Region,
        };
        collect_blocking(self.0.clone(), scope)
    }

    fn platform(&self, scope: &PlatformScope) -> Result<Collected, String> {
        let mut f = collect_platform_blocking(self.0.clone(), scope.clone())?;
        // Each collection writes its own `portdoctor-calls.json`: named apart, both fit one folder.
        f.docs = f.docs.into_iter().map(|(name, text)| (format!("platform-{name}"), text)).collect();
        Ok(f)
    }
}

/// The balancer whose node an interface is, from the description AWS gives it: "ELB
/// app/NAME/ID" (ALB), "ELB net/NAME/ID" (NLB) or "ELB NAME" (Classic).
fn balancer_of_node(description: &str) -> Option<&str> {
    let rest = description.strip_prefix("ELB ")?;
    match rest.split('/').collect::<Vec<_>>()[..] {
        ["app" | "net", name, _] | [name] if !name.is_empty() => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{balancer_of_node, one_line};

    #[test]
    fn a_balancers_node_is_named_by_its_interface_description() {
        assert_eq!(balancer_of_node("ELB app/shop-web/50dc6c495c0c9188"), Some("shop-web"));
        assert_eq!(balancer_of_node("ELB net/edge/6f57a43b75d8f2c1"), Some("edge"));
        assert_eq!(balancer_of_node("ELB old-classic"), Some("old-classic"));
        assert_eq!(balancer_of_node("ELB gwy/inspect/1a2b"), None, "a gateway balancer is no front door");
        assert_eq!(balancer_of_node("Primary network interface"), None);
        assert_eq!(balancer_of_node("ELB "), None);
    }

    #[test]
    fn credential_chain_dump_folds_to_one_line() {
        let dump = "dispatch failure: other: the credential provider was not enabled: no credentials found in chain. Attempted:\n  Environment: the credential provider was not enabled: environment variable not set\n  Profile: the credential provider was not enabled\n  Ec2InstanceMetadata: IMDS disabled";
        assert_eq!(one_line(dump), "no credentials found in chain (tried: Environment, Profile, Ec2InstanceMetadata)");
    }

    #[test]
    fn any_error_is_one_bounded_line() {
        assert_eq!(one_line("a\nb\r\n\nc"), "a; b; c");
        assert_eq!(one_line("x\u{1b}[2Jy"), "x [2Jy");
        let long = one_line(&"e".repeat(5000));
        assert!(long.chars().count() <= 301 && !long.contains('\n'), "{long}");
        assert_eq!(
            one_line("dispatch failure: io error: tcp connect error: Connection refused (os error 111)"),
            "io error: tcp connect error: Connection refused (os error 111)"
        );
    }
}
