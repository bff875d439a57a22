//! Which tests may run side by side. Most tests share the machine; a test that measures
//! times (the fault suite) runs alone. When every file of tests was a binary of its own, cargo
//! ran the binaries one after another and the fault tests queued on a mutex of their own, so
//! no other test's logins ever competed with their timings; in one binary this gate keeps it so.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::{MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static GATE: RwLock<()> = RwLock::new(());

/// The lock a thread's passes stand for; released when it is dropped.
enum Held {
    Shared {
        _guard: RwLockReadGuard<'static, ()>,
    },
    Alone {
        _guard: RwLockWriteGuard<'static, ()>,
    },
}

thread_local! {
    /// How many passes this test thread holds, and the lock they stand for. A thread that
    /// holds a pass never waits for another one: a fault test starts test servers too, and a
    /// test may start a second server while a fault test waits for the gate.
    static HELD: RefCell<(usize, Option<Held>)> = const { RefCell::new((0, None)) };
}

/// Held while a test uses the machine. Dropped on the thread that took it (it is not Send).
pub struct Pass {
    _thread_bound: PhantomData<MutexGuard<'static, ()>>,
}

/// A pass beside other tests (test servers and processes take one).
pub fn shared() -> Pass {
    take(|| Held::Shared {
        _guard: GATE.read().unwrap_or_else(PoisonError::into_inner),
    })
}

/// A pass with the machine to this test alone; waits for the running tests to end.
pub fn alone() -> Pass {
    take(|| Held::Alone {
        _guard: GATE.write().unwrap_or_else(PoisonError::into_inner),
    })
}

fn take(lock: impl FnOnce() -> Held) -> Pass {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        if held.0 == 0 {
            held.1 = Some(lock());
        }
        held.0 += 1;
    });
    Pass {
        _thread_bound: PhantomData,
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        // The guard leaves the thread-local before it is dropped, outside the borrow.
        let released = HELD.with(|held| {
            let mut held = held.borrow_mut();
            held.0 -= 1;
            if held.0 == 0 {
                held.1.take()
            } else {
                None
            }
        });
        drop(released);
    }
}
