//! Softmax (multinomial logistic) regression fitted by full-batch Adam on the mean weighted
//! cross-entropy plus an L2 penalty `|W|² / (2 C n)` (scikit-learn's `C`; biases unpenalised).
//! Full batches and a fixed number of steps make training deterministic.

use super::{Head, Hyper, softmax};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

fn round4(w: f64) -> f32 {
    ((w * 1e4).round() / 1e4) as f32
}

/// Per-call weights: 1, or `n / (k × n_class)` when `balanced`.
fn call_weights(y: &[usize], k: usize, balanced: bool) -> Vec<f64> {
    if !balanced {
        return vec![1.0; y.len()];
    }
    let mut counts = vec![0_usize; k];
    for &c in y {
        counts[c] += 1;
    }
    let present = counts.iter().filter(|n| **n > 0).count().max(1);
    y.iter()
        .map(|&c| y.len() as f64 / (present as f64 * counts[c] as f64))
        .collect()
}

/// Trains one softmax head on sparse rows `x` with labels `y` (indices of `classes`).
pub fn train_head(
    classes: &[String],
    x: &[Vec<(u32, f32)>],
    y: &[usize],
    n_features: usize,
    hyper: &Hyper,
) -> Head {
    let k = classes.len();
    let n = x.len().max(1) as f64;
    let lambda = 1.0 / (hyper.c * n);
    let weights = call_weights(y, k, hyper.balanced);
    let dims = n_features * k;
    let mut w = vec![0.0_f64; dims];
    let mut b = vec![0.0_f64; k];
    let (mut mw, mut vw) = (vec![0.0_f64; dims], vec![0.0_f64; dims]);
    let (mut mb, mut vb) = (vec![0.0_f64; k], vec![0.0_f64; k]);
    let mut gw = vec![0.0_f64; dims];
    let mut gb = vec![0.0_f64; k];
    let mut logits = vec![0.0_f64; k];
    for step in 1..=hyper.iterations {
        gw.iter_mut().zip(&w).for_each(|(g, wv)| *g = lambda * wv);
        gb.iter_mut().for_each(|g| *g = 0.0);
        for (i, row) in x.iter().enumerate() {
            logits.copy_from_slice(&b);
            for &(f, v) in row {
                let ws = &w[f as usize * k..(f as usize + 1) * k];
                for (l, wv) in logits.iter_mut().zip(ws) {
                    *l += wv * f64::from(v);
                }
            }
            let p = softmax(&logits);
            for c in 0..k {
                let g = weights[i] * (p[c] - if y[i] == c { 1.0 } else { 0.0 }) / n;
                gb[c] += g;
                for &(f, v) in row {
                    gw[f as usize * k + c] += g * f64::from(v);
                }
            }
        }
        let t = step as i32;
        let lr = hyper.learning_rate * (1.0 - BETA2.powi(t)).sqrt() / (1.0 - BETA1.powi(t));
        adam(&mut w, &gw, &mut mw, &mut vw, lr);
        adam(&mut b, &gb, &mut mb, &mut vb, lr);
    }
    Head {
        classes: classes.to_vec(),
        bias: b.into_iter().map(round4).collect(),
        weights: w.into_iter().map(round4).collect(),
    }
}

fn adam(w: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64], lr: f64) {
    for j in 0..w.len() {
        m[j] = BETA1 * m[j] + (1.0 - BETA1) * g[j];
        v[j] = BETA2 * v[j] + (1.0 - BETA2) * g[j] * g[j];
        w[j] -= lr * m[j] / (v[j].sqrt() + EPSILON);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_classes_are_learned() {
        let classes = vec!["a".to_owned(), "b".to_owned()];
        let x = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(0, 1.0)],
            vec![(1, 1.0)],
        ];
        let y = vec![0, 1, 0, 1];
        let hyper = Hyper {
            algorithm: "softmax_regression_adam".into(),
            c: 100.0,
            iterations: 200,
            learning_rate: 0.1,
            balanced: true,
        };
        let head = train_head(&classes, &x, &y, 2, &hyper);
        let p = super::super::predict(&head, &[(0, 1.0)]);
        assert!(p.of("a") > 0.9, "{p:?}");
        let p = super::super::predict(&head, &[(1, 1.0)]);
        assert!(p.of("b") > 0.9, "{p:?}");
    }
}
