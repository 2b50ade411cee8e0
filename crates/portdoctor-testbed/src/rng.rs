//! A tiny seeded generator (xorshift64) for the generated tests and benchmarks: the same seed
//! always gives the same rulesets and accounts, so a failure replays exactly.

pub struct Rng(u64);

impl Rng {
    /// A zero seed would stay zero; it is nudged.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// One of `items` with this chance, else nothing (the same draws as `chance` then `pick`).
    pub fn maybe<'a>(&mut self, percent: u64, items: &[&'a str]) -> &'a str {
        if self.chance(percent) { self.pick(items) } else { "" }
    }
}
