//! Timings of the slow operations of a build, for the report's
//! `Operations` section (werf writes it with `--log-debug`): how often each
//! ran, their summed time, and the wall time they covered together (less
//! than the sum when images ran in parallel).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::OperationStats;

/// werf's operation names.
pub const IMAGE_BUILD: &str = "image build";
pub const IMAGE_PUSH: &str = "image push";
pub const IMAGE_SAVE_LOAD: &str = "image save/load";

#[derive(Default)]
pub struct OpStats {
    spans: Mutex<BTreeMap<&'static str, Vec<(Instant, Duration)>>>,
}

impl OpStats {
    /// Records that `name` ran from `start` until now.
    pub fn record(&self, name: &'static str, start: Instant) {
        let span = (start, start.elapsed());
        self.spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_default()
            .push(span);
    }

    /// The report's `Operations`.
    pub fn summary(&self) -> BTreeMap<String, OperationStats> {
        let spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        spans
            .iter()
            .map(|(name, spans)| ((*name).to_string(), stats(spans)))
            .collect()
    }
}

fn stats(spans: &[(Instant, Duration)]) -> OperationStats {
    let total: f64 = spans.iter().map(|(_, d)| d.as_secs_f64()).sum();
    let max = spans
        .iter()
        .map(|(_, d)| d.as_secs_f64())
        .fold(0.0, f64::max);
    // The union of the intervals.
    let mut intervals: Vec<(Instant, Instant)> = spans.iter().map(|(s, d)| (*s, *s + *d)).collect();
    intervals.sort();
    let mut wall = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                wall += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        wall += e - s;
    }
    let count = spans.len();
    OperationStats {
        count: count as i64,
        total_time_seconds: total,
        wall_time_seconds: wall.as_secs_f64(),
        avg_time_seconds: if count == 0 {
            0.0
        } else {
            total / count as f64
        },
        max_time_seconds: max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_spans_count_once_in_wall_time() {
        let t0 = Instant::now();
        let s = |from: u64, len: u64| (t0 + Duration::from_secs(from), Duration::from_secs(len));
        // 0–4 and 2–6 overlap (6 s of wall time), 10–11 stands alone.
        let st = stats(&[s(0, 4), s(2, 4), s(10, 1)]);
        assert_eq!(st.count, 3);
        assert_eq!(st.total_time_seconds, 9.0);
        assert_eq!(st.wall_time_seconds, 7.0);
        assert_eq!(st.avg_time_seconds, 3.0);
        assert_eq!(st.max_time_seconds, 4.0);
    }
}
