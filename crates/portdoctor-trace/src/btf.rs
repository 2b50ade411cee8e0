//! The names of an enum in the kernel's BTF (`/sys/kernel/btf/vmlinux`). `enum skb_drop_reason`
//! is not UAPI: its numbers change between kernels (127 reasons on 6.18, 5 on 5.17), so the
//! running kernel's own type information names them. The format is the kernel's
//! Documentation/bpf/btf.rst: a header, then type records, then a string table.

use std::collections::HashMap;

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_ENUM: u32 = 6;
const KIND_ENUM64: u32 = 19;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn string_at(strings: &[u8], off: u32) -> Option<&str> {
    let rest = strings.get(usize::try_from(off).ok()?..)?;
    let end = rest.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// Bytes that follow a type record's 12-byte head, by kind (btf.rst §2.2).
fn trailer_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        // INT, VAR and DECL_TAG carry one u32.
        1 | 14 | 17 => 4,
        // ARRAY: elem type, index type, nelems.
        3 => 12,
        // STRUCT, UNION, DATASEC: 12 bytes a member; ENUM64: 12 bytes a value.
        4 | 5 | 15 | 19 => 12 * vlen,
        // ENUM and FUNC_PROTO: 8 bytes a value / parameter.
        6 | 13 => 8 * vlen,
        // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG: nothing.
        2 | 7 | 8 | 9 | 10 | 11 | 12 | 16 | 18 => 0,
        _ => return None,
    })
}

/// The values of the enum called `name`, each with its name less `strip` (a common prefix).
/// `Err` says what is wrong with the blob; an absent enum is an empty map.
pub fn enum_names(btf: &[u8], name: &str, strip: &str) -> Result<HashMap<u32, String>, String> {
    let magic = btf.get(0..2).map(|m| u16::from_ne_bytes([m[0], m[1]]));
    if magic != Some(BTF_MAGIC) {
        return Err("not BTF (no 0xeb9f magic in this byte order)".into());
    }
    let field = |at| u32_at(btf, at).and_then(|v| usize::try_from(v).ok()).ok_or("truncated header");
    let hdr_len = field(4)?;
    let (type_off, type_len, str_off, str_len) = (field(8)?, field(12)?, field(16)?, field(20)?);
    let span = |off: usize, len: usize| off.checked_add(hdr_len)?.checked_add(len).map(|end| end - len..end);
    let types = span(type_off, type_len).and_then(|r| btf.get(r)).ok_or("type section out of bounds")?;
    let strings = span(str_off, str_len).and_then(|r| btf.get(r)).ok_or("string section out of bounds")?;
    let mut names = HashMap::new();
    let mut at = 0;
    while at < types.len() {
        let (Some(name_off), Some(info)) = (u32_at(types, at), u32_at(types, at + 4)) else {
            return Err(format!("type record at byte {at} truncated"));
        };
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let body = at + 12;
        let len = trailer_len(kind, vlen).ok_or_else(|| format!("unknown BTF kind {kind} at byte {at}"))?;
        if (kind == KIND_ENUM || kind == KIND_ENUM64) && string_at(strings, name_off) == Some(name) {
            let step = if kind == KIND_ENUM { 8 } else { 12 };
            for i in 0..vlen {
                let v = body + i * step;
                let (Some(n), Some(val)) = (u32_at(types, v), u32_at(types, v + 4)) else {
                    return Err(format!("enum {name} truncated"));
                };
                if let Some(s) = string_at(strings, n) {
                    names.insert(val, s.strip_prefix(strip).unwrap_or(s).to_string());
                }
            }
        }
        at = body + len;
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::enum_names;

    /// A blob holding an INT and `enum skb_drop_reason { SKB_DROP_REASON_NOT_SPECIFIED = 2,
    /// SKB_DROP_REASON_NO_SOCKET = 3 }`, laid out as the kernel writes it.
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0skb_drop_reason\0SKB_DROP_REASON_NOT_SPECIFIED\0SKB_DROP_REASON_NO_SOCKET\0";
        let pos = |s: &str| {
            let hay = String::from_utf8_lossy(strings);
            u32::try_from(hay.find(&format!("\0{s}\0")).map_or(0, |p| p + 1)).unwrap_or(0)
        };
        let mut types = Vec::new();
        for w in [pos("int"), 1 << 24, 4, 32] {
            types.extend_from_slice(&w.to_ne_bytes());
        }
        for w in [pos("skb_drop_reason"), (6 << 24) | 2, 4] {
            types.extend_from_slice(&w.to_ne_bytes());
        }
        for (n, v) in [(pos("SKB_DROP_REASON_NOT_SPECIFIED"), 2u32), (pos("SKB_DROP_REASON_NO_SOCKET"), 3)] {
            types.extend_from_slice(&n.to_ne_bytes());
            types.extend_from_slice(&v.to_ne_bytes());
        }
        let mut b = Vec::new();
        b.extend_from_slice(&0xeb9fu16.to_ne_bytes());
        b.extend_from_slice(&[1, 0]);
        let tl = u32::try_from(types.len()).unwrap_or(0);
        let sl = u32::try_from(strings.len()).unwrap_or(0);
        for w in [24u32, 0, tl, tl, sl] {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        b.extend_from_slice(&types);
        b.extend_from_slice(strings);
        b
    }

    #[test]
    fn names_an_enums_values_without_the_prefix() {
        let names = enum_names(&blob(), "skb_drop_reason", "SKB_DROP_REASON_").expect("parses");
        assert_eq!(names.get(&2).map(String::as_str), Some("NOT_SPECIFIED"));
        assert_eq!(names.get(&3).map(String::as_str), Some("NO_SOCKET"));
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn a_truncated_or_foreign_blob_is_an_error_not_a_panic() {
        let b = blob();
        for cut in 0..b.len() {
            let _ = enum_names(&b[..cut], "skb_drop_reason", "");
        }
        assert!(enum_names(b"hello world, not btf at all", "x", "").is_err());
    }

    /// This machine's kernel, when it has BTF: the reasons FACTS.md lists are there.
    #[test]
    fn the_running_kernel_names_its_drop_reasons() {
        let Ok(b) = std::fs::read("/sys/kernel/btf/vmlinux") else { return };
        let names = enum_names(&b, "skb_drop_reason", "SKB_DROP_REASON_").expect("the kernel's BTF parses");
        for r in ["NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "TC_INGRESS", "IP_RPFILTER"] {
            assert!(names.values().any(|n| n == r), "{r} missing");
        }
    }
}
