//! The hand-over between the capture thread and the analysis loop: events in order, and of the
//! frames only the latest (a live camera's older frames are stale by the time the engine is
//! free; they are dropped and counted). Files read as fast as the engine goes are lossless.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use facekiosk_capture::{CaptureError, SourceInfo};
use image::RgbImage;

/// What the capture thread hands over.
pub(crate) enum Item {
    /// The source opened.
    Opened(SourceInfo),
    /// A frame, taken at `at` (unix ms).
    Frame { at: u64, image: RgbImage },
    /// A frame was unusable.
    Skipped { at: u64, reason: String },
    /// The camera was lost.
    Lost(CaptureError),
    /// The camera is back.
    Back,
    /// The file or folder ended.
    End,
    /// The source failed for good.
    Failed(CaptureError),
}

struct State {
    items: VecDeque<Item>,
    dropped: u64,
    stop: bool,
}

pub(crate) struct Queue {
    state: Mutex<State>,
    changed: Condvar,
    lossless: bool,
}

impl Queue {
    pub(crate) fn new(lossless: bool) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                dropped: 0,
                stop: false,
            }),
            changed: Condvar::new(),
            lossless,
        }
    }

    /// Hands an item over; false once the consumer stopped.
    pub(crate) fn push(&self, item: Item) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if matches!(item, Item::Frame { .. }) {
            if self.lossless {
                // Wait until the consumer took the previous frame.
                while !s.stop && s.items.iter().any(|i| matches!(i, Item::Frame { .. })) {
                    s = match self.changed.wait(s) {
                        Ok(g) => g,
                        Err(_) => return false,
                    };
                }
            } else {
                let before = s.items.len();
                s.items.retain(|i| !matches!(i, Item::Frame { .. }));
                s.dropped += (before - s.items.len()) as u64;
            }
        }
        if s.stop {
            return false;
        }
        s.items.push_back(item);
        self.changed.notify_all();
        true
    }

    /// The next item, waiting at most `timeout`.
    pub(crate) fn pop(&self, timeout: Duration) -> Option<Item> {
        let mut s = self.state.lock().ok()?;
        if s.items.is_empty() {
            s = self.changed.wait_timeout(s, timeout).ok()?.0;
        }
        let item = s.items.pop_front();
        if item.is_some() {
            self.changed.notify_all();
        }
        item
    }

    /// Frames dropped so far because a newer one arrived before the engine was free.
    pub(crate) fn dropped(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.dropped)
    }

    /// True once the consumer stopped.
    pub(crate) fn stopped(&self) -> bool {
        self.state.lock().map_or(true, |s| s.stop)
    }

    /// The consumer is done: the capture thread stops at its next frame.
    pub(crate) fn stop(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.stop = true;
            s.items.clear();
        }
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(at: u64) -> Item {
        Item::Frame {
            at,
            image: RgbImage::new(2, 2),
        }
    }

    #[test]
    fn a_live_queue_keeps_the_latest_frame_and_every_event() {
        let q = Queue::new(false);
        assert!(q.push(frame(1)));
        assert!(q.push(Item::Back));
        assert!(q.push(frame(2)));
        assert!(q.push(frame(3)));
        assert_eq!(q.dropped(), 2);
        assert!(matches!(q.pop(Duration::ZERO), Some(Item::Back)));
        assert!(matches!(
            q.pop(Duration::ZERO),
            Some(Item::Frame { at: 3, .. })
        ));
        assert!(q.pop(Duration::from_millis(1)).is_none());
    }

    #[test]
    fn a_lossless_queue_waits_for_the_consumer() {
        let q = std::sync::Arc::new(Queue::new(true));
        let producer = {
            let q = q.clone();
            std::thread::spawn(move || (0..5).all(|i| q.push(frame(i))))
        };
        let mut seen = Vec::new();
        while seen.len() < 5 {
            if let Some(Item::Frame { at, .. }) = q.pop(Duration::from_millis(200)) {
                seen.push(at);
            }
        }
        assert!(producer.join().unwrap_or(false));
        assert_eq!(seen, [0, 1, 2, 3, 4]);
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn a_stopped_queue_releases_the_producer() {
        let q = std::sync::Arc::new(Queue::new(true));
        assert!(q.push(frame(0)));
        let producer = {
            let q = q.clone();
            std::thread::spawn(move || q.push(frame(1)))
        };
        std::thread::sleep(Duration::from_millis(20));
        q.stop();
        assert!(!producer.join().unwrap_or(true));
        assert!(q.stopped());
    }
}
