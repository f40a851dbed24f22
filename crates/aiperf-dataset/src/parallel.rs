//! Work spread over all cores with results in input order, so outputs never depend on the
//! core count.

/// `f` over `items` on all cores, results in input order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_indexed(items, |_, item| f(item))
}

/// How many threads a map runs on: one per core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Each thread's results, concatenated in the threads' order (a thread's panic is re-raised
/// here). The first thread's vector is grown to hold the rest, and each later one is freed as
/// soon as it is moved over, so a million results are not held twice at the end.
fn join_in_order<R>(handles: Vec<std::thread::ScopedJoinHandle<'_, Vec<R>>>) -> Vec<R> {
    let mut parts = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
    let Some(mut out) = parts.next() else {
        return Vec::new();
    };
    let rest: Vec<Vec<R>> = parts.collect();
    out.reserve_exact(rest.iter().map(Vec::len).sum());
    for part in rest {
        out.extend(part);
    }
    out
}

/// [`map`] with each item's index, for results named or seeded by position.
pub fn map_indexed<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let per = items.len().div_ceil(threads()).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .enumerate()
            .map(|(k, group)| {
                s.spawn(move || {
                    group
                        .iter()
                        .enumerate()
                        .map(|(i, item)| f(k * per + i, item))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        join_in_order(handles)
    })
}

/// [`map`] taking the items by value, so each is dropped as soon as it is mapped.
pub fn map_into<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let per = items.len().div_ceil(threads()).max(1);
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter();
    loop {
        let g: Vec<T> = items.by_ref().take(per).collect();
        if g.is_empty() {
            break;
        }
        groups.push(g);
    }
    // The input's buffer is empty now: free it before the results are built next to it.
    drop(items);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| s.spawn(move || group.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        join_in_order(handles)
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
        assert_eq!(
            super::map_indexed(&v, |i, x| (i as u64) * 1000 + x),
            (0..1001).map(|x| x * 1001).collect::<Vec<_>>()
        );
        assert!(super::map_indexed(&[] as &[u8], |i, _| i).is_empty());
    }
}
