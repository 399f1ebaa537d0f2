//! `Var::backward_with_hook`: each parameter is reported once, after its last use, with its
//! final gradient, the last layer's parameters before the first's.

use autograd::Var;
use tensor_core::Tensor;

#[test]
fn leaves_are_reported_once_with_final_gradients_last_layer_first() {
    let device = backend_cpu::CpuDevice::shared();
    let x = Var::constant(Tensor::from_vec(vec![0.5f64, -1.0, 2.0, 0.25, 1.5, -0.75], [2, 3], &device).unwrap());
    let w1 =
        Var::parameter(Tensor::from_vec((0..12).map(|i| 0.1 * i as f64 - 0.5).collect(), [3, 4], &device).unwrap());
    let b1 = Var::parameter(Tensor::from_vec(vec![0.1f64, -0.2, 0.3, 0.0], [4], &device).unwrap());
    let w2 =
        Var::parameter(Tensor::from_vec((0..8).map(|i| 0.2 - 0.05 * i as f64).collect(), [4, 2], &device).unwrap());
    // With the penalty w2 is used twice (a product and a penalty), so it is ready only after
    // both.
    let loss = |penalty: bool| {
        let h = x.matmul(&w1).unwrap().add(&b1).unwrap().tanh().unwrap();
        let out = h.matmul(&w2).unwrap().square().unwrap().sum_all().unwrap();
        if penalty { out.add(&w2.square().unwrap().sum_all().unwrap()).unwrap() } else { out }
    };
    loss(true).backward().unwrap();
    let expected: Vec<Vec<f64>> = [&w1, &b1, &w2].iter().map(|p| p.grad().unwrap().to_vec().unwrap()).collect();
    for p in [&w1, &b1, &w2] {
        p.zero_grad();
    }
    let mut seen: Vec<(usize, Vec<f64>)> = Vec::new();
    loss(true)
        .backward_with_hook(&mut |leaf| {
            seen.push((leaf.id(), leaf.grad().unwrap().to_vec().unwrap()));
            Ok(())
        })
        .unwrap();
    let ids = [w1.id(), b1.id(), w2.id()];
    assert_eq!(seen.len(), 3, "each parameter exactly once");
    for (id, grad) in &seen {
        let at = ids.iter().position(|i| i == id).unwrap();
        assert_eq!(grad, &expected[at], "the gradient passed is the final one");
    }
    let mut order = Vec::new();
    loss(false)
        .backward_with_hook(&mut |leaf| {
            order.push(leaf.id());
            Ok(())
        })
        .unwrap();
    assert_eq!(order.len(), 3);
    assert_eq!(order[0], w2.id(), "the last layer's weight comes first");
}

#[test]
fn an_error_from_the_hook_stops_backward() {
    let device = backend_cpu::CpuDevice::shared();
    let w = Var::parameter(Tensor::from_vec(vec![1.0f32, 2.0], [2], &device).unwrap());
    let loss = w.square().unwrap().sum_all().unwrap();
    let error =
        loss.backward_with_hook(&mut |_| Err(tensor_core::TensorError::invalid("hook", "refused"))).unwrap_err();
    assert!(error.to_string().contains("refused"), "{error}");
}
