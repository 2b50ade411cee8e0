//! The interface the flow arrives on and the instance behind it: only a running instance
//! answers (EC2 User Guide, "Instance state").

use super::Resolved;
use super::edge::confirmed;
use super::index::AwsIndex;
use crate::cloud::path::{Explained, Finding, Flow, check, unknown_check};
use portdoctor_model::cloud::{InstanceState, NetworkInterface};
use portdoctor_model::cloud_path::{CloudCheck, CloudHop, Component};
use portdoctor_model::fix::{Fix, ShellCommand};
use portdoctor_model::{CauseCode, CheckStatus, Missing};
use std::net::IpAddr;

pub struct InstanceFinding<'a> {
    eni: &'a NetworkInterface,
    private: IpAddr,
    state: State<'a>,
}

pub enum State<'a> {
    /// The interface is attached to no instance.
    Detached,
    /// The instances could not be listed.
    Unknown {
        instance: &'a str,
        missing: Option<&'a Missing>,
    },
    NotListed(&'a str),
    Running(&'a str),
    NotRunning {
        instance: &'a str,
        state: &'a InstanceState,
    },
}

pub fn instance<'a>(idx: &AwsIndex<'a>, _flow: &Flow<'_>, r: &Resolved<'a>) -> InstanceFinding<'a> {
    let state = match r.eni.instance_id.as_deref() {
        None => State::Detached,
        Some(iid) => match idx.instance_by_id.get(iid) {
            None if idx.ev.instances.known().is_none() => {
                State::Unknown { instance: iid, missing: idx.ev.instances.missing() }
            }
            None => State::NotListed(iid),
            Some(inst) if inst.state == InstanceState::Running => State::Running(iid),
            Some(inst) => State::NotRunning { instance: iid, state: &inst.state },
        },
    };
    InstanceFinding { eni: r.eni, private: r.private, state }
}

// ---- explanation ----

impl Finding for InstanceFinding<'_> {
    fn explain(&self, _flow: &Flow<'_>) -> Explained {
        let id = CloudCheck::Instance;
        let (eni, private) = (self.eni, self.private);
        let device = eni.device_index.map(|d| format!(" (device {d})")).unwrap_or_default();
        let ex = Explained::default().hop(
            CloudHop::NetworkInterface,
            Component::one(&eni.id),
            CheckStatus::Pass,
            format!("{} holds {private}{device}", eni.id),
        );
        let hop = |ex: Explained, iid: &str, status, detail: String| {
            ex.hop(CloudHop::Instance, Component::one(iid), status, detail)
        };
        match &self.state {
            State::Detached => {
                let msg = format!("{} is attached to no instance: nothing answers at {private}", eni.id);
                ex.check(check(id, CheckStatus::Fail, msg.clone()))
                    .hop(CloudHop::Instance, Component::None, CheckStatus::Fail, msg.clone())
                    .cause(confirmed(
                        CauseCode::InstanceNotRunning,
                        &eni.id,
                        msg,
                        vec![format!("{} Attachment is empty (NetworkInterfaces)", eni.id)],
                        attach_fix(&eni.id),
                    ))
            }
            State::Unknown { instance, missing } => hop(
                ex.check(unknown_check(id, "the instance's state", *missing)),
                instance,
                CheckStatus::Unknown,
                "state unknown".into(),
            ),
            State::NotListed(iid) => hop(
                ex.check(check(id, CheckStatus::Unknown, format!("{iid} is not in Reservations"))),
                iid,
                CheckStatus::Unknown,
                "not in Reservations".into(),
            ),
            State::Running(iid) => hop(
                ex.check(check(id, CheckStatus::Pass, format!("{iid} is running"))),
                iid,
                CheckStatus::Pass,
                "running".into(),
            ),
            State::NotRunning { instance, state } => {
                let msg = format!("{instance} is {state}: it cannot answer");
                let ex =
                    hop(ex.check(check(id, CheckStatus::Fail, msg.clone())), instance, CheckStatus::Fail, msg.clone());
                ex.cause(confirmed(
                    CauseCode::InstanceNotRunning,
                    instance,
                    msg,
                    vec![format!("{instance} State.Name = {state} (Reservations)")],
                    start_fix(instance),
                ))
            }
        }
    }
}

// ---- remedies (aws CLI) ----

fn attach_fix(eni: &str) -> Vec<Fix> {
    vec![Fix::run(
        ShellCommand::new("aws ec2 attach-network-interface --network-interface-id")
            .arg(eni)
            .lit("--instance-id <i-…> --device-index 1"),
    )]
}

fn start_fix(instance: &str) -> Vec<Fix> {
    vec![Fix::run(ShellCommand::new("aws ec2 start-instances --instance-ids").arg(instance))]
}
