//! The feed-ordered maps (all articles, each district's, each topic's)
//! filled at once after a first reading: each list sorted on its own
//! core and its map built from the sorted run costs a fraction of
//! 300,000 single inserts on the thread that takes the readings in.

use std::cmp::Ordering;

use super::*;

/// The articles of a first reading not yet in `all` and `by_district`
/// (a topic's wait in its [`TopicIndex`]).
#[derive(Default)]
pub(super) struct Unsorted {
    all: Vec<Arc<Article>>,
    districts: HashMap<String, Vec<Arc<Article>>>,
}

/// The order of [`Key`], without making keys.
fn feed_order(a: &Arc<Article>, b: &Arc<Article>) -> Ordering {
    b.date.cmp(&a.date).then_with(|| a.id.cmp(&b.id))
}

/// A list of articles as a map in feed order; their keys are distinct
/// (the library gives each id one file).
fn sorted(mut list: Vec<Arc<Article>>) -> BTreeMap<Key, Arc<Article>> {
    // In feed order already, the map is built without a search.
    list.par_sort_unstable_by(feed_order);
    list.into_iter().map(|a| (key(&a), a)).collect()
}

/// Adds `more` to `map`, an entry of `more` replacing one of `map`.
fn merge_into(map: &mut BTreeMap<Key, Arc<Article>>, more: BTreeMap<Key, Arc<Article>>) {
    if map.is_empty() {
        *map = more;
    } else {
        map.extend(more);
    }
}

impl Library {
    /// Puts `a` in the map of all articles and its district's, or keeps
    /// it for [`Library::sort_in`] during a first reading.
    pub(super) fn order(&mut self, a: &Arc<Article>) {
        if let Some(unsorted) = &mut self.unsorted {
            unsorted.all.push(a.clone());
            if let Some(d) = a.district.as_deref() {
                match unsorted.districts.get_mut(d) {
                    Some(list) => list.push(a.clone()),
                    None => {
                        unsorted.districts.insert(d.to_string(), vec![a.clone()]);
                    }
                }
            }
            return;
        }
        self.all.insert(key(a), a.clone());
        if let Some(d) = a.district.as_deref() {
            match self.by_district.get_mut(d) {
                Some(m) => m.insert(key(a), a.clone()),
                None => self
                    .by_district
                    .entry(d.to_string())
                    .or_default()
                    .insert(key(a), a.clone()),
            };
        }
    }

    /// Puts the articles kept during a first reading in the ordered maps.
    pub(super) fn sort_in(&mut self) {
        let Some(unsorted) = self.unsorted.take() else {
            return;
        };
        let by_topic = &mut self.by_topic;
        let ((all, districts), ()) = rayon::join(
            || {
                rayon::join(
                    || sorted(unsorted.all),
                    || {
                        let lists: Vec<(String, Vec<Arc<Article>>)> =
                            unsorted.districts.into_iter().collect();
                        lists
                            .into_par_iter()
                            .map(|(d, list)| (d, sorted(list)))
                            .collect::<Vec<_>>()
                    },
                )
            },
            || {
                by_topic.par_iter_mut().for_each(|(_, t)| {
                    let list = std::mem::take(&mut t.unsorted);
                    merge_into(&mut t.articles, sorted(list));
                })
            },
        );
        merge_into(&mut self.all, all);
        for (d, m) in districts {
            merge_into(self.by_district.entry(d).or_default(), m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn config() -> Config {
        let text = "title = \"t\"\nbase_url = \"https://n.example/\"\nid_authority = \"n.example\"\ntopics = true\n[districts.a]\nname = \"A\"\n[districts.b]\nname = \"B\"\n";
        Config::from_toml(text, "crier.toml", &Overrides::default()).unwrap()
    }

    /// Articles in two districts and at the top, with dates that repeat
    /// (ties go by id) and tags in two spellings.
    fn write(content: &Path, i: usize) {
        let folder = ["a/", "b/", ""][i % 3];
        let tags = ["\"Lab\"", "\"lab\", \"Río\"", "\"río\""][i % 3];
        let text = format!(
            "+++\ntitle = \"t{i}\"\ndate = 2023-01-{:02}\ntags = [{tags}]\n+++\nbody\n",
            1 + i % 7
        );
        std::fs::write(content.join(format!("{folder}{i:03}.md")), text).unwrap();
    }

    fn keys(map: &BTreeMap<Key, Arc<Article>>) -> Vec<Key> {
        map.keys().cloned().collect()
    }

    #[test]
    fn a_first_reading_sorted_at_once_equals_one_grown_file_by_file() {
        let tmp = tempfile::tempdir().unwrap();
        let content = tmp.path().join("content");
        for d in ["a", "b"] {
            std::fs::create_dir_all(content.join(d)).unwrap();
        }
        // Grown: the first file read at once, every other one a refresh.
        write(&content, 0);
        let mut grown = Library::load(config(), &content).unwrap();
        for i in 1..60 {
            write(&content, i);
            let rel = ["a/", "b/", ""][i % 3];
            let path = content.join(format!("{rel}{i:03}.md"));
            grown.refresh(&[path], &mut Change::default()).unwrap();
        }
        let bulk = Library::load(config(), &content).unwrap();
        assert!(bulk.unsorted.is_none() && grown.unsorted.is_none());
        assert_eq!(bulk.all.len(), 60);
        assert_eq!(keys(&bulk.all), keys(&grown.all));
        for d in ["a", "b"] {
            assert_eq!(bulk.by_district[d].len(), 20);
            assert_eq!(keys(&bulk.by_district[d]), keys(&grown.by_district[d]));
        }
        let topics: Vec<&String> = bulk.by_topic.keys().collect();
        assert_eq!(topics.len(), 2, "{topics:?}");
        for (k, t) in &bulk.by_topic {
            assert!(t.unsorted.is_empty());
            assert_eq!(keys(&t.articles), keys(&grown.by_topic[k].articles), "{k}");
            assert_eq!(t.spellings, grown.by_topic[k].spellings, "{k}");
        }
        // Newest first, ties by id.
        let all = keys(&bulk.all);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.windows(2).any(|w| w[0].0 == w[1].0), "no tie tried");
    }
}
