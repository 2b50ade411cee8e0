//! The cloud layer of a case, from a snapshot folder or a provider's live API, walked once.
//!
//! Live, the plan is: the network documents of the target's VPC → the engine's network walk →
//! the platform documents for exactly the resources that walk passed (CloudTrail answers two
//! lookups a second, so it is asked about nothing else) → the walk judged with them. The SDK
//! stays in portdoctor-aws, which implements [`CloudApi`]; this crate builds without it.

use crate::SourceError;
use portdoctor_engine::cloud::{AwsIndex, CloudQuery, CloudTarget, CloudWalk, walk_cloud};
use portdoctor_engine::platform::{Since, Subject};
use portdoctor_model::Diagnosis;
use portdoctor_model::cloud::AwsEvidence;
use portdoctor_model::platform::PlatformEvidence;
use portdoctor_model::time::Timestamp;
use portdoctor_parse::aws::{Docs, parse_aws};
use std::path::Path;

/// What the platform layer asks about, live.
#[derive(Debug, Clone, Default)]
pub struct PlatformScope {
    /// The instance findings are fetched for; `None` = every finding (a region snapshot).
    pub instance: Option<String>,
    /// Resource ids whose CloudTrail history is looked up; empty = every EC2 change (a snapshot).
    pub resources: Vec<String>,
    /// The change window, in seconds since the epoch.
    pub since: i64,
    pub until: i64,
}

/// Documents from a provider's API, in the shape a snapshot folder holds.
#[derive(Debug, Default)]
pub struct Fetched {
    pub docs: Docs,
    /// Where they came from, for the report's notes.
    pub region: Option<String>,
    /// No call succeeded (no credentials, no network, wrong endpoint).
    pub failed_everything: bool,
}

impl Fetched {
    /// Why nothing could be had, when no call succeeded: the first failed call's message, from
    /// the `portdoctor-calls.json` record every collection writes.
    pub fn failure(&self) -> Option<String> {
        if !self.failed_everything {
            return None;
        }
        let calls = self.docs.iter().find(|(n, _)| n == "portdoctor-calls.json").map(|(_, d)| d.as_str());
        let first = calls
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|v| v["PortdoctorCalls"][0]["Message"].as_str().map(str::to_string));
        Some(first.unwrap_or_else(|| "every call failed".into()))
    }
}

/// A cloud provider's live, read-only API. An `Err` is the provider unreachable as a whole; a
/// single call that fails is recorded in the documents, where the parser makes it `unknown`.
pub trait CloudApi: Sync {
    /// Whether access looks configured, so a lookup without an instance id is worth trying.
    fn configured(&self) -> bool;
    /// The network documents around `target` (its VPC), or of the whole region for `None`.
    fn network(&self, target: Option<&CloudTarget>) -> Result<Fetched, String>;
    /// The platform documents (notices, findings, changes) for `scope`, named apart from the
    /// network ones so both fit one snapshot folder.
    fn platform(&self, scope: &PlatformScope) -> Result<Fetched, String>;
}

/// The cloud layer of a case: the network walk, and the platform evidence it is judged with.
#[derive(Debug)]
pub struct CloudLayer {
    walk: CloudWalk,
    platform: PlatformEvidence,
    /// About the source (where it came from, files not read), before the diagnosis' own.
    notes: Vec<String>,
}

impl CloudLayer {
    /// The engine's verdict on this layer.
    pub fn judge(self) -> Diagnosis {
        let mut d = self.walk.judge(&self.platform);
        let mut notes = self.notes;
        notes.append(&mut d.notes);
        d.notes = notes;
        d
    }
}

/// The network walk of `ev` for `q`.
fn walked(ev: &AwsEvidence, q: &CloudQuery) -> CloudWalk {
    walk_cloud(&AwsIndex::new(ev), q)
}

/// The cloud layer from an AWS snapshot folder (`snapshot aws`, or Batfish's layout).
pub fn from_snapshot(dir: &Path, q: &CloudQuery) -> Result<CloudLayer, SourceError> {
    let (docs, notes) = crate::aws_snapshot::read_aws(dir)?;
    let ev = parse_aws(&docs).map_err(|e| SourceError::Input(format!("{}/{e}", dir.display())))?;
    let walk = walked(&ev, q);
    Ok(CloudLayer { walk, platform: ev.platform, notes })
}

/// The cloud layer from the live API, `now` being the clock (see the module's plan).
pub fn live(api: &dyn CloudApi, q: &CloudQuery, now: Timestamp) -> Result<CloudLayer, SourceError> {
    let network = api.network(Some(&q.target)).map_err(SourceError::Unreachable)?;
    let note = format!("live AWS API, region {}", network.region.as_deref().unwrap_or("(none configured)"));
    let region = network.region.clone();
    let network = parse_live(&network.docs)?;
    if let CloudTarget::LoadBalancer(asked) = &q.target {
        no_such_balancer(&network, asked, region.as_deref())?;
    }
    let mut walk = walked(&network, q);
    let scope = platform_scope(walk.subject(), q, now);
    // A scope naming nothing would be a region snapshot's (every finding, every change): a walk
    // that reached no resource has nothing to ask the platform about.
    let docs = if scope.instance.is_none() && scope.resources.is_empty() {
        walk.notes.push("the platform layer was not asked: the walk reached no resource to ask about".into());
        Docs::new()
    } else {
        api.platform(&scope).map_err(SourceError::Unreachable)?.docs
    };
    // Only the platform documents are parsed here; the network ones (megabytes in a big
    // account) were read once.
    let platform = parse_live(&docs)?;
    walk.notes.extend(platform.notes);
    Ok(CloudLayer { walk, platform: platform.platform, notes: vec![note] })
}

/// `--load-balancer NAME` live where both listings answered and neither has it: the user's
/// input to fix (exit 2), not a diagnosis of nothing.
fn no_such_balancer(ev: &AwsEvidence, asked: &str, region: Option<&str>) -> Result<(), SourceError> {
    let elb = &ev.elb;
    let listed = elb.load_balancers.known().is_some() && elb.classic.known().is_some();
    if !listed || AwsIndex::new(ev).find_load_balancer(asked).is_some() {
        return Ok(());
    }
    Err(SourceError::Input(format!(
        "--load-balancer {}: no load balancer has that name, ARN or DNS name in region {} (list them: aws elbv2 describe-load-balancers --query 'LoadBalancers[].LoadBalancerName'; aws elb describe-load-balancers --query 'LoadBalancerDescriptions[].LoadBalancerName')",
        portdoctor_model::fix::escape_unsafe(asked),
        region.unwrap_or("(none configured)")
    )))
}

/// Writes a region's snapshot to `out` (what `cloud --snapshot` reads): every network document,
/// the platform layer of the last 14 days, and `portdoctor-snapshot.json` stamping when it was
/// taken. Returns how many documents were written, and the region.
pub fn write_snapshot(api: &dyn CloudApi, out: &Path, now: Timestamp) -> Result<(usize, Option<String>), SourceError> {
    let network = api.network(None).map_err(SourceError::Unreachable)?;
    if let Some(why) = network.failure() {
        return Err(SourceError::Unreachable(format!("no AWS evidence could be collected: {why}")));
    }
    let mut docs = network.docs;
    let scope = PlatformScope { since: now.0 - 14 * 86_400, until: now.0, ..Default::default() };
    docs.extend(api.platform(&scope).map_err(SourceError::Unreachable)?.docs);
    let stamp = serde_json::json!({"PortdoctorSnapshot": {"TakenAt": now.to_string(), "Region": network.region}});
    docs.push(("portdoctor-snapshot.json".into(), stamp.to_string()));
    // Refuse to write what portdoctor itself could not read back.
    parse_live(&docs)?;
    crate::safe_fs::write_files(out, docs.iter().map(|(n, t)| (n.as_str(), t.as_bytes())))?;
    Ok((docs.len(), network.region))
}

/// What CloudTrail and the findings are asked about: the instance, its interfaces and the
/// resources on the path — but not the VPC and subnet: CloudTrail answers two lookups a second,
/// and their changes that matter here (a gateway detached, a route table associated) also name
/// the gateway or the table.
fn platform_scope(subject: &Subject, q: &CloudQuery, now: Timestamp) -> PlatformScope {
    let since = match q.changes.since {
        Since::Ago(secs) => now.0 - secs,
        Since::At(t) => t.0,
    };
    let mut resources: Vec<String> = subject.instance.iter().cloned().collect();
    resources.extend(
        subject
            .interfaces
            .iter()
            .chain(&subject.resources)
            .filter(|r| !r.starts_with("vpc-") && !r.starts_with("subnet-"))
            .cloned(),
    );
    PlatformScope { instance: subject.instance.clone(), resources, since, until: now.0 }
}

/// Documents from the live API that do not parse: a runtime failure (the API answered something
/// unexpected), not the user's input.
pub fn parse_live(docs: &Docs) -> Result<AwsEvidence, SourceError> {
    parse_aws(docs).map_err(|e| SourceError::Unreachable(format!("live AWS API: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portdoctor_engine::platform::ChangeWindow;
    use portdoctor_model::cloud::PortRange;
    use portdoctor_model::net::{Proto, Source};

    fn query(since: Since) -> CloudQuery {
        CloudQuery {
            port: 8080,
            proto: Proto::Tcp,
            from: Source::Internet,
            target: CloudTarget::Instance("i-1".into()),
            client_ports: PortRange { from: 1024, to: 65535 },
            changes: ChangeWindow { now: None, since },
            family: None,
            name: None,
        }
    }

    /// The seed incident's snapshot served as a live API: the network documents, then the
    /// platform ones, recording what was asked.
    struct Recorded {
        network: Docs,
        platform: Docs,
        network_calls: std::sync::Mutex<usize>,
        asked: std::sync::Mutex<Vec<PlatformScope>>,
    }

    impl CloudApi for Recorded {
        fn configured(&self) -> bool {
            true
        }
        fn network(&self, _: Option<&CloudTarget>) -> Result<Fetched, String> {
            *self.network_calls.lock().map_err(|e| e.to_string())? += 1;
            Ok(Fetched { docs: self.network.clone(), region: Some("us-east-1".into()), failed_everything: false })
        }
        fn platform(&self, scope: &PlatformScope) -> Result<Fetched, String> {
            self.asked.lock().map_err(|e| e.to_string())?.push(scope.clone());
            Ok(Fetched { docs: self.platform.clone(), region: None, failed_everything: false })
        }
    }

    fn seed_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed-incident/aws")
    }

    /// The seed incident's snapshot, split into what the network and platform calls return.
    fn seed_api() -> Recorded {
        let (docs, _) = crate::aws_snapshot::read_aws(&seed_dir()).unwrap();
        let (network, platform): (Docs, Docs) =
            docs.into_iter().filter(|(n, _)| n != "portdoctor-snapshot.json").partition(|(n, _)| n.starts_with("ec2-"));
        Recorded { network, platform, network_calls: Default::default(), asked: Default::default() }
    }

    #[test]
    fn a_written_snapshot_reads_back_to_the_same_verdict() {
        let api = seed_api();
        let out = std::env::temp_dir().join(format!("pd-cloud-snapshot-{}", std::process::id()));
        let taken = Timestamp::parse("2026-11-20T09:30:00Z").unwrap();
        let (written, region) = write_snapshot(&api, &out, taken).unwrap();
        assert_eq!(written, api.network.len() + api.platform.len() + 1);
        assert_eq!(region.as_deref(), Some("us-east-1"));
        // A region snapshot asks for every resource's changes over the last 14 days.
        let asked = api.asked.lock().unwrap().clone();
        assert!(asked[0].resources.is_empty() && asked[0].instance.is_none());
        assert_eq!(asked[0].since, taken.0 - 14 * 86_400);
        let mut q = query(Since::Ago(14 * 86_400));
        q.target = CloudTarget::Instance("i-0a1b2c3d4e5f60718".into());
        let codes = |d: &Diagnosis| d.causes.iter().map(|c| c.code).collect::<Vec<_>>();
        let again = from_snapshot(&out, &q).unwrap().judge();
        let seed = from_snapshot(&seed_dir(), &q).unwrap().judge();
        assert!(!codes(&seed).is_empty());
        assert_eq!(codes(&again), codes(&seed));
        let _ = std::fs::remove_dir_all(&out);
        // No call succeeded: the first failure is the error, and nothing is written.
        let calls = r#"{"PortdoctorCalls":[{"Message":"no credentials found in chain"}]}"#;
        let failing =
            FailedEverything(Recorded { network: vec![("portdoctor-calls.json".into(), calls.into())], ..seed_api() });
        let err = write_snapshot(&failing, &out, taken).unwrap_err().to_string();
        assert_eq!(err, "no AWS evidence could be collected: no credentials found in chain");
        assert!(!out.exists());
    }

    /// A provider whose every network call failed.
    struct FailedEverything(Recorded);

    impl CloudApi for FailedEverything {
        fn configured(&self) -> bool {
            true
        }
        fn network(&self, t: Option<&CloudTarget>) -> Result<Fetched, String> {
            Ok(Fetched { failed_everything: true, ..self.0.network(t)? })
        }
        fn platform(&self, scope: &PlatformScope) -> Result<Fetched, String> {
            self.0.platform(scope)
        }
    }

    #[test]
    fn live_walks_once_and_asks_the_platform_about_the_path_it_walked() {
        let dir = seed_dir();
        let api = seed_api();
        // As of when the snapshot was taken, so live and snapshot judge the same window.
        let taken = Timestamp::parse("2026-11-20T09:30:00Z").unwrap();
        let mut q = query(Since::Ago(14 * 86_400));
        q.target = CloudTarget::Instance("i-0a1b2c3d4e5f60718".into());
        q.changes.now = Some(taken);
        let live = live(&api, &q, taken).unwrap().judge();
        assert_eq!(*api.network_calls.lock().unwrap(), 1);
        let asked = api.asked.lock().unwrap();
        assert_eq!(asked.len(), 1);
        let r = &asked[0].resources;
        for id in ["i-0a1b2c3d4e5f60718", "eni-0f1e2d3c4b5a69788", "igw-0c1d2e3f4a5b6c7d8", "sg-0d1e2f3a4b5c6d7e8"] {
            assert!(r.iter().any(|x| x == id), "{id} not asked about: {r:?}");
        }
        assert!(!r.iter().any(|x| x.starts_with("vpc-") || x.starts_with("subnet-")), "{r:?}");
        assert_eq!(asked[0].since, taken.0 - 14 * 86_400);
        // The same verdict as the snapshot it was served from.
        q.changes.now = None;
        let saved = from_snapshot(&dir, &q).unwrap().judge();
        let codes = |d: &Diagnosis| d.causes.iter().map(|c| c.code).collect::<Vec<_>>();
        assert_eq!(live.status, saved.status);
        assert_eq!(codes(&live), codes(&saved));
        assert!(!codes(&live).is_empty(), "the seed incident is blocked");
        assert_eq!(live.notes.first().map(String::as_str), Some("live AWS API, region us-east-1"));
    }

    /// One Classic balancer `old` and an empty v2 listing, as a one-balancer lookup returns them.
    fn balancer_api(found: bool) -> Recorded {
        let classic = if found {
            r#"{"LoadBalancerDescriptions":[{"LoadBalancerName":"old","DNSName":"old-1.elb.amazonaws.com","ListenerDescriptions":[],"Subnets":[],"Instances":[],"SecurityGroups":[]}]}"#
        } else {
            r#"{"LoadBalancerDescriptions":[]}"#
        };
        let network = vec![
            ("LoadBalancers.json".to_string(), r#"{"LoadBalancers":[]}"#.to_string()),
            ("LoadBalancerDescriptions.json".to_string(), classic.to_string()),
        ];
        Recorded { network, platform: Vec::new(), network_calls: Default::default(), asked: Default::default() }
    }

    #[test]
    fn a_balancer_that_does_not_exist_is_an_input_error_and_the_platform_is_not_asked() {
        let mut q = query(Since::Ago(3600));
        q.target = CloudTarget::LoadBalancer("no-such-lb".into());
        let api = balancer_api(false);
        let err = live(&api, &q, Timestamp(10_000)).unwrap_err();
        assert!(matches!(err, SourceError::Input(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("--load-balancer no-such-lb: no load balancer has that name"), "{text}");
        assert!(text.contains("region us-east-1"), "{text}");
        assert!(api.asked.lock().unwrap().is_empty(), "the platform was asked");
        // Found: walked, and the platform asked about what the walk passed.
        q.target = CloudTarget::LoadBalancer("old".into());
        let api = balancer_api(true);
        live(&api, &q, Timestamp(10_000)).unwrap();
        assert!(api.asked.lock().unwrap().iter().all(|s| !s.resources.is_empty()));
        // An address nothing here holds: the walk reaches no resource, and the platform is not
        // asked with an empty scope (which would mean the whole region).
        q.target = CloudTarget::PublicIp("203.0.113.9".parse().unwrap());
        let empty = |k: &str| (format!("{k}.json"), format!("{{\"{k}\":[]}}"));
        let network = ["NetworkInterfaces", "Addresses", "Reservations", "Vpcs", "Subnets"].map(empty).to_vec();
        let api = Recorded { network, ..balancer_api(false) };
        let d = live(&api, &q, Timestamp(10_000)).unwrap().judge();
        assert!(api.asked.lock().unwrap().is_empty(), "asked: {:?}", api.asked.lock().unwrap());
        assert!(d.notes.iter().any(|n| n.contains("the platform layer was not asked")), "{:?}", d.notes);
    }

    #[test]
    fn cloudtrail_is_asked_about_the_path_but_not_the_vpc_or_subnet() {
        let subject = Subject {
            instance: Some("i-1".into()),
            interfaces: vec!["eni-1".into()],
            addresses: vec!["203.0.113.10".into()],
            resources: vec!["igw-1".into(), "vpc-1".into(), "subnet-1".into(), "sg-1".into()],
        };
        let s = platform_scope(&subject, &query(Since::Ago(3600)), Timestamp(10_000));
        assert_eq!(s.resources, ["i-1", "eni-1", "igw-1", "sg-1"]);
        assert_eq!(s.instance.as_deref(), Some("i-1"));
        assert_eq!((s.since, s.until), (10_000 - 3600, 10_000));
        let s = platform_scope(&subject, &query(Since::At(Timestamp(5))), Timestamp(10_000));
        assert_eq!(s.since, 5);
    }
}
