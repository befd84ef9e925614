//! Publishing synthesized views into the index: only objects whose content
//! changed get a new resourceVersion, so watchers see real changes only.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::index::{GroupResource, Index, ObjectKey};

/// resourceVersions for views: microseconds since the epoch, always
/// increasing, so watches resume correctly within a process and a restarted
/// process never reuses a version a client may still hold.
#[derive(Default)]
pub struct ViewClock {
    last: u64,
}

impl ViewClock {
    pub fn stamp(&mut self, mut view: Value) -> Value {
        let now = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        self.last = (self.last + 1).max(now);
        view["metadata"]["resourceVersion"] = Value::String(self.last.to_string());
        view
    }
}

/// One view resource and what of it is in the index.
pub struct ViewPublisher {
    gr: GroupResource,
    /// Objects as last published (without resourceVersion).
    shown: HashMap<ObjectKey, Value>,
    listed: bool,
}

impl ViewPublisher {
    pub fn new(gr: GroupResource) -> Self {
        Self {
            gr,
            shown: HashMap::new(),
            listed: false,
        }
    }

    /// Makes the index hold exactly `views`: the first call lists them (the
    /// resource becomes synced), later calls apply the differences.
    pub fn publish(&mut self, index: &Index, clock: &mut ViewClock, views: HashMap<ObjectKey, Value>) {
        let present: HashSet<ObjectKey> = views.keys().cloned().collect();
        self.publish_changes(index, clock, &present, views);
    }

    /// Makes the index hold exactly the objects named in `present`, where
    /// `changed` holds those that may differ from what was last published and
    /// every other one is unchanged. The first call must be given every object.
    /// This lets a caller skip rebuilding (and comparing) views whose inputs
    /// did not change.
    pub fn publish_changes(
        &mut self,
        index: &Index,
        clock: &mut ViewClock,
        present: &HashSet<ObjectKey>,
        changed: HashMap<ObjectKey, Value>,
    ) {
        let gr = &self.gr;
        if !self.listed {
            debug_assert_eq!(present.len(), changed.len(), "the first publication is complete");
            let objects: Vec<Value> = changed.values().map(|v| clock.stamp(v.clone())).collect();
            for e in index.replace(gr, objects) {
                tracing::warn!(resource = %gr.resource, error = %e, "view object skipped");
            }
            self.shown = changed;
            self.listed = true;
            return;
        }
        let views = changed;
        let gone: Vec<ObjectKey> = self
            .shown
            .keys()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(old) = self.shown.remove(&key) {
                if let Err(e) = index.delete(gr, &clock.stamp(old)) {
                    tracing::warn!(resource = %gr.resource, error = %e, "view object removal skipped");
                }
            }
        }
        for (key, view) in views {
            if self.shown.get(&key) == Some(&view) {
                continue;
            }
            if let Err(e) = index.apply(gr, clock.stamp(view.clone())) {
                tracing::warn!(resource = %gr.resource, error = %e, "view object skipped");
            }
            self.shown.insert(key, view);
        }
    }
}
