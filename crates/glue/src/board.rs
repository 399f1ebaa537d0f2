//! The leaderboard: one row per (model, device) over its seeds (mean ± standard deviation),
//! one column per task, the suite score first; as Markdown, and as a self-contained HTML page
//! whose columns sort on a click, with a per-task detail section (every metric, and the first
//! seed's test confusion matrix).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::metrics::suite_score;
use crate::record::{RunRecord, TaskResult};

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// One leaderboard row: a model on a device over its runs.
#[derive(Clone, Debug)]
pub struct Row {
    /// Model name.
    pub model: String,
    /// Device (first word of the record's device).
    pub device: String,
    /// The runs (one per seed).
    pub runs: Vec<RunRecord>,
}

impl Row {
    /// The task's results over this row's runs.
    pub fn results(&self, task: &str) -> Vec<&TaskResult> {
        self.runs.iter().filter_map(|r| r.tasks.iter().find(|t| t.task == task)).collect()
    }

    /// Mean ± sd of the task score (percent), if any run has the task.
    pub fn task(&self, task: &str) -> Option<(f64, f64)> {
        let scores: Vec<f64> = self.results(task).iter().map(|t| 100.0 * t.score).collect();
        (!scores.is_empty()).then(|| mean_std(&scores))
    }

    /// Mean ± sd over runs of the suite score on `tasks` (the board passes the tasks every row
    /// has run, so rows are ranked on the same tasks; a task a run lacks would count 0).
    pub fn suite(&self, tasks: &[String]) -> (f64, f64) {
        let per_run: Vec<f64> = self
            .runs
            .iter()
            .map(|r| {
                let scores: Vec<f64> =
                    tasks.iter().map(|t| r.tasks.iter().find(|x| x.task == *t).map_or(0.0, |x| x.score)).collect();
                100.0 * suite_score(&scores)
            })
            .collect();
        mean_std(&per_run)
    }

    /// Seeds of the runs.
    pub fn seeds(&self) -> Vec<u64> {
        self.runs.iter().map(|r| r.seed).collect()
    }
}

/// The leaderboard of a set of records: its rows (best suite score first) and task columns.
pub struct Board {
    /// Rows, best first.
    pub rows: Vec<Row>,
    /// Task columns, in the order first seen.
    pub tasks: Vec<String>,
    /// The tasks every row has run: the suite score averages these.
    pub common: Vec<String>,
}

impl Board {
    /// Groups records into rows (quick runs are left out unless every record is quick).
    pub fn new(records: Vec<RunRecord>) -> Board {
        let all_quick = records.iter().all(|r| r.quick);
        let records: Vec<RunRecord> = records.into_iter().filter(|r| all_quick || !r.quick).collect();
        let mut tasks: Vec<String> = Vec::new();
        for t in records.iter().flat_map(|r| &r.tasks) {
            if !tasks.contains(&t.task) {
                tasks.push(t.task.clone());
            }
        }
        let keys: BTreeSet<(String, String)> =
            records.iter().map(|r| (r.model.clone(), device_key(&r.device))).collect();
        let mut rows: Vec<Row> = keys
            .into_iter()
            .map(|(model, device)| Row {
                runs: records.iter().filter(|r| r.model == model && device_key(&r.device) == device).cloned().collect(),
                model,
                device,
            })
            .collect();
        let common: Vec<String> = tasks.iter().filter(|t| rows.iter().all(|r| r.task(t).is_some())).cloned().collect();
        rows.sort_by(|a, b| b.suite(&common).0.total_cmp(&a.suite(&common).0));
        Board { rows, tasks, common }
    }

    /// The Markdown table and per-task details.
    pub fn markdown(&self) -> String {
        let mut out = String::from("| model | device | seeds | score |");
        for t in &self.tasks {
            let _ = write!(out, " {t} |");
        }
        out.push_str("\n|---|---|---|---:|");
        out.push_str(&"---:|".repeat(self.tasks.len()));
        out.push('\n');
        for row in &self.rows {
            let (m, s) = row.suite(&self.common);
            let _ = write!(out, "| {} | {} | {} | {} |", row.model, row.device, row.runs.len(), cell(m, s));
            for t in &self.tasks {
                let _ = write!(out, " {} |", row.task(t).map_or("—".to_string(), |(m, s)| cell(m, s)));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "\nScores are percentages: mean ± standard deviation over seeds of the test score (a task's metrics \
             averaged); `score` is GLUE's unweighted mean over the {} tasks every row has run ({}); — marks a task \
             the model does not handle.",
            self.common.len(),
            self.common.join(", ")
        );
        out
    }

    /// A self-contained HTML page: the sortable table and the per-task details.
    pub fn html(&self) -> String {
        let common = esc(&self.common.join(", "));
        let mut table =
            String::from("<table id=\"board\"><thead><tr><th>model</th><th>device</th><th>seeds</th><th>score</th>");
        for t in &self.tasks {
            let _ = write!(table, "<th>{}</th>", esc(t));
        }
        table.push_str("</tr></thead><tbody>\n");
        for row in &self.rows {
            let (m, s) = row.suite(&self.common);
            let _ = write!(
                table,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{m:.4}\"><b>{}</b></td>",
                esc(&row.model),
                esc(&row.device),
                row.runs.len(),
                cell(m, s)
            );
            for t in &self.tasks {
                match row.task(t) {
                    Some((m, s)) => {
                        let _ = write!(table, "<td data-v=\"{m:.4}\">{}</td>", cell(m, s));
                    }
                    None => table.push_str("<td data-v=\"-1\">—</td>"),
                }
            }
            table.push_str("</tr>\n");
        }
        table.push_str("</tbody></table>\n");
        let mut details = String::new();
        for t in &self.tasks {
            let _ = write!(
                details,
                "<h2 id=\"{0}\">{0}</h2>\n<table><tr><th>model</th><th>device</th><th>metrics (test, mean over seeds)</th><th>s / run</th></tr>\n",
                esc(t)
            );
            for row in &self.rows {
                let results = row.results(t);
                if results.is_empty() {
                    continue;
                }
                let names: Vec<String> = results[0].metrics.iter().map(|(k, _)| k.clone()).collect();
                let metrics: Vec<String> = names
                    .iter()
                    .map(|k| {
                        let vals: Vec<f64> = results
                            .iter()
                            .filter_map(|r| r.metrics.iter().find(|(n, _)| n == k).map(|(_, v)| 100.0 * v))
                            .collect();
                        let (m, s) = mean_std(&vals);
                        format!("{k} {}", cell(m, s))
                    })
                    .collect();
                let secs = mean_std(&results.iter().map(|r| r.seconds).collect::<Vec<_>>()).0;
                let _ = writeln!(
                    details,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{secs:.1}</td></tr>",
                    esc(&row.model),
                    esc(&row.device),
                    metrics.join(", ")
                );
            }
            details.push_str("</table>\n");
            for row in &self.rows {
                if let Some(r) = row.results(t).first()
                    && let Some(m) = &r.confusion
                {
                    let _ = write!(
                        details,
                        "<details><summary>{} ({}) confusion, seed {}: rows gold, columns predicted</summary>",
                        esc(&row.model),
                        esc(&row.device),
                        row.seeds()[0]
                    );
                    details.push_str(&confusion_html(m, &r.classes));
                    details.push_str("</details>\n");
                }
            }
        }
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Tessera GLUE-style leaderboard</title>\n<style>\n\
             body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; margin: 1em 0; }}\n\
             th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }} td:first-child, td:nth-child(2) {{ text-align: left; }}\n\
             #board th {{ cursor: pointer; background: #eef; }} .cm td {{ min-width: 2.5em; }}\n</style></head><body>\n\
             <h1>Tessera GLUE-style leaderboard</h1>\n<p>Test scores in percent, mean ± standard deviation over seeds; \
             <b>score</b> is the unweighted mean over the tasks every row has run ({common}). Click a column to sort.</p>\n{table}{details}\n<script>\n\
             document.querySelectorAll('#board th').forEach((th, col) => th.addEventListener('click', () => {{\n\
             const body = document.querySelector('#board tbody'); const rows = Array.from(body.rows);\n\
             const key = r => {{ const c = r.cells[col]; return c.dataset.v !== undefined ? parseFloat(c.dataset.v) : c.textContent; }};\n\
             const dir = th.dataset.dir === 'desc' ? 1 : -1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';\n\
             rows.sort((a, b) => {{ const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * dir; }});\n\
             rows.forEach(r => body.appendChild(r)); }}));\n</script>\n</body></html>\n"
        )
    }
}

fn device_key(device: &str) -> String {
    device.split_whitespace().next().unwrap_or("cpu").to_string()
}

/// `mean ± sd` to one decimal (the spread left out when it rounds to 0; `-0.0` shown as `0.0`).
fn cell(mean: f64, sd: f64) -> String {
    let mean = if mean.abs() < 0.05 { 0.0 } else { mean };
    if sd >= 0.05 { format!("{mean:.1} ± {sd:.1}") } else { format!("{mean:.1}") }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn confusion_html(m: &[Vec<u64>], classes: &[String]) -> String {
    let mut out = String::from("<table class=\"cm\"><tr><th></th>");
    for c in classes.iter().take(m.len()) {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr>");
    for (i, row) in m.iter().enumerate() {
        let _ = write!(out, "<tr><th>{}</th>", esc(classes.get(i).map_or("?", String::as_str)));
        let total: u64 = row.iter().sum::<u64>().max(1);
        for (j, &n) in row.iter().enumerate() {
            let shade = 255 - (155 * n / total) as u8;
            let color = if i == j { format!("rgb({shade},255,{shade})") } else { format!("rgb(255,{shade},{shade})") };
            let _ = write!(out, "<td style=\"background:{color}\">{n}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}
