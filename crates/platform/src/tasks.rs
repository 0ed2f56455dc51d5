//! One owner for a subgraph's background work (outbox relays, event
//! consumers, sweepers, after-commit follow-ups), so that shutting down
//! stops all of it instead of leaving detached `tokio::spawn`s behind.
//!
//! Subgraphs hand their work to [`background`]: [`TaskSet::spawn`] for work
//! that may simply be dropped at its next `.await` when the process stops
//! (its transactions roll back), [`TaskSet::on_shutdown`] for a graceful stop
//! (a relay or consumer handle's `stop()`). [`crate::server::serve`] calls
//! [`TaskSet::shutdown`] once the server has drained its requests: it
//! cancels the set and waits for every task.

use std::future::Future;
use std::sync::{Mutex, OnceLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Tasks sharing one cancellation signal.
pub struct TaskSet {
    inner: Mutex<Generation>,
}

/// The tasks started since the last shutdown, and their signal.
struct Generation {
    cancel: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Generation {
    fn new() -> Self {
        Generation {
            cancel: watch::channel(false).0,
            handles: Vec::new(),
        }
    }
}

/// Resolves once `cancel` says stop (or its sender is gone).
async fn cancelled(mut cancel: watch::Receiver<bool>) {
    let _ = cancel.wait_for(|stop| *stop).await;
}

impl Default for TaskSet {
    fn default() -> Self {
        TaskSet {
            inner: Mutex::new(Generation::new()),
        }
    }
}

impl TaskSet {
    /// Registers a task started from the set's current signal; forgets
    /// finished ones so that a long-lived set does not grow.
    fn start<F>(&self, task: impl FnOnce(watch::Receiver<bool>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut generation = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        generation.handles.retain(|handle| !handle.is_finished());
        let handle = tokio::spawn(task(generation.cancel.subscribe()));
        generation.handles.push(handle);
    }

    /// Runs `work` in the background until it ends or the set shuts down
    /// (then it is dropped at its next `.await`).
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.start(|cancel| async move {
            tokio::select! {
                () = work => {}
                () = cancelled(cancel) => {}
            }
        });
    }

    /// Runs `stop` when the set shuts down, and waits for it then: the
    /// graceful stop of a relay or consumer (`handle.stop()`).
    pub fn on_shutdown(&self, stop: impl Future<Output = ()> + Send + 'static) {
        self.start(|cancel| async move {
            cancelled(cancel).await;
            stop.await;
        });
    }

    /// Cancels every task started so far and waits for them all. Tasks
    /// started afterwards belong to a fresh signal.
    pub async fn shutdown(&self) {
        let Generation { cancel, handles } = {
            let mut generation = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *generation, Generation::new())
        };
        let _ = cancel.send(true);
        for handle in handles {
            if let Err(err) = handle.await {
                tracing::warn!(error = %err, "background task failed");
            }
        }
    }
}

/// The process's background tasks, which `serve` stops on shutdown.
pub fn background() -> &'static TaskSet {
    static TASKS: OnceLock<TaskSet> = OnceLock::new();
    TASKS.get_or_init(TaskSet::default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn shutdown_cancels_work_and_awaits_graceful_stops() {
        let tasks = TaskSet::default();
        tasks.spawn(std::future::pending());
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = stopped.clone();
        tasks.on_shutdown(async move {
            tokio::task::yield_now().await;
            flag.store(true, Ordering::SeqCst);
        });
        tokio::time::timeout(std::time::Duration::from_secs(5), tasks.shutdown())
            .await
            .expect("pending work is cancelled");
        assert!(stopped.load(Ordering::SeqCst), "the graceful stop ran");
    }

    #[tokio::test]
    async fn serve_stops_the_background_tasks_when_it_shuts_down() {
        let (stopped, was_stopped) = tokio::sync::oneshot::channel();
        background().on_shutdown(async move {
            let _ = stopped.send(());
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        crate::server::serve(axum::Router::new(), listener, async {})
            .await
            .unwrap();
        let mut was_stopped = was_stopped;
        assert!(
            was_stopped.try_recv().is_ok(),
            "serve returned before the graceful stop ran"
        );
    }

    #[tokio::test]
    async fn work_started_after_a_shutdown_runs() {
        let tasks = TaskSet::default();
        tasks.shutdown().await;
        let (done, finished) = tokio::sync::oneshot::channel();
        tasks.spawn(async move {
            let _ = done.send(());
        });
        finished.await.expect("the task ran to its end");
    }
}
