//! Splitting independent work over the machine's cores: the one helper behind rendering a large
//! plan's change blocks and parsing many configuration files. Order is kept, and small inputs
//! run on the calling thread, where starting threads would cost more than it saves.

/// `work` applied to consecutive chunks of `items` (each given with the index of its first
/// item), on up to one scoped thread per core, with at least `min_per_thread` items per
/// thread; the results in the order of the chunks. A panic in `work` is passed on.
pub fn chunks<T, R>(
    items: &[T],
    min_per_thread: usize,
    work: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len() / min_per_thread.max(1))
        .max(1);
    if threads == 1 {
        return vec![work(0, items)];
    }
    let size = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let running: Vec<_> = items
            .chunks(size)
            .enumerate()
            .map(|(n, part)| scope.spawn(move || work(n * size, part)))
            .collect();
        running
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_item_once_in_order() {
        let items: Vec<usize> = (0..10_000).collect();
        let parts = chunks(&items, 100, |first, part| {
            assert_eq!(part[0], first);
            part.to_vec()
        });
        assert_eq!(parts.concat(), items);
        assert_eq!(chunks(&items[..5], 100, |_, part| part.len()), vec![5]);
        assert_eq!(
            chunks::<usize, usize>(&[], 1, |_, part| part.len()),
            vec![0]
        );
    }
}
