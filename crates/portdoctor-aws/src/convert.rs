//! SDK types → the JSON the AWS CLI prints (only the fields portdoctor reads, under the CLI's
//! names), so live evidence and snapshot files are one format.

use aws_sdk_ec2::types as t;
use serde_json::{Value, json};

fn tags(tags: &[t::Tag]) -> Value {
    tags.iter().map(|x| json!({"Key": x.key(), "Value": x.value().unwrap_or("")})).collect()
}

pub fn reservation(r: &t::Reservation) -> Value {
    let instances: Vec<Value> = r
        .instances()
        .iter()
        .map(|i| {
            json!({
                "InstanceId": i.instance_id(),
                "State": {"Name": i.state().and_then(|s| s.name()).map(|n| n.as_str()).unwrap_or("unknown")},
                "VpcId": i.vpc_id(),
                "SubnetId": i.subnet_id(),
                "PrivateIpAddress": i.private_ip_address(),
                "PublicIpAddress": i.public_ip_address(),
                "Tags": tags(i.tags()),
            })
        })
        .collect();
    json!({"Instances": instances})
}

fn association(a: Option<&t::NetworkInterfaceAssociation>) -> Value {
    match a {
        Some(a) => json!({"PublicIp": a.public_ip(), "IpOwnerId": a.ip_owner_id()}),
        None => Value::Null,
    }
}

pub fn network_interface(e: &t::NetworkInterface) -> Value {
    json!({
        "NetworkInterfaceId": e.network_interface_id(),
        "VpcId": e.vpc_id(),
        "SubnetId": e.subnet_id(),
        "Description": e.description(),
        "Status": e.status().map(|s| s.as_str()).unwrap_or(""),
        "Attachment": e.attachment().map(|a| json!({"InstanceId": a.instance_id(), "DeviceIndex": a.device_index()})),
        "PrivateIpAddress": e.private_ip_address(),
        "Association": association(e.association()),
        "PrivateIpAddresses": e.private_ip_addresses().iter().map(|p| json!({
            "PrivateIpAddress": p.private_ip_address(),
            "Primary": p.primary().unwrap_or(false),
            "Association": association(p.association()),
        })).collect::<Vec<_>>(),
        "Ipv6Addresses": e.ipv6_addresses().iter().filter_map(|a| a.ipv6_address()).map(|a| json!({"Ipv6Address": a})).collect::<Vec<_>>(),
        "Groups": e.groups().iter().map(|g| json!({"GroupId": g.group_id(), "GroupName": g.group_name()})).collect::<Vec<_>>(),
    })
}

pub fn security_group(g: &t::SecurityGroup) -> Value {
    let perms: Vec<Value> = g
        .ip_permissions()
        .iter()
        .map(|p| {
            json!({
                "IpProtocol": p.ip_protocol().unwrap_or("-1"),
                "FromPort": p.from_port(),
                "ToPort": p.to_port(),
                "IpRanges": p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(|c| json!({"CidrIp": c})).collect::<Vec<_>>(),
                "Ipv6Ranges": p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(|c| json!({"CidrIpv6": c})).collect::<Vec<_>>(),
                "PrefixListIds": p.prefix_list_ids().iter().filter_map(|r| r.prefix_list_id()).map(|c| json!({"PrefixListId": c})).collect::<Vec<_>>(),
                "UserIdGroupPairs": p.user_id_group_pairs().iter().map(|r| json!({"GroupId": r.group_id()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"GroupId": g.group_id(), "GroupName": g.group_name().unwrap_or(""), "VpcId": g.vpc_id(), "IpPermissions": perms})
}

pub fn network_acl(a: &t::NetworkAcl) -> Value {
    let entries: Vec<Value> = a
        .entries()
        .iter()
        .map(|e| {
            json!({
                "RuleNumber": e.rule_number(),
                "Egress": e.egress().unwrap_or(false),
                "Protocol": e.protocol().unwrap_or("-1"),
                "RuleAction": e.rule_action().map(|r| r.as_str()).unwrap_or(""),
                "CidrBlock": e.cidr_block(),
                "Ipv6CidrBlock": e.ipv6_cidr_block(),
                "PortRange": e.port_range().map(|p| json!({"From": p.from(), "To": p.to()})),
            })
        })
        .collect();
    json!({
        "NetworkAclId": a.network_acl_id(),
        "VpcId": a.vpc_id(),
        "IsDefault": a.is_default().unwrap_or(false),
        "Associations": a.associations().iter().map(|s| json!({"SubnetId": s.subnet_id()})).collect::<Vec<_>>(),
        "Entries": entries,
    })
}

pub fn route_table(r: &t::RouteTable) -> Value {
    let routes: Vec<Value> = r
        .routes()
        .iter()
        .map(|x| {
            json!({
                "DestinationCidrBlock": x.destination_cidr_block(),
                "DestinationIpv6CidrBlock": x.destination_ipv6_cidr_block(),
                "DestinationPrefixListId": x.destination_prefix_list_id(),
                "GatewayId": x.gateway_id(),
                "EgressOnlyInternetGatewayId": x.egress_only_internet_gateway_id(),
                "NatGatewayId": x.nat_gateway_id(),
                "NetworkInterfaceId": x.network_interface_id(),
                "InstanceId": x.instance_id(),
                "VpcPeeringConnectionId": x.vpc_peering_connection_id(),
                "TransitGatewayId": x.transit_gateway_id(),
                "State": x.state().map(|s| s.as_str()).unwrap_or("active"),
            })
        })
        .collect();
    json!({
        "RouteTableId": r.route_table_id(),
        "VpcId": r.vpc_id(),
        "Associations": r.associations().iter().map(|a| json!({"Main": a.main().unwrap_or(false), "SubnetId": a.subnet_id()})).collect::<Vec<_>>(),
        "Routes": routes,
    })
}

fn attachments(a: &[t::InternetGatewayAttachment]) -> Value {
    a.iter().map(|x| json!({"VpcId": x.vpc_id(), "State": x.state().map(|s| s.as_str()).unwrap_or("")})).collect()
}

pub fn internet_gateway(g: &t::InternetGateway) -> Value {
    json!({"InternetGatewayId": g.internet_gateway_id(), "Attachments": attachments(g.attachments())})
}

pub fn egress_only_gateway(g: &t::EgressOnlyInternetGateway) -> Value {
    json!({"EgressOnlyInternetGatewayId": g.egress_only_internet_gateway_id(), "Attachments": attachments(g.attachments())})
}

pub fn address(a: &t::Address) -> Value {
    json!({
        "PublicIp": a.public_ip(),
        "AllocationId": a.allocation_id(),
        "NetworkInterfaceId": a.network_interface_id(),
        "PrivateIpAddress": a.private_ip_address(),
        "InstanceId": a.instance_id(),
    })
}

pub fn subnet(s: &t::Subnet) -> Value {
    json!({
        "SubnetId": s.subnet_id(),
        "VpcId": s.vpc_id(),
        "CidrBlock": s.cidr_block(),
        "Ipv6CidrBlockAssociationSet": s.ipv6_cidr_block_association_set().iter().map(|a| json!({"Ipv6CidrBlock": a.ipv6_cidr_block()})).collect::<Vec<_>>(),
    })
}

pub fn vpc(v: &t::Vpc) -> Value {
    json!({
        "VpcId": v.vpc_id(),
        "CidrBlock": v.cidr_block(),
        "CidrBlockAssociationSet": v.cidr_block_association_set().iter().map(|a| json!({"CidrBlock": a.cidr_block()})).collect::<Vec<_>>(),
        "Ipv6CidrBlockAssociationSet": v.ipv6_cidr_block_association_set().iter().map(|a| json!({"Ipv6CidrBlock": a.ipv6_cidr_block()})).collect::<Vec<_>>(),
    })
}

pub fn bpa_exclusion(x: &t::VpcBlockPublicAccessExclusion) -> Value {
    json!({
        "ResourceArn": x.resource_arn().unwrap_or(""),
        "InternetGatewayExclusionMode": x.internet_gateway_exclusion_mode().map(|m| m.as_str()).unwrap_or(""),
        "State": x.state().map(|s| s.as_str()).unwrap_or(""),
    })
}

/// A GuardDuty finding, the fields the platform layer reads, under get-findings' names.
pub fn finding(f: &aws_sdk_guardduty::types::Finding) -> Value {
    let details = f.resource().and_then(|r| r.instance_details());
    let enis: Vec<Value> = details
        .map(|d| d.network_interfaces())
        .unwrap_or_default()
        .iter()
        .map(|n| {
            json!({"NetworkInterfaceId": n.network_interface_id(), "PrivateIpAddress": n.private_ip_address(), "PublicIp": n.public_ip()})
        })
        .collect();
    let service = f.service();
    let direction = service
        .and_then(|s| s.action())
        .and_then(|a| a.network_connection_action())
        .and_then(|c| c.connection_direction());
    json!({
        "Id": f.id(),
        "Type": f.r#type(),
        "Severity": f.severity(),
        "Title": f.title(),
        "Region": f.region(),
        "Resource": {"ResourceType": f.resource().and_then(|r| r.resource_type()), "InstanceDetails": {"InstanceId": details.and_then(|d| d.instance_id()), "NetworkInterfaces": enis}},
        "Service": {
            "Action": {"NetworkConnectionAction": {"ConnectionDirection": direction}},
            "Archived": service.and_then(|s| s.archived()),
            "Count": service.and_then(|s| s.count()),
            "DetectorId": service.and_then(|s| s.detector_id()),
            "EventFirstSeen": service.and_then(|s| s.event_first_seen()),
            "EventLastSeen": service.and_then(|s| s.event_last_seen()),
            "ResourceRole": service.and_then(|s| s.resource_role()),
        },
    })
}
