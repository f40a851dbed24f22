//! AIPerf's "magic lists": a sweepable flag takes one value or a comma-separated list
//! (`--concurrency 1,2,4`), and a list turns one run into a sweep.
//!
//! Parsing follows AIPerf 0.13 (`parse_int_or_int_list`): trim, split on commas, drop empty
//! parts; one surviving part is a scalar (`"4,"` is 4). Each part is parsed on its own, so the
//! error quotes the bad one. Range checks stay with the flag's resolver, which sees one value
//! per variation.

use std::fmt;
use std::str::FromStr;

/// One value or a sweep list of a flag; never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweepable<T>(Vec<T>);

impl<T: Clone> Sweepable<T> {
    pub fn single(value: T) -> Self {
        Self(vec![value])
    }

    /// Every value given, in order.
    pub fn values(&self) -> &[T] {
        &self.0
    }

    pub fn is_list(&self) -> bool {
        self.0.len() > 1
    }

    /// The value a single run uses: the only one, or the first of a list (resolving a whole
    /// sweep expands the list before any run sees it).
    pub fn first(&self) -> T {
        self.0[0].clone()
    }
}

impl<T: FromStr> FromStr for Sweepable<T>
where
    T::Err: fmt::Display,
{
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(format!("no value in '{raw}'"));
        }
        // In a list, name the part that failed; a single value is the whole input already.
        let several = parts.len() > 1;
        parts
            .iter()
            .map(|p| {
                p.parse::<T>().map_err(|e| {
                    if several {
                        format!("'{p}': {e}")
                    } else {
                        e.to_string()
                    }
                })
            })
            .collect::<Result<Vec<T>, String>>()
            .map(Self)
    }
}

/// The single-run value of a flag that may hold a list: `args.concurrency.one()`.
pub trait One {
    type Value;
    fn one(&self) -> Self::Value;
}

impl<T: Clone> One for Sweepable<T> {
    type Value = T;
    fn one(&self) -> T {
        self.first()
    }
}

impl<T: Clone> One for Option<Sweepable<T>> {
    type Value = Option<T>;
    fn one(&self) -> Option<T> {
        self.as_ref().map(Sweepable::first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(s: &str) -> Result<Vec<usize>, String> {
        s.parse::<Sweepable<usize>>().map(|l| l.values().to_vec())
    }

    #[test]
    fn lists_and_scalars_follow_aiperf() {
        assert_eq!(ints("1,2,4"), Ok(vec![1, 2, 4]));
        assert_eq!(ints(" 1 , 2 "), Ok(vec![1, 2]));
        assert_eq!(ints("4,"), Ok(vec![4]));
        assert_eq!(ints(",,8"), Ok(vec![8]));
        assert!(!"4,".parse::<Sweepable<usize>>().unwrap().is_list());
        let f: Sweepable<f64> = "0.5,2.5".parse().unwrap();
        assert_eq!(f.values(), [0.5, 2.5]);
        assert_eq!(f.first(), 0.5);
    }

    #[test]
    fn the_bad_part_is_quoted() {
        let e = ints("1,a").unwrap_err();
        assert!(e.starts_with("'a': "), "{e}");
        assert!(ints(",").unwrap_err().contains("no value"));
        assert!(ints("-1").is_err());
    }

    #[test]
    fn one_reads_the_single_run_value() {
        let c: Option<Sweepable<usize>> = Some("3,5".parse().unwrap());
        assert_eq!(c.one(), Some(3));
        let none: Option<Sweepable<usize>> = None;
        assert_eq!(none.one(), None);
    }
}
