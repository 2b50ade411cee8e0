//! Kernel addresses to function names, from `/proc/kallsyms` (root sees real addresses; others
//! see zeros, and a location then stays an address).

/// Text symbols sorted by address.
pub struct Symbols(Vec<(u64, String)>);

impl Symbols {
    /// Reads kallsyms' `ffffffff81000000 T _stext [module]` lines; others are skipped.
    pub fn parse(text: &str) -> Symbols {
        let mut syms: Vec<(u64, String)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let addr = u64::from_str_radix(f.next()?, 16).ok()?;
                let kind = f.next()?;
                let name = f.next()?;
                (addr != 0 && matches!(kind, "t" | "T" | "w" | "W")).then(|| (addr, name.to_string()))
            })
            .collect();
        syms.sort_unstable();
        Symbols(syms)
    }

    /// The function holding `addr`: the nearest symbol at or below it, without the suffix the
    /// compiler gives a specialised copy (`__netif_receive_skb_core.constprop.0`, `.isra.0`,
    /// `.part.0`, `.cold`): the name a person finds in the kernel source.
    pub fn resolve(&self, addr: u64) -> Option<&str> {
        let i = self.0.partition_point(|(a, _)| *a <= addr);
        let name = i.checked_sub(1).and_then(|i| self.0.get(i)).map(|(_, n)| n.as_str())?;
        name.split('.').next()
    }
}

#[cfg(test)]
mod tests {
    use super::Symbols;

    #[test]
    fn an_address_inside_a_function_names_it() {
        let s = Symbols::parse(
            "ffffffff81a00100 T tcp_v4_rcv\nffffffff81a00900 t tcp_v4_fill_cb\n0000000000000000 A zero\n\
             ffffffff81900000 D some_data\nffffffffc0001000 t nft_do_chain\t[nf_tables]\ngarbage\n\
             ffffffff81b00000 t __netif_receive_skb_core.constprop.0\n",
        );
        assert_eq!(s.resolve(0xffff_ffff_81a0_01f3), Some("tcp_v4_rcv"));
        assert_eq!(s.resolve(0xffff_ffff_81a0_0900), Some("tcp_v4_fill_cb"));
        assert_eq!(s.resolve(0xffff_ffff_c000_1010), Some("nft_do_chain"));
        assert_eq!(s.resolve(0xffff_ffff_81b0_0010), Some("__netif_receive_skb_core"));
        assert_eq!(s.resolve(0x1000), None);
    }
}
