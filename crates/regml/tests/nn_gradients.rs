//! Finite-difference gradient checks (f64) for every layer, activation, loss and regularizer.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regml::nn::{Activation, LayerSpec, Loss, Regularizer, Sequential, Targets};

fn data(n: usize, p: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, p), |_| rng.random_range(-1.5..1.5))
}

fn targets(loss: Loss, n: usize, k: usize, seed: u64) -> Targets<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match loss {
        Loss::SoftmaxCrossEntropy => Targets::Classes {
            labels: (0..n).map(|_| rng.random_range(0..k as u32)).collect(),
            n_classes: k,
        },
        Loss::BinaryCrossEntropy => Targets::Values(Array2::from_shape_fn((n, k), |_| {
            rng.random_range(0..2) as f64
        })),
        Loss::MeanSquaredError => Targets::Values(Array2::from_shape_fn((n, k), |_| {
            rng.random_range(-1.0..1.0)
        })),
    }
}

/// Compares the analytic gradient of the training loss (data + penalties) with central
/// differences for every parameter; dropout masks are reproduced by reusing the seed.
fn check(specs: Vec<LayerSpec>, loss: Loss, k: usize, what: &str) {
    let (n, p) = (7, 5);
    let x = data(n, p, 1);
    let t = targets(loss, n, k, 2);
    let mut net = Sequential::<f64>::new(p, specs, loss, 3).unwrap();
    // move biases and batch-norm parameters away from their initial 0 / 1
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for v in net.params.iter_mut() {
        *v += rng.random_range(-0.3..0.3);
    }
    let rows: Vec<usize> = (0..n).collect();
    let mut ws = net.workspace(n);
    let mut grad = vec![0.0; net.params.len()];
    let mut g2 = vec![0.0; net.params.len()];
    let f0 = net.loss_and_grad(
        x.view(),
        &t,
        &rows,
        &mut ws,
        &mut grad,
        &mut ChaCha8Rng::seed_from_u64(9),
    );
    assert!(f0.is_finite());
    let h = 1e-6;
    let mut worst = 0.0f64;
    for i in 0..net.params.len() {
        let orig = net.params[i];
        let mut eval = |v: f64, net: &mut Sequential<f64>| {
            net.params[i] = v;
            net.loss_and_grad(
                x.view(),
                &t,
                &rows,
                &mut ws,
                &mut g2,
                &mut ChaCha8Rng::seed_from_u64(9),
            )
        };
        let fp = eval(orig + h, &mut net);
        let fm = eval(orig - h, &mut net);
        net.params[i] = orig;
        let fd = (fp - fm) / (2.0 * h);
        let err = (fd - grad[i]).abs() / (1.0 + fd.abs());
        worst = worst.max(err);
        assert!(
            err < 1e-6,
            "{what}: parameter {i}: finite difference {fd}, analytic {}",
            grad[i]
        );
    }
    assert!(worst < 1e-6, "{what}: worst relative error {worst}");
}

#[test]
fn dense_with_each_activation() {
    for act in [
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
    ] {
        check(
            vec![
                LayerSpec::dense(6, act),
                LayerSpec::dense(3, Activation::Linear),
            ],
            Loss::MeanSquaredError,
            3,
            &format!("{act:?}"),
        );
    }
}

#[test]
fn each_loss() {
    for (loss, k) in [
        (Loss::SoftmaxCrossEntropy, 4),
        (Loss::BinaryCrossEntropy, 1),
        (Loss::BinaryCrossEntropy, 3),
        (Loss::MeanSquaredError, 2),
    ] {
        check(
            vec![
                LayerSpec::dense(6, Activation::Tanh),
                LayerSpec::dense(k, Activation::Linear),
            ],
            loss,
            k,
            &format!("{loss:?}"),
        );
    }
}

#[test]
fn standalone_activation_dropout_and_batch_norm() {
    check(
        vec![
            LayerSpec::dense(8, Activation::Linear),
            LayerSpec::batch_norm(),
            LayerSpec::Activation {
                activation: Activation::Sigmoid,
            },
            LayerSpec::dropout(0.4),
            LayerSpec::dense(6, Activation::Relu),
            LayerSpec::Activation {
                activation: Activation::Tanh,
            },
            LayerSpec::dense(3, Activation::Linear),
        ],
        Loss::SoftmaxCrossEntropy,
        3,
        "batch norm + dropout stack",
    );
}

#[test]
fn regularizer_terms() {
    let l1 = Regularizer::l1(0.03).unwrap();
    let l2 = Regularizer::l2(0.05).unwrap();
    let l1l2 = Regularizer::new(0.02, 0.04).unwrap();
    for (name, k, b, a) in [
        ("kernel l1", Some(l1), None, None),
        ("kernel l2", Some(l2), None, None),
        ("kernel l1l2 + bias l2", Some(l1l2), Some(l2), None),
        ("bias l1", None, Some(l1), None),
        ("activity l1l2", None, None, Some(l1l2)),
    ] {
        check(
            vec![
                LayerSpec::dense(6, Activation::Tanh)
                    .with_kernel_regularizer(k)
                    .with_bias_regularizer(b)
                    .with_activity_regularizer(a),
                LayerSpec::dense(2, Activation::Linear).with_kernel_regularizer(k),
            ],
            Loss::MeanSquaredError,
            2,
            name,
        );
    }
}

#[test]
fn keras_penalty_values() {
    // Keras: l1*sum|w| + l2*sum w^2, no 1/2
    let r = Regularizer::new(0.1, 0.2).unwrap();
    let w = [1.0f64, -2.0, 0.5];
    let expected = 0.1 * 3.5 + 0.2 * (1.0 + 4.0 + 0.25);
    assert!((r.value(&w) - expected).abs() < 1e-15);
    let mut net = Sequential::<f64>::new(
        2,
        vec![LayerSpec::dense(1, Activation::Linear).with_kernel_regularizer(Some(r))],
        Loss::MeanSquaredError,
        0,
    )
    .unwrap();
    net.params[0] = 1.0;
    net.params[1] = -2.0;
    assert!((net.weight_penalty() - (0.1 * 3.0 + 0.2 * 5.0)).abs() < 1e-15);
}
