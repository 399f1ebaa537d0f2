//! Freezing, discriminative rates, LoRA, CORAL's gradient, the four task heads and the typed
//! errors, on tiny randomly initialised folders.

mod common;

use autograd::{GradcheckOptions, Var, gradcheck, no_grad};
use common::{bert_folder, device, gpt_folder, rnn_folder, temp, toy_examples, vectors_file};
use nn_layers::optim::{AdamConfig, Optimizer};
use nn_layers::{ModuleExt, Param};
use tensor_core::{DType, Tensor, TensorRng};
use transfer::{
    Body, Example, FinetuneConfig, GroupedAdam, Lora, LoraConfig, Mode, RunConfig, ScheduleKind, TaskKind, TaskModel,
    TransferError, coral_loss, finetune, layer_groups, run, set_frozen,
};

fn quick(epochs: usize) -> FinetuneConfig {
    FinetuneConfig { epochs, batch: 8, lr: 3e-3, patience: None, dropout: 0.0, ..FinetuneConfig::default() }
}

fn bits(p: &Param) -> Vec<u32> {
    p.value().to_vec::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()
}

#[test]
fn frozen_weights_stay_bit_identical() {
    let folder = bert_folder("freeze");
    let body = Body::load(&folder, None, &device()).unwrap();
    let model = TaskModel::new(body, TaskKind::Classify, 2, 0.0, &mut TensorRng::new(0)).unwrap();
    let frozen = set_frozen(model.body.module(), "bert.encoder.layer.0.*", true).unwrap();
    assert!(frozen > 0);
    let before: Vec<(String, Vec<u32>)> = model.parameters().iter().map(|(n, p)| (n.clone(), bits(p))).collect();
    let report =
        finetune(&model, &toy_examples(32, 1), &toy_examples(16, 2), &quick(2), &[], transfer::Adaptation::None)
            .unwrap();
    assert!(!report.cached, "part of the body trains, so nothing is cached");
    let mut changed = 0;
    for ((name, p), (_, old)) in model.parameters().iter().zip(&before) {
        if name.starts_with("bert.encoder.layer.0.") || name.starts_with("cls.") {
            assert_eq!(&bits(p), old, "{name} is frozen and must not move by one bit");
        } else if &bits(p) != old {
            changed += 1;
        }
    }
    assert!(changed > 10, "the unfrozen layers and the head trained ({changed} changed)");
}

#[test]
fn feature_extraction_caches_and_trains_only_the_head() {
    let folder = bert_folder("features");
    let config = RunConfig {
        mode: Mode::Features,
        task: TaskKind::Classify,
        finetune: FinetuneConfig { epochs: 30, schedule: ScheduleKind::Constant, lr: 1e-2, ..quick(30) },
        freeze: Vec::new(),
        lora: LoraConfig { rank: 2, alpha: 4.0, targets: Vec::new(), seed: 0 },
        adapt_weight: 0.1,
        continue_steps: 0,
        conv: None,
        seed: 3,
        out: None,
    };
    let train = toy_examples(64, 3);
    let outcome = run(&folder, &train, &toy_examples(32, 4), &toy_examples(64, 5), &[], &config, &device()).unwrap();
    assert!(outcome.report.cached, "a frozen body's features are computed once");
    assert_eq!(outcome.trainable, 2 * 32 + 2, "only the head trains: [2, 2·16] and its bias");
    assert!(outcome.report.history.len() > 1);
    // The head trained on standardised cached features; the scaling folded into it gives the
    // same predictions on live features.
    let body = Body::load(&folder, None, &device()).unwrap();
    let model = TaskModel::new(body, TaskKind::Classify, 2, 0.0, &mut TensorRng::new(0)).unwrap();
    set_frozen(model.body.module(), "*", true).unwrap();
    let dev = toy_examples(32, 4);
    let report = finetune(&model, &train, &dev, &config.finetune, &[], transfer::Adaptation::None).unwrap();
    assert!(report.cached);
    let live = model.evaluate(&dev, 8).unwrap();
    assert!((live - report.best_dev).abs() < 1e-9, "live {live} vs cached {}", report.best_dev);
}

#[test]
fn discriminative_rates_reach_each_group() {
    let folder = bert_folder("groups");
    let body = Body::load(&folder, None, &device()).unwrap();
    let model = TaskModel::new(body, TaskKind::Classify, 2, 0.0, &mut TensorRng::new(0)).unwrap();
    let groups = layer_groups(model.parameters());
    // embeddings (with the frozen MLM head), two layers, the pooler, the head
    assert_eq!(groups.len(), 5, "{:?}", groups.iter().map(|g| g[0].0.clone()).collect::<Vec<_>>());
    assert!(groups[0].iter().any(|(n, _)| n.starts_with("bert.embeddings.")));
    assert!(groups[4].iter().all(|(n, _)| n.starts_with("head.")));
    let mut opt = GroupedAdam::new(groups.clone(), AdamConfig { weight_decay: 0.0, ..AdamConfig::adam(0.1) }, 0.5);
    opt.set_lr(0.08);
    let lrs = opt.group_lrs();
    for (g, lr) in lrs.iter().enumerate() {
        assert!((lr - 0.08 * 0.5f64.powi(4 - g as i32)).abs() < 1e-12, "group {g}: {lrs:?}");
    }
    // One step with a gradient of ones: Adam's first step moves every weight by its group's rate.
    let picks: Vec<(usize, Param, Vec<f32>)> = groups
        .iter()
        .enumerate()
        .filter_map(|(g, group)| group.iter().find(|(_, p)| !p.is_frozen()).map(|(_, p)| (g, p.clone())))
        .map(|(g, p)| (g, p.clone(), p.value().to_vec::<f32>().unwrap()))
        .collect();
    for (_, p, _) in &picks {
        p.leaf().set_grad(Some(Tensor::ones(p.value().shape().clone(), DType::F32, &device()).unwrap()));
    }
    opt.step().unwrap();
    for (g, p, before) in picks {
        let after = p.value().to_vec::<f32>().unwrap();
        let moved = before[0] - after[0];
        assert!((moved as f64 - lrs[g]).abs() < 1e-4 * lrs[g].max(1e-3), "group {g} moved {moved}, rate {}", lrs[g]);
    }
}

#[test]
fn lora_merged_equals_unmerged_and_saves_alone() {
    for (name, folder, adapted) in [
        ("bert", bert_folder("lora-bert"), 4),
        ("gpt", gpt_folder("lora-gpt"), 2),
        ("lstm", rnn_folder("lora-lstm"), 2),
    ] {
        let body = Body::load(&folder, None, &device()).unwrap();
        let targets = transfer::default_lora_targets(body.kind());
        let config = LoraConfig { rank: 2, alpha: 4.0, targets, seed: 1 };
        let lora = Lora::attach(body.module(), &config).unwrap();
        assert_eq!(lora.targets().len(), adapted, "{name}: {:?}", lora.targets());
        assert!(body.module().parameters().iter().all(|(_, p)| p.is_frozen()), "{name}: the base is frozen");
        // B starts at zero; give it values so the adapters change the function.
        let mut rng = TensorRng::new(9);
        for (n, p) in lora.parameters() {
            if n.ends_with("lora_B") {
                p.set_value(rng.normal(p.value().shape().clone(), 0.0, 0.5, DType::F32, &device()).unwrap()).unwrap();
            }
        }
        let sentences: Vec<Vec<String>> = toy_examples(6, 3).into_iter().map(|e| e.words).collect();
        let pooled = |b: &Body| no_grad(|| b.pool(&sentences, None)).unwrap().value().to_vec::<f32>().unwrap();
        let base: Vec<f32> = {
            let fresh = Body::load(&folder, None, &device()).unwrap();
            pooled(&fresh)
        };
        let unmerged = pooled(&body);
        assert!(unmerged.iter().zip(&base).any(|(a, b)| (a - b).abs() > 1e-3), "{name}: adapters change the output");
        let path = temp(&format!("lora-save-{name}")).join("adapters.safetensors");
        lora.save(&path).unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert!(bytes < 4096, "{name}: adapters alone are small ({bytes} bytes)");
        lora.merge().unwrap();
        let merged = pooled(&body);
        for (a, b) in merged.iter().zip(&unmerged) {
            assert!((a - b).abs() < 1e-5, "{name}: merged {a} vs unmerged {b}");
        }
        // The saved adapters reload onto a fresh body and give the unmerged function again.
        let fresh = Body::load(&folder, None, &device()).unwrap();
        let again = Lora::attach(fresh.module(), &config).unwrap();
        again.load(&path).unwrap();
        for (a, b) in pooled(&fresh).iter().zip(&unmerged) {
            assert!((a - b).abs() < 1e-5, "{name}: reloaded adapters");
        }
    }
}

#[test]
fn lora_trains_only_adapters_and_head() {
    for folder in [bert_folder("lora-train-bert"), gpt_folder("lora-train-gpt"), rnn_folder("lora-train-lstm")] {
        let body = Body::load(&folder, None, &device()).unwrap();
        let kind = body.kind();
        let config = LoraConfig { rank: 2, alpha: 4.0, targets: transfer::default_lora_targets(kind), seed: 1 };
        let lora = Lora::attach(body.module(), &config).unwrap();
        let model = TaskModel::new(body, TaskKind::Classify, 2, 0.0, &mut TensorRng::new(0)).unwrap();
        let base: Vec<Vec<u32>> = model.body.module().parameters().iter().map(|(_, p)| bits(p)).collect();
        let adapters = lora.parameters();
        let b_before: Vec<Vec<u32>> = adapters.iter().map(|(_, p)| bits(p)).collect();
        let report =
            finetune(&model, &toy_examples(16, 1), &[], &quick(2), &adapters, transfer::Adaptation::None).unwrap();
        assert!(!report.cached);
        assert_eq!(report.trainable, lora.num_weights() + model.head.weight.value().numel() + 2, "{kind:?}");
        for ((_, p), old) in model.body.module().parameters().iter().zip(&base) {
            assert_eq!(&bits(p), old, "{kind:?}: the base stays frozen");
        }
        for ((name, p), old) in adapters.iter().zip(&b_before) {
            assert_ne!(&bits(p), old, "{kind:?}: {name} trained");
        }
    }
}

#[test]
fn coral_gradient_check() {
    let mut rng = TensorRng::new(4);
    let inputs = vec![
        rng.normal([5, 3], 0.0, 1.0, DType::F64, &device()).unwrap(),
        rng.normal([4, 3], 0.5, 2.0, DType::F64, &device()).unwrap(),
    ];
    let f = |v: &[Var]| coral_loss(&v[0], &v[1]).map_err(|e| tensor_core::TensorError::invalid("coral", e.to_string()));
    gradcheck(f, &inputs, GradcheckOptions::default()).unwrap();
    // Zero for a shifted copy (covariance ignores the mean).
    let a = Var::constant(inputs[0].clone());
    let shifted = a.affine(1.0, 3.0).unwrap();
    assert!(coral_loss(&a, &shifted).unwrap().value().to_scalar().unwrap().abs() < 1e-12);
}

#[test]
fn every_task_head_learns_on_toy_data() {
    let folder = gpt_folder("heads");
    let body = || Body::load(&folder, None, &device()).unwrap();
    let classify = toy_examples(48, 11);
    // Regression: +1 / -1 by sentiment.
    let regress: Vec<Example> = classify
        .iter()
        .map(|e| Example {
            target: transfer::Target::Value(if e.target == transfer::Target::Class(1) { 1.0 } else { -1.0 }),
            ..e.clone()
        })
        .collect();
    // Tagging: 1 on the sentiment word, 0 elsewhere.
    let tag: Vec<Example> = classify
        .iter()
        .map(|e| {
            let tags = e
                .words
                .iter()
                .map(|w| i64::from(!["the", "film", "was", "a", "story", "plot"].contains(&w.as_str())))
                .collect();
            Example::tagged(e.words.clone(), tags)
        })
        .collect();
    // Pairs: same sentiment or not.
    let pair: Vec<Example> = (0..classify.len())
        .map(|i| {
            let (a, b) = (&classify[i], &classify[(i * 3 + i / 2) % classify.len()]);
            Example {
                second: Some(b.words.clone()),
                target: transfer::Target::Class(i64::from(a.target == b.target)),
                ..a.clone()
            }
        })
        .collect();
    for (task, examples) in
        [(TaskKind::Classify, classify), (TaskKind::Regress, regress), (TaskKind::Tag, tag), (TaskKind::Pair, pair)]
    {
        let outputs = transfer::classes_of(task, &examples).unwrap();
        let model = TaskModel::new(body(), task, outputs, 0.0, &mut TensorRng::new(1)).unwrap();
        let before = model.evaluate(&examples, 16).unwrap();
        let report = finetune(&model, &examples, &examples, &quick(8), &[], transfer::Adaptation::None).unwrap();
        let after = model.evaluate(&examples, 16).unwrap();
        assert!(after > before, "{task:?}: {before} -> {after} ({:?})", report.history);
        assert!(report.history.iter().all(|r| r.train_loss.is_finite()));
    }
}

#[test]
fn typed_errors_say_what_was_expected() {
    let folder = bert_folder("errors");
    let vectors = vectors_file("errors-vectors");
    let base = RunConfig {
        mode: Mode::Lora,
        task: TaskKind::Classify,
        finetune: quick(1),
        freeze: Vec::new(),
        lora: LoraConfig { rank: 2, alpha: 4.0, targets: Vec::new(), seed: 0 },
        adapt_weight: 0.1,
        continue_steps: 1,
        conv: None,
        seed: 0,
        out: None,
    };
    let train = toy_examples(8, 1);
    // A word2vec file cannot take LoRA adapters.
    let err = run(&vectors, &train, &[], &train, &[], &base, &device()).unwrap_err();
    assert!(matches!(err, TransferError::WrongKind { .. }), "{err}");
    assert!(err.to_string().contains("LoRA adapts weight matrices"), "{err}");
    // A folder that is neither BERT, GPT nor a recurrent LM.
    let odd = temp("errors-odd");
    std::fs::write(odd.join("config.json"), r#"{"architecture": "mlp"}"#).unwrap();
    let err = Body::load(&odd, None, &device()).err().unwrap();
    assert!(err.to_string().contains("`bert`, `gpt` or `rnn-lm`"), "{err}");
    // One class.
    let one: Vec<Example> = (0..5).map(|_| Example::class("good film", 1)).collect();
    let err =
        run(&folder, &one, &[], &one, &[], &RunConfig { mode: Mode::Finetune, ..base.clone() }, &device()).unwrap_err();
    assert!(matches!(err, TransferError::OneClass { class: 1, examples: 5 }), "{err}");
    // A freeze pattern that matches nothing names real parameters.
    let config = RunConfig { mode: Mode::Finetune, freeze: vec!["encoder.*".into()], ..base.clone() };
    let err = run(&folder, &train, &[], &train, &[], &config, &device()).unwrap_err();
    assert!(matches!(err, TransferError::NoMatch { .. }), "{err}");
    assert!(err.to_string().contains("bert.embeddings"), "{err}");
    // A LoRA target that matches nothing.
    let config =
        RunConfig { lora: LoraConfig { targets: vec!["*query_proj*".into()], ..base.lora.clone() }, ..base.clone() };
    let err = run(&folder, &train, &[], &train, &[], &config, &device()).unwrap_err();
    assert!(err.to_string().contains("matches no weight matrix"), "{err}");
    // DANN without target text.
    let err = run(&folder, &train, &[], &train, &[], &RunConfig { mode: Mode::Dann, ..base }, &device()).unwrap_err();
    assert!(err.to_string().contains("target-domain"), "{err}");
}

#[test]
fn dann_and_coral_train_with_target_text() {
    let folder = bert_folder("adapt");
    let target: Vec<Example> = toy_examples(16, 21);
    for mode in [Mode::Dann, Mode::Coral, Mode::Continue] {
        let config = RunConfig {
            mode,
            task: TaskKind::Classify,
            finetune: quick(2),
            freeze: Vec::new(),
            lora: LoraConfig { rank: 2, alpha: 4.0, targets: Vec::new(), seed: 0 },
            adapt_weight: 0.5,
            continue_steps: 3,
            conv: None,
            seed: 0,
            out: Some(temp(&format!("adapt-{}", mode.name()))),
        };
        let outcome =
            run(&folder, &toy_examples(16, 1), &toy_examples(8, 2), &toy_examples(8, 3), &target, &config, &device())
                .unwrap();
        assert!(outcome.report.history.iter().all(|r| r.train_loss.is_finite()), "{mode:?}");
    }
}
