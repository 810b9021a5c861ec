//! A bounded FIFO that drops the oldest entry when full, and counts what it dropped.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Bounded queue with drop-oldest overflow. Never blocks the producer.
#[derive(Debug)]
pub struct DropOldestQueue<T> {
    inner: Mutex<VecDeque<T>>,
    capacity: usize,
}

impl<T> DropOldestQueue<T> {
    /// `capacity` is clamped to at least 1.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    /// Pushes `item`; returns the number of entries dropped to make room (0 or 1).
    pub fn push(&self, item: T) -> u64 {
        let mut q = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut dropped = 0;
        while q.len() >= self.capacity {
            q.pop_front();
            dropped += 1;
        }
        q.push_back(item);
        dropped
    }

    /// Takes everything queued, oldest first.
    pub fn drain(&self) -> Vec<T> {
        let mut q = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        q.drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_oldest_when_full_and_counts() {
        let q = DropOldestQueue::new(3);
        let dropped: u64 = (0..5).map(|i| q.push(i)).sum();
        assert_eq!(dropped, 2);
        assert_eq!(q.drain(), vec![2, 3, 4]);
        assert!(q.is_empty());
    }

    #[test]
    fn zero_capacity_is_clamped() {
        let q = DropOldestQueue::new(0);
        q.push(1);
        assert_eq!(q.push(2), 1);
        assert_eq!(q.drain(), vec![2]);
    }
}
