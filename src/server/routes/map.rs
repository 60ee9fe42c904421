//! The routes by path: persistent maps (a live update clones the map and
//! changes a few paths while requests read the old one), in shards by a
//! hash of the path, so that the 124,000 routes of a first build at
//! 100,000 articles go in on every core instead of one.

use std::hash::BuildHasher;

use rayon::prelude::*;

/// How many maps the paths are spread over: a few per core, so that
/// uneven shards still keep every core busy.
const SHARDS: usize = 16;

#[derive(Clone)]
pub struct Map<V: Clone> {
    shards: [imbl::HashMap<String, V>; SHARDS],
}

/// The shard of `path`: a fixed seed, the same in every process.
fn shard(path: &str) -> usize {
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(path);
    // The high bits: imbl's own hash of the path uses the low ones.
    (h >> 60) as usize % SHARDS
}

impl<V: Clone + Send + Sync> Map<V> {
    pub fn new() -> Map<V> {
        Map {
            shards: std::array::from_fn(|_| imbl::HashMap::new()),
        }
    }

    pub fn get(&self, path: &str) -> Option<&V> {
        self.shards[shard(path)].get(path)
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.shards[shard(path)].contains_key(path)
    }

    pub fn insert(&mut self, path: String, value: V) {
        self.shards[shard(&path)].insert(path, value);
    }

    pub fn remove(&mut self, path: &str) {
        self.shards[shard(path)].remove(path);
    }

    /// Every path and its value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.shards.iter().flat_map(|m| m.iter())
    }

    /// Puts many paths in at once, each shard on its own thread; a path
    /// given twice keeps its last value, as with [`Map::insert`].
    pub fn extend(&mut self, items: Vec<(String, V)>) {
        let mut by_shard: [Vec<(String, V)>; SHARDS] = std::array::from_fn(|_| Vec::new());
        for (path, value) in items {
            by_shard[shard(&path)].push((path, value));
        }
        self.shards
            .par_iter_mut()
            .zip(by_shard)
            .for_each(|(map, items)| map.extend(items));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_put_in_at_once_or_one_by_one_are_found_alike() {
        let mut one = Map::new();
        let mut many = Map::new();
        let items: Vec<(String, usize)> = (0..2000).map(|i| (format!("/d/{i}.html"), i)).collect();
        for (p, v) in items.clone() {
            one.insert(p, v);
        }
        let mut twice = items.clone();
        twice.push(("/d/7.html".into(), 99));
        many.extend(twice);
        one.insert("/d/7.html".into(), 99);
        assert_eq!(one.iter().count(), 2000);
        assert_eq!(many.iter().count(), 2000);
        for (p, v) in one.iter() {
            assert_eq!(many.get(p), Some(v), "{p}");
        }
        assert_eq!(many.get("/d/7.html"), Some(&99));
        many.remove("/d/7.html");
        assert!(!many.contains_key("/d/7.html") && many.contains_key("/d/8.html"));
        // The paths are spread: no shard holds most of them.
        assert!(many.shards.iter().all(|s| s.len() < 400), "uneven shards");
    }
}
