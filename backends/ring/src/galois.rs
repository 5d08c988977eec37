//! Galois automorphisms `X -> X^g` (`g` odd) of `Z_p[X]/(X^N + 1)`: Galois elements of slot
//! rotations and conjugation, the slot permutation that applies an automorphism in NTT form, and
//! the coefficient-form reference.

use crate::error::{RingError, RingResult};
use crate::modular::Modulus;
use crate::ntt::NttTable;

/// The Galois element `5^(step mod N/2) mod 2N` of a left rotation of the `N/2` CKKS slots by
/// `step` (negative steps rotate right). `n` must be a power of two `>= 2` (for other values the
/// result is meaningless; `n < 2` gives 1).
pub fn galois_element_for_rotation(step: i64, n: usize) -> usize {
    if n < 2 {
        return 1;
    }
    let slots = (n / 2) as i64;
    let e = step.rem_euclid(slots) as u64;
    let two_n = 2 * n as u64;
    let mut acc = 1u64;
    let mut base = 5 % two_n;
    let mut k = e;
    while k > 0 {
        if k & 1 == 1 {
            acc = acc * base % two_n;
        }
        base = base * base % two_n;
        k >>= 1;
    }
    acc as usize
}

/// The Galois element `2N - 1` of complex conjugation of the slots.
pub fn galois_element_conjugate(n: usize) -> usize {
    (2 * n).saturating_sub(1)
}

/// The permutation applying `X -> X^g` to an NTT-form limb: `out[j] = in[perm[j]]`. It is the
/// same for every prime of a context (all tables share one slot-exponent order).
///
/// Errors: [`RingError::InvalidArgument`] unless `galois_element` is odd and below `2N`.
pub fn automorphism_permutation(table: &NttTable, galois_element: usize) -> RingResult<Vec<usize>> {
    let n = table.degree();
    let two_n = 2 * n;
    if galois_element.is_multiple_of(2) || galois_element >= two_n {
        return Err(RingError::InvalidArgument {
            reason: "a Galois element must be odd and below 2N",
        });
    }
    // Slot j holds a(psi^e_j); (a o X^g)(psi^e_j) = a(psi^(g e_j)) is slot k with e_k = g e_j.
    let mut slot_of_exponent = vec![0usize; two_n];
    for j in 0..n {
        slot_of_exponent[table.slot_exponent(j)] = j;
    }
    Ok((0..n)
        .map(|j| slot_of_exponent[(galois_element * table.slot_exponent(j)) % two_n])
        .collect())
}

/// Coefficient-form automorphism (reference): `X^i -> ±X^(i*g mod N)`, written into `out`.
/// Requires `input.len() == out.len() = N` a power of two and `galois_element` odd; otherwise
/// `out` is left unchanged.
pub fn automorphism_coeff(
    modulus: &Modulus,
    input: &[u64],
    galois_element: usize,
    out: &mut [u64],
) {
    let n = input.len();
    if out.len() != n || !n.is_power_of_two() || galois_element.is_multiple_of(2) {
        return;
    }
    let mask = 2 * n - 1;
    let g = galois_element & mask;
    for (i, &c) in input.iter().enumerate() {
        let k = (i * g) & mask;
        if k < n {
            out[k] = c;
        } else {
            out[k - n] = modulus.neg(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;

    #[test]
    fn elements() {
        assert_eq!(galois_element_for_rotation(0, 16), 1);
        assert_eq!(galois_element_for_rotation(1, 16), 5);
        assert_eq!(galois_element_for_rotation(2, 16), 25);
        // 5 has order N/2 modulo 2N: a right rotation by one is 5^(N/2 - 1).
        let r = galois_element_for_rotation(-1, 16);
        assert_eq!((r * 5) % 32, 1);
        assert_eq!(galois_element_for_rotation(8, 16), 1);
        assert_eq!(galois_element_conjugate(16), 31);
    }

    #[test]
    fn bad_elements_are_refused() {
        let p = ntt_primes(30, 32, 1, &[]).unwrap()[0];
        let t = NttTable::new(Modulus::new(p).unwrap(), 16).unwrap();
        assert!(automorphism_permutation(&t, 4).is_err());
        assert!(automorphism_permutation(&t, 33).is_err());
        assert!(automorphism_permutation(&t, 31).is_ok());
    }

    #[test]
    fn ntt_permutation_matches_coefficient_automorphism() {
        for (bits, n) in [(30u32, 16usize), (50, 256), (60, 4096)] {
            let primes = ntt_primes(bits, 2 * n as u64, 2, &[]).unwrap();
            for p in primes {
                let m = Modulus::new(p).unwrap();
                let t = NttTable::new(m, n).unwrap();
                let a: Vec<u64> = (0..n as u64).map(|i| (i * i * 7919 + 13) % p).collect();
                let mut a_ntt = a.clone();
                t.forward(&mut a_ntt);
                let mut gs: Vec<usize> = [1i64, 2, 3, -1, -5, (n / 4) as i64]
                    .iter()
                    .map(|&s| galois_element_for_rotation(s, n))
                    .collect();
                gs.push(galois_element_conjugate(n));
                gs.push(3);
                for g in gs {
                    let perm = automorphism_permutation(&t, g).unwrap();
                    let via_ntt: Vec<u64> = perm.iter().map(|&j| a_ntt[j]).collect();
                    let mut expect = vec![0u64; n];
                    automorphism_coeff(&m, &a, g, &mut expect);
                    assert_ne!(expect, vec![0u64; n]);
                    t.forward(&mut expect);
                    assert_eq!(via_ntt, expect, "n={n} g={g}");
                }
            }
        }
    }

    #[test]
    fn automorphisms_compose() {
        let n = 64;
        let p = ntt_primes(40, 128, 1, &[]).unwrap()[0];
        let m = Modulus::new(p).unwrap();
        let a: Vec<u64> = (0..n as u64).map(|i| (i * 31 + 5) % p).collect();
        let (g1, g2) = (5usize, 127usize);
        let mut once = vec![0; n];
        automorphism_coeff(&m, &a, g1, &mut once);
        let mut twice = vec![0; n];
        automorphism_coeff(&m, &once, g2, &mut twice);
        let mut direct = vec![0; n];
        automorphism_coeff(&m, &a, (g1 * g2) % (2 * n), &mut direct);
        assert_eq!(twice, direct);
    }
}
