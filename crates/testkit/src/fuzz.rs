//! Deterministic random inputs for the parsers that take untrusted bytes
//! (money, GSTIN, gateway webhooks, uploaded documents): a seeded RNG, so a
//! failure repeats, and generators of junk and of near-misses of valid
//! inputs (a proptest-style check without a property-testing dependency).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How many random cases each parser test tries: enough to hit the edge
/// cases of short formats, fast enough for every test run.
pub const CASES: usize = 3000;

/// The seeded generator of one test; print `seed` in assertion messages.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Up to `max_len` arbitrary bytes (often invalid UTF-8).
pub fn random_bytes(rng: &mut StdRng, max_len: usize) -> Vec<u8> {
    let len = rng.gen_range(0..=max_len);
    (0..len).map(|_| rng.gen()).collect()
}

/// Up to `max_len` characters drawn from `alphabet`, which should hold the
/// format's own characters plus a few that break it.
pub fn random_text(rng: &mut StdRng, alphabet: &str, max_len: usize) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let len = rng.gen_range(0..=max_len);
    (0..len)
        .map(|_| chars[rng.gen_range(0..chars.len())])
        .collect()
}

/// `valid` with one to four random edits (flip, insert, delete, truncate,
/// duplicate a slice): near-misses that reach deep into a parser.
pub fn mutate(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    let mut out = valid.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if out.is_empty() {
            0
        } else {
            rng.gen_range(0..out.len())
        };
        match rng.gen_range(0..5) {
            0 if !out.is_empty() => out[at] = rng.gen(),
            1 => out.insert(at, rng.gen()),
            2 if !out.is_empty() => {
                out.remove(at);
            }
            3 => out.truncate(at),
            _ => {
                let end = rng.gen_range(at..=out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
        }
    }
    out
}
