//! One policy for poisoned locks, used by every crate.
//!
//! A thread that panics while holding a lock poisons it. The locks in Tessera guard plain
//! buffers of numbers, counters and caches: no invariant spans several fields that a half-done
//! write could break, so a poisoned lock is recovered (its guard taken as it is) rather than
//! turned into a second panic in every later user. These helpers are the only way the crates
//! take such locks, so the policy is stated once.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared access, recovering a poisoned lock.
pub fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Exclusive access, recovering a poisoned lock.
pub fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Exclusive access if nobody holds the lock now (recovering a poisoned one); `None` if busy.
pub fn try_write<T: ?Sized>(lock: &RwLock<T>) -> Option<RwLockWriteGuard<'_, T>> {
    match lock.try_write() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// The mutex's guard, recovering a poisoned mutex.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_recovered_with_its_contents() {
        let cell = std::sync::Arc::new(RwLock::new(vec![1, 2, 3]));
        let mutex = std::sync::Arc::new(Mutex::new(7));
        let (c, m) = (cell.clone(), mutex.clone());
        let result = std::thread::spawn(move || {
            let _guard = write(&c);
            let _other = lock(&m);
            panic!("poison both");
        })
        .join();
        assert!(result.is_err());
        assert!(cell.is_poisoned() && mutex.is_poisoned());
        assert_eq!(*read(&cell), vec![1, 2, 3]);
        write(&cell).push(4);
        assert_eq!(try_write(&cell).map(|g| g.len()), Some(4));
        assert_eq!(*lock(&mutex), 7);
    }
}
