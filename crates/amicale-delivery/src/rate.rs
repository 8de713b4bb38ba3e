//! A token bucket: at most `per_sec` messages a second from this process,
//! with a burst of one second's worth.

use std::time::Duration;

// tokio's clock, so tests can run the limiter on paused time.
use tokio::time::Instant;

use tokio::sync::Mutex;

pub struct RateLimiter {
    per_sec: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// `per_sec` ≤ 0 means no limit.
    pub fn new(per_sec: f64) -> Self {
        RateLimiter {
            per_sec,
            state: Mutex::new((per_sec.max(1.0), Instant::now())),
        }
    }

    /// The limit; 0 or less for none.
    pub fn per_sec(&self) -> f64 {
        self.per_sec
    }

    pub async fn acquire(&self) {
        if self.per_sec <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(s.1).as_secs_f64() * self.per_sec;
                s.0 = (s.0 + refill).min(self.per_sec.max(1.0));
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                (1.0 - s.0) / self.per_sec
            };
            // Waiting for tokens is the point of a rate limit, not a stand-in
            // for synchronisation.
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[tokio::test(start_paused = true)]
    async fn limits_the_rate() {
        let r = RateLimiter::new(10.0);
        let start = tokio::time::Instant::now();
        for _ in 0..30 {
            r.acquire().await;
        }
        // A burst of 10, then 20 more at 10/s: about two seconds of (virtual) time.
        let took = start.elapsed().as_secs_f64();
        assert!((1.8..2.3).contains(&took), "{took}");
    }

    #[tokio::test]
    async fn zero_means_unlimited() {
        let r = RateLimiter::new(0.0);
        for _ in 0..1000 {
            r.acquire().await;
        }
    }
}
