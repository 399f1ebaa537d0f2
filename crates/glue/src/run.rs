//! Running a model over tasks: load, train, score dev and test, time it, and build the run
//! record.

use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::data::{Example, Target, TaskData, load_task};
use crate::error::Result;
use crate::metrics::{Metric, confusion, task_score as mean_of};
use crate::models::{Context, Model, Outputs};
use crate::record::{RunRecord, TaskResult};
use crate::spec::{TaskKind, TaskSpec};

/// Each metric of `task`'s spec for `outputs` on `split`.
pub fn evaluate(task: &TaskData, split: &[Example], outputs: &Outputs) -> Vec<(Metric, f64)> {
    let classes = task.classes.len();
    let (gold_c, pred_c, gold_s, pred_s) = flatten(split, outputs);
    task.spec
        .metrics
        .iter()
        .map(|&m| {
            let value =
                if m.is_regression() { m.of_scores(&gold_s, &pred_s) } else { m.of_classes(&gold_c, &pred_c, classes) };
            (m, value)
        })
        .collect()
}

/// The task's score (mean of its metrics) for `outputs` on `split`.
pub fn task_score(task: &TaskData, split: &[Example], outputs: &Outputs) -> f64 {
    mean_of(&evaluate(task, split, outputs).iter().map(|(_, v)| *v).collect::<Vec<_>>())
}

/// Gold and predicted classes (tags flattened over tokens) and scores.
fn flatten(split: &[Example], outputs: &Outputs) -> (Vec<usize>, Vec<usize>, Vec<f64>, Vec<f64>) {
    let (mut gc, mut pc, mut gs, mut ps) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    match outputs {
        Outputs::Classes(p) => {
            for (e, &c) in split.iter().zip(p) {
                if let Target::Class(g) = e.target {
                    gc.push(g);
                    pc.push(c);
                }
            }
        }
        Outputs::Scores(p) => {
            for (e, &s) in split.iter().zip(p) {
                if let Target::Score(g) = e.target {
                    gs.push(g);
                    ps.push(s);
                }
            }
        }
        Outputs::Tags(p) => {
            for (e, tags) in split.iter().zip(p) {
                if let Target::Tags(g) = &e.target {
                    for (i, &gold) in g.iter().enumerate() {
                        gc.push(gold);
                        pc.push(tags.get(i).copied().unwrap_or(usize::MAX));
                    }
                }
            }
        }
    }
    (gc, pc, gs, ps)
}

/// Trains and scores `model` on one loaded task.
pub fn run_task(model: &dyn Model, task: &TaskData, ctx: &Context) -> Result<TaskResult> {
    let started = Instant::now();
    let fitted = model.fit(task, ctx)?;
    let seconds = started.elapsed().as_secs_f64();
    let test = evaluate(task, &task.test, &fitted.test);
    let dev = evaluate(task, &task.dev, &fitted.dev);
    let matrix = match (&fitted.test, task.spec.kind) {
        (Outputs::Classes(_), TaskKind::Single | TaskKind::Pair) => {
            let (g, p, _, _) = flatten(&task.test, &fitted.test);
            Some(confusion(&g, &p, task.classes.len()))
        }
        _ => None,
    };
    Ok(TaskResult {
        task: task.spec.name.clone(),
        metrics: test.iter().map(|(m, v)| (m.name().to_string(), *v)).collect(),
        dev_metrics: dev.iter().map(|(m, v)| (m.name().to_string(), *v)).collect(),
        score: mean_of(&test.iter().map(|(_, v)| *v).collect::<Vec<_>>()),
        seconds,
        examples_per_second: fitted.examples_seen as f64 / seconds.max(1e-9),
        counts: [task.train.len(), task.dev.len(), task.test.len()],
        classes: task.classes.iter().take(64).cloned().collect(),
        confusion: matrix,
        config: fitted.config,
    })
}

/// Runs `model` on every task of `specs` (data under `root`) and returns the record; `each`
/// sees each task's result as it finishes. Tasks the model does not support are skipped.
pub fn run_model(
    model: &dyn Model,
    specs: &[TaskSpec],
    root: &Path,
    ctx: &Context,
    device_name: &str,
    mut each: impl FnMut(&TaskResult),
) -> Result<RunRecord> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for spec in specs.iter().filter(|s| model.supports(s.kind)) {
        let task = load_task(spec, root)?;
        let result = run_task(model, &task, ctx)?;
        each(&result);
        tasks.push(result);
    }
    Ok(RunRecord {
        model: model.name().to_string(),
        seed: ctx.seed,
        device: device_name.to_string(),
        quick: ctx.quick,
        wall_seconds: started.elapsed().as_secs_f64(),
        tasks,
        extra: Value::Null,
    })
}
