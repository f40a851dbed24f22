//! Work spread over all cores with results in input order, so outputs never depend on the
//! core count.

/// `f` over `items` on all cores, results in input order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let per = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|group| s.spawn(move || group.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// [`map`] taking the items by value, so each is dropped as soon as it is mapped.
pub fn map_into<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let per = items.len().div_ceil(threads).max(1);
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter();
    loop {
        let g: Vec<T> = items.by_ref().take(per).collect();
        if g.is_empty() {
            break;
        }
        groups.push(g);
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| s.spawn(move || group.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_input_order() {
        let v: Vec<u64> = (0..1001).collect();
        assert_eq!(
            super::map(&v, |x| x * 2),
            (0..1001).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert_eq!(
            super::map_into(v.clone(), |x| x + 1),
            (1..1002).collect::<Vec<_>>()
        );
        assert!(super::map_into(Vec::<u8>::new(), |x| x).is_empty());
    }
}
