//! The names of an enum in the kernel's BTF (`/sys/kernel/btf/vmlinux`). `enum skb_drop_reason`
//! is not UAPI: its numbers change between kernels (127 reasons on 6.18, 5 on 5.17), so the
//! running kernel's own type information names them. The format is the kernel's
//! Documentation/bpf/btf.rst: a header, then type records, then a string table.

use std::collections::HashMap;

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_ENUM: u32 = 6;
const KIND_ENUM64: u32 = 19;
const KIND_PTR: u32 = 2;
const KIND_TYPEDEF: u32 = 8;
const KIND_FUNC_PROTO: u32 = 13;

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

/// One type record: its kind, vlen, name, the u32 after the info word (a size or a type id)
/// and where its trailer starts in the type section. Type ids count records from 1.
struct Record {
    kind: u32,
    vlen: usize,
    name_off: u32,
    size_or_type: u32,
    body: usize,
}

/// A blob's type records, with the type section they point into and the string table.
struct Parsed<'a> {
    records: Vec<Record>,
    types: &'a [u8],
    strings: &'a [u8],
}

/// The blob's type records and its string table. `Err` says what is wrong with the blob.
fn records(btf: &[u8]) -> Result<Parsed<'_>, String> {
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
    let mut out = Vec::new();
    let mut at = 0;
    while at < types.len() {
        let (Some(name_off), Some(info), Some(size_or_type)) =
            (u32_at(types, at), u32_at(types, at + 4), u32_at(types, at + 8))
        else {
            return Err(format!("type record at byte {at} truncated"));
        };
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let body = at + 12;
        let len = trailer_len(kind, vlen).ok_or_else(|| format!("unknown BTF kind {kind} at byte {at}"))?;
        out.push(Record { kind, vlen, name_off, size_or_type, body });
        at = body + len;
    }
    Ok(Parsed { records: out, types, strings })
}

/// The values of the enum called `name`, each with its name less `strip` (a common prefix).
/// `Err` says what is wrong with the blob; an absent enum is an empty map.
pub fn enum_names(btf: &[u8], name: &str, strip: &str) -> Result<HashMap<u32, String>, String> {
    let Parsed { records, types, strings } = records(btf)?;
    let mut names = HashMap::new();
    for r in records.iter().filter(|r| matches!(r.kind, KIND_ENUM | KIND_ENUM64)) {
        if string_at(strings, r.name_off) != Some(name) {
            continue;
        }
        let step = if r.kind == KIND_ENUM { 8 } else { 12 };
        for i in 0..r.vlen {
            let v = r.body + i * step;
            let (Some(n), Some(val)) = (u32_at(types, v), u32_at(types, v + 4)) else {
                return Err(format!("enum {name} truncated"));
            };
            if let Some(s) = string_at(strings, n) {
                names.insert(val, s.strip_prefix(strip).unwrap_or(s).to_string());
            }
        }
    }
    Ok(names)
}

/// How many parameters the function type behind the typedef `name` (a pointer to a function
/// prototype) takes: the kernel declares each tracepoint's BTF-enabled signature as
/// `typedef void (*btf_trace_NAME)(void *__data, ARGS…)`. `None` when there is no such typedef.
pub fn tracepoint_params(btf: &[u8], name: &str) -> Result<Option<usize>, String> {
    let Parsed { records, strings, .. } = records(btf)?;
    let by_id = |id: u32| records.get(usize::try_from(id).ok()?.checked_sub(1)?);
    let Some(typedef) = records.iter().find(|r| r.kind == KIND_TYPEDEF && string_at(strings, r.name_off) == Some(name))
    else {
        return Ok(None);
    };
    let proto = by_id(typedef.size_or_type)
        .filter(|r| r.kind == KIND_PTR)
        .and_then(|ptr| by_id(ptr.size_or_type))
        .filter(|r| r.kind == KIND_FUNC_PROTO)
        .ok_or_else(|| format!("{name} is not a pointer to a function prototype"))?;
    Ok(Some(proto.vlen))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{enum_names, tracepoint_params};

    /// A blob holding an INT, `enum skb_drop_reason { SKB_DROP_REASON_NOT_SPECIFIED = 2,
    /// SKB_DROP_REASON_NO_SOCKET = 3 }` and a 5.5–5.16 kernel's
    /// `typedef void (*btf_trace_kfree_skb)(void *, struct sk_buff *, void *)`, laid out as the
    /// kernel writes them.
    pub(crate) fn blob() -> Vec<u8> {
        let strings =
            b"\0int\0skb_drop_reason\0SKB_DROP_REASON_NOT_SPECIFIED\0SKB_DROP_REASON_NO_SOCKET\0btf_trace_kfree_skb\0";
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
        // 3: a pointer to 4; 4: a prototype of three parameters (all `int` here); 5: the typedef.
        for w in [0, 2 << 24, 4, 0, (13 << 24) | 3, 0, 0, 1, 0, 1, 0, 1, pos("btf_trace_kfree_skb"), 8 << 24, 3] {
            types.extend_from_slice(&w.to_ne_bytes());
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
            let _ = tracepoint_params(&b[..cut], "btf_trace_kfree_skb");
        }
        assert!(enum_names(b"hello world, not btf at all", "x", "").is_err());
    }

    #[test]
    fn counts_a_tracepoints_parameters_through_its_typedef() {
        assert_eq!(tracepoint_params(&blob(), "btf_trace_kfree_skb"), Ok(Some(3)));
        assert_eq!(tracepoint_params(&blob(), "btf_trace_consume_skb"), Ok(None));
        assert!(tracepoint_params(&blob(), "skb_drop_reason").is_ok_and(|n| n.is_none()), "an enum is no typedef");
    }

    /// This machine's kernel, when it has BTF: the reasons FACTS.md lists are there.
    #[test]
    fn the_running_kernel_names_its_drop_reasons() {
        let Ok(b) = std::fs::read("/sys/kernel/btf/vmlinux") else { return };
        let names = enum_names(&b, "skb_drop_reason", "SKB_DROP_REASON_").expect("the kernel's BTF parses");
        for r in ["NOT_SPECIFIED", "NO_SOCKET", "NETFILTER_DROP", "TC_INGRESS", "IP_RPFILTER"] {
            assert!(names.values().any(|n| n == r), "{r} missing");
        }
        // (void *__data, skb, location, reason[, rx_sk]): this kernel gives reasons.
        let params = tracepoint_params(&b, "btf_trace_kfree_skb").expect("parses");
        assert!(params.is_some_and(|n| n >= 4), "{params:?}");
    }
}
