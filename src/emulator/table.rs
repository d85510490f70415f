//! [`Table`]: one kind of emulator object by ID, with a secondary index and an undo log.
//!
//! Every change goes through [`Table::insert`], [`Table::remove`] or [`Table::update`], which
//! keep the index (objects grouped by their parent, ordered by name: service accounts by
//! project, keys by owner…) consistent and record the previous value of each touched ID. The
//! state layer uses that log three ways: to roll a refused transaction back, to write the
//! transaction's journal line (only the touched objects, never the whole state), and to undo a
//! committed-but-not-yet-durable change whose journal write failed. Reads go through
//! `Deref` to the underlying map by ID (hashed; ordered access goes through the index).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where an object sits in its table's secondary index: `(group, name)`, e.g. a service
/// account's `(project ID, name)`. `None` keeps the object out of the index.
pub trait Indexed: Clone {
    /// The object's index entry.
    fn index_entry(&self) -> Option<(String, String)>;
}

/// The previous value of one touched ID (`None`: it did not exist).
pub type Undo<T> = (String, Option<T>);

/// Objects of one kind by ID, indexed by `(group, name)`.
#[derive(Debug, Clone)]
pub struct Table<T: Indexed> {
    /// Hashed: a listing looks up every object of its page by ID, and at scale ordered-map
    /// lookups (a dozen string comparisons, each a cache miss) were most of a listing's time.
    map: HashMap<String, T>,
    /// group → (name, ID), so a group's objects come out ordered by name.
    index: HashMap<String, BTreeSet<(String, String)>>,
    /// Previous values of the IDs changed since the last [`Table::take_undo`], oldest first.
    undo: Vec<Undo<T>>,
}

impl<T: Indexed> Default for Table<T> {
    fn default() -> Self {
        Table {
            map: HashMap::new(),
            index: HashMap::new(),
            undo: Vec::new(),
        }
    }
}

impl<T: Indexed> Deref for Table<T> {
    type Target = HashMap<String, T>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<'a, T: Indexed> IntoIterator for &'a Table<T> {
    type Item = (&'a String, &'a T);
    type IntoIter = std::collections::hash_map::Iter<'a, String, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<T: Indexed + PartialEq> PartialEq for Table<T> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<T: Indexed> FromIterator<(String, T)> for Table<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        let mut table = Table::default();
        for (id, value) in iter {
            table.set(id, Some(value));
        }
        table
    }
}

impl<T: Indexed> Table<T> {
    /// Sets `id` to `value` (or removes it) and fixes the index; returns the previous value.
    /// Not recorded in the undo log.
    fn set(&mut self, id: String, value: Option<T>) -> Option<T> {
        match value {
            Some(value) => {
                let entry = value.index_entry();
                let old = self.map.insert(id.clone(), value);
                if let Some(old_entry) = old.as_ref().and_then(Indexed::index_entry) {
                    self.unindex(&id, old_entry);
                }
                if let Some((group, name)) = entry {
                    self.index.entry(group).or_default().insert((name, id));
                }
                old
            }
            None => {
                let old = self.map.remove(&id);
                if let Some(old_entry) = old.as_ref().and_then(Indexed::index_entry) {
                    self.unindex(&id, old_entry);
                }
                old
            }
        }
    }

    fn unindex(&mut self, id: &str, (group, name): (String, String)) {
        if let Some(set) = self.index.get_mut(&group) {
            set.remove(&(name, id.to_string()));
            if set.is_empty() {
                self.index.remove(&group);
            }
        }
    }

    /// Inserts or replaces `id`; returns the previous value.
    pub fn insert(&mut self, id: String, value: T) -> Option<T> {
        let old = self.set(id.clone(), Some(value));
        self.undo.push((id, old.clone()));
        old
    }

    /// Removes `id`; returns the removed value.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let old = self.set(id.to_string(), None);
        if old.is_some() {
            self.undo.push((id.to_string(), old.clone()));
        }
        old
    }

    /// Changes `id` in place with `change`; returns the new value, or `None` if there is no
    /// such object.
    pub fn update(&mut self, id: &str, change: impl FnOnce(&mut T)) -> Option<&T> {
        let mut value = self.map.get(id)?.clone();
        change(&mut value);
        self.insert(id.to_string(), value);
        self.map.get(id)
    }

    /// The IDs in `group`, ordered by name (then ID).
    pub fn group<'a>(
        &'a self,
        group: &str,
    ) -> impl DoubleEndedIterator<Item = &'a str> + use<'a, T> {
        self.index
            .get(group)
            .into_iter()
            .flat_map(|set| set.iter().map(|(_, id)| id.as_str()))
    }

    /// The objects in `group`, ordered by name.
    pub fn in_group<'a>(&'a self, group: &str) -> impl Iterator<Item = &'a T> + use<'a, T> {
        self.group(group).filter_map(|id| self.map.get(id))
    }

    /// How many objects `group` holds.
    pub fn group_len(&self, group: &str) -> usize {
        self.index.get(group).map_or(0, BTreeSet::len)
    }

    /// The objects in `group` named `name` (normally at most one).
    pub fn named<'a>(
        &'a self,
        group: &str,
        name: &str,
    ) -> impl Iterator<Item = &'a T> + use<'a, T> {
        let start = (name.to_string(), String::new());
        self.index
            .get(group)
            .into_iter()
            .flat_map(move |set| {
                let name = start.0.clone();
                set.range(start.clone()..)
                    .take_while(move |(n, _)| *n == name)
            })
            .filter_map(|(_, id)| self.map.get(id))
    }

    /// Whether anything changed since the last [`Table::take_undo`].
    pub fn touched(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Hands out the undo log (previous values, oldest first) and starts a new one.
    pub fn take_undo(&mut self) -> Vec<Undo<T>> {
        std::mem::take(&mut self.undo)
    }

    /// Restores the previous values of `undo` (as returned by [`Table::take_undo`]), newest
    /// first. Not recorded in the undo log.
    pub fn restore(&mut self, undo: Vec<Undo<T>>) {
        for (id, old) in undo.into_iter().rev() {
            self.set(id, old);
        }
    }

    /// Undoes every change since the last [`Table::take_undo`].
    pub fn rollback(&mut self) {
        let undo = self.take_undo();
        self.restore(undo);
    }

    /// The current value of every ID in `undo`, by ID (`None`: removed): what a journal line
    /// records.
    pub fn current_of(&self, undo: &[Undo<T>]) -> BTreeMap<String, Option<T>> {
        undo.iter()
            .map(|(id, _)| (id.clone(), self.map.get(id).cloned()))
            .collect()
    }

    /// Applies a journal line's values (`None`: removed), without undo.
    pub fn replay(&mut self, changes: BTreeMap<String, Option<T>>) {
        for (id, value) in changes {
            self.set(id, value);
        }
    }
}

impl<T: Indexed + Serialize> Serialize for Table<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // By ID, so that the same state always writes the same data file.
        let ordered: BTreeMap<&String, &T> = self.map.iter().collect();
        ordered.serialize(serializer)
    }
}

impl<'de, T: Indexed + Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, T>::deserialize(deserializer)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Item {
        group: String,
        name: String,
    }

    impl Indexed for Item {
        fn index_entry(&self) -> Option<(String, String)> {
            Some((self.group.clone(), self.name.clone()))
        }
    }

    fn item(group: &str, name: &str) -> Item {
        Item {
            group: group.into(),
            name: name.into(),
        }
    }

    #[test]
    fn the_index_follows_every_change_and_rollback_restores_it() {
        let mut table = Table::default();
        table.insert("1".into(), item("p", "b"));
        table.insert("2".into(), item("p", "a"));
        table.insert("3".into(), item("q", "a"));
        table.take_undo();
        assert_eq!(table.group("p").collect::<Vec<_>>(), ["2", "1"]);
        assert_eq!(table.group_len("q"), 1);

        table.update("1", |i| i.group = "q".into());
        table.remove("2");
        table.insert("4".into(), item("p", "c"));
        assert_eq!(table.group("p").collect::<Vec<_>>(), ["4"]);
        assert_eq!(table.group("q").collect::<Vec<_>>(), ["3", "1"]);
        assert_eq!(table.named("q", "b").count(), 1);
        assert_eq!(table.named("q", "z").count(), 0);

        table.rollback();
        assert_eq!(table.group("p").collect::<Vec<_>>(), ["2", "1"]);
        assert_eq!(table.group("q").collect::<Vec<_>>(), ["3"]);
        assert_eq!(table.len(), 3);
        assert!(!table.touched());
    }

    #[test]
    fn a_journal_line_replays_to_the_same_table() {
        let mut table = Table::default();
        table.insert("1".into(), item("p", "a"));
        table.insert("2".into(), item("p", "b"));
        let before = table.clone();
        table.take_undo();
        table.remove("1");
        table.update("2", |i| i.name = "c".into());
        let undo = table.take_undo();
        let line = table.current_of(&undo);
        let mut replayed = before.clone();
        replayed.replay(line.clone());
        assert_eq!(replayed, table);
        assert_eq!(
            replayed.group("p").collect::<Vec<_>>(),
            table.group("p").collect::<Vec<_>>()
        );
        // Replaying a line twice changes nothing more (lines hold absolute values).
        replayed.replay(line);
        assert_eq!(replayed, table);
        // Restoring the undo log goes back to the state before.
        table.restore(undo);
        assert_eq!(table, before);
        assert_eq!(table.group("p").collect::<Vec<_>>(), ["1", "2"]);
    }
}
