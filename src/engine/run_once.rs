//! `run_once: true`: the first host of a play to reach such a task runs it;
//! every other host waits for that outcome and registers the same result, as
//! Ansible applies a run_once result to all hosts of the play.
//!
//! Hosts go at their own pace inside a play, so "first" is the first to
//! arrive, not the first in the inventory. A task reached several times (an
//! include run twice) is run once per time reached: the n-th arrival of each
//! host shares the n-th run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};
use tokio::sync::watch;

use crate::diag::Origin;
use crate::report::Status;

/// One run_once task as one host reached it: play and `serial` batch (a
/// run_once task runs once per batch, as in Ansible), where the task is
/// written, and how many times this host reached it before.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    play: usize,
    batch: usize,
    file: String,
    line: u32,
    col: u32,
    nth: u32,
}

impl Key {
    pub fn new(play: usize, batch: usize, origin: &Origin, nth: u32) -> Self {
        Key {
            play,
            batch,
            file: origin.path.display().to_string(),
            line: origin.line,
            col: origin.col,
            nth,
        }
    }

    /// Whether this is the task at `origin` in play `play`, any time reached.
    pub fn is_for(&self, play: usize, origin: &Origin) -> bool {
        self.play == play
            && self.line == origin.line
            && self.col == origin.col
            && self.file == origin.path.display().to_string()
    }
}

/// What the host that ran the task got.
#[derive(Debug)]
pub struct Published {
    pub host: String,
    pub status: Status,
    pub result: Map<String, Json>,
}

type Slot = watch::Receiver<Option<Arc<Published>>>;

/// The run's run_once tasks: who claimed each, and its outcome once known.
#[derive(Default)]
pub struct RunOnce {
    slots: Mutex<HashMap<Key, (String, Slot)>>,
}

/// What a host does with a run_once task.
pub enum Claim {
    /// Run it, then [`Publisher::publish`] the outcome.
    Leader(Publisher),
    /// Wait for `leader`'s outcome.
    Follower { leader: String, slot: Slot },
}

/// The leader's side. Dropped without publishing (the leader stopped
/// mid-task), the followers learn that the task never finished.
pub struct Publisher {
    host: String,
    tx: watch::Sender<Option<Arc<Published>>>,
}

impl RunOnce {
    pub fn claim(&self, key: Key, host: &str) -> Claim {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((leader, slot)) = slots.get(&key) {
            return Claim::Follower {
                leader: leader.clone(),
                slot: slot.clone(),
            };
        }
        let (tx, rx) = watch::channel(None);
        slots.insert(key, (host.to_string(), rx));
        Claim::Leader(Publisher {
            host: host.to_string(),
            tx,
        })
    }
}

impl Publisher {
    pub fn publish(self, status: Status, result: &Map<String, Json>) {
        // No receiver left is fine: every other host is done already.
        let _ = self.tx.send(Some(Arc::new(Published {
            host: self.host,
            status,
            result: result.clone(),
        })));
    }
}

/// Waits for the leader's outcome; `None` when the leader stopped before it
/// finished the task.
pub async fn wait(mut slot: Slot) -> Option<Arc<Published>> {
    match slot.wait_for(Option::is_some).await {
        Ok(v) => v.clone(),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nth: u32) -> Key {
        Key::new(0, 0, &Origin::file(std::path::Path::new("site.yml")), nth)
    }

    #[tokio::test]
    async fn first_claims_others_follow_and_see_the_outcome() {
        let once = RunOnce::default();
        let Claim::Leader(publisher) = once.claim(key(0), "a") else {
            panic!("the first host must lead");
        };
        let Claim::Follower { leader, slot } = once.claim(key(0), "b") else {
            panic!("the second host must follow");
        };
        assert_eq!(leader, "a");
        // The next time the task is reached is another run.
        assert!(matches!(once.claim(key(1), "b"), Claim::Leader(_)));
        let mut result = Map::new();
        result.insert("rc".into(), Json::from(0));
        publisher.publish(Status::Changed, &result);
        let got = wait(slot).await.expect("published");
        assert_eq!(got.host, "a");
        assert_eq!(got.status, Status::Changed);
        assert_eq!(got.result["rc"], 0);
        // A host arriving after the leader finished gets it at once.
        let Claim::Follower { slot, .. } = once.claim(key(0), "c") else {
            panic!("c follows");
        };
        assert_eq!(wait(slot).await.expect("still there").host, "a");
    }

    #[tokio::test]
    async fn a_leader_that_stops_releases_its_followers() {
        let once = RunOnce::default();
        let Claim::Leader(publisher) = once.claim(key(0), "a") else {
            panic!("lead");
        };
        let Claim::Follower { slot, .. } = once.claim(key(0), "b") else {
            panic!("follow");
        };
        drop(publisher);
        assert!(wait(slot).await.is_none());
    }
}
