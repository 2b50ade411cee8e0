//! `ipset save` output → named sets. Address sets (hash:ip, hash:net, bitmap:ip) keep their
//! members; other types (hash:ip,port, …) are kept without members, so a rule that uses them is
//! judged unknown rather than guessed.

use crate::ParseError;
use portdoctor_model::firewall::AddrSetDef;
use portdoctor_model::net::Cidr;

pub fn parse_ipset_save(file: &str, text: &str) -> Result<Vec<AddrSetDef>, ParseError> {
    let mut sets: Vec<AddrSetDef> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut w = line.split_whitespace();
        let err = |m: String| ParseError::new(file, format!("line {}", n + 1), m);
        match w.next() {
            None => {}
            Some("create") => {
                let name = w.next().ok_or_else(|| err("create without a name".into()))?;
                let kind = w.next().ok_or_else(|| err(format!("set {name} has no type")))?;
                let addresses = matches!(kind, "hash:ip" | "hash:net" | "bitmap:ip");
                sets.push(AddrSetDef {
                    name: name.into(),
                    table: None,
                    family: None,
                    kind: kind.into(),
                    members: addresses.then(Vec::new),
                });
            }
            Some("add") => {
                let name = w.next().ok_or_else(|| err("add without a set".into()))?;
                let member = w.next().ok_or_else(|| err(format!("add to {name} without a member")))?;
                let set = sets
                    .iter_mut()
                    .find(|s| s.name == name)
                    .ok_or_else(|| err(format!("add to undeclared set {name}")))?;
                if let Some(members) = &mut set.members {
                    // bitmap:ip and hash:ip may hold ranges `a-b`; keep them exact.
                    let cidrs = match member.split_once('-') {
                        Some((a, b)) => crate::iptables::range_to_cidrs(a, b),
                        None => member.parse::<Cidr>().ok().map(|c| vec![c]),
                    };
                    members.extend(cidrs.ok_or_else(|| err(format!("'{member}' is not an address of set {name}")))?);
                }
            }
            Some(other) => return Err(err(format!("unexpected '{other}'"))),
        }
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_address_sets_and_keeps_others_opaque() {
        let text = "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\nadd f2b-sshd 203.0.113.5 timeout 512\ncreate office hash:net family inet\nadd office 198.51.100.0/24\ncreate svc hash:ip,port family inet\nadd svc 10.0.0.1,tcp:80\n";
        let sets = parse_ipset_save("ipset.txt", text).unwrap();
        assert_eq!(sets[0].members.as_ref().unwrap()[0].to_string(), "203.0.113.5/32");
        assert_eq!(sets[1].members.as_ref().unwrap()[0].to_string(), "198.51.100.0/24");
        assert_eq!(sets[2].members, None);
        assert_eq!(
            parse_ipset_save("ipset.txt", "add x 1.2.3.4\n").unwrap_err().to_string(),
            "ipset.txt: line 1: add to undeclared set x"
        );
    }
}
