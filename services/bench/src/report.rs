//! The table `make bench` prints and docs/benchmarks.md keeps: every timing beside the baseline
//! measured in the same run, and the goal of the performance issue.

use std::fmt::Write as _;

/// One line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// What was measured.
    pub what: String,
    /// The figure.
    pub measured: String,
    /// The baseline taken in the same run ("—" when the row has none).
    pub baseline: String,
    /// The goal.
    pub goal: String,
    /// Whether the goal is met (None: informational, or not comparable in this mode).
    pub met: Option<bool>,
}

impl Row {
    /// A row.
    pub fn new(
        what: impl Into<String>,
        measured: impl Into<String>,
        baseline: impl Into<String>,
        goal: impl Into<String>,
        met: Option<bool>,
    ) -> Self {
        Self {
            what: what.into(),
            measured: measured.into(),
            baseline: baseline.into(),
            goal: goal.into(),
            met,
        }
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT MET",
        None => "—",
    }
}

/// The rows as a fixed-width table for the terminal.
pub fn table(rows: &[Row]) -> String {
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([title.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3) = (
        width(|r| &r.what, "what"),
        width(|r| &r.measured, "measured"),
        width(|r| &r.baseline, "baseline (same run)"),
        width(|r| &r.goal, "goal"),
    );
    let pad = |text: &str, w: usize| format!("{text}{}", " ".repeat(w - text.chars().count()));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {}  {}  verdict",
        pad("what", w0),
        pad("measured", w1),
        pad("baseline (same run)", w2),
        pad("goal", w3)
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{}  {}  {}  {}  {}",
            pad(&row.what, w0),
            pad(&row.measured, w1),
            pad(&row.baseline, w2),
            pad(&row.goal, w3),
            verdict(row.met)
        );
    }
    out
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from("| what | measured | baseline (same run) | goal | verdict |\n");
    out.push_str("|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.what,
            row.measured,
            row.baseline,
            row.goal,
            verdict(row.met)
        );
    }
    out
}

/// "p50 1.2 ms, p99 3.4 ms".
pub fn p50_p99(latencies: &crate::open_loop::Latencies) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms",
        latencies.ms(0.5),
        latencies.ms(0.99)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_say_the_verdict() {
        let rows = vec![
            Row::new(
                "Classify",
                "p99 0.5 ms",
                "Health p99 0.4 ms",
                "p99 < 2 ms",
                Some(true),
            ),
            Row::new("RSS", "150 MB", "—", "≤ 120 MB", Some(false)),
        ];
        let text = table(&rows);
        assert!(text.contains("NOT MET"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1].find("p99 0.5 ms"),
            lines[2].find("150 MB"),
            "columns line up: {text}"
        );
        let md = markdown(&rows);
        assert!(
            md.contains("| RSS | 150 MB | — | ≤ 120 MB | NOT MET |"),
            "{md}"
        );
    }
}
