use super::*;

#[test]
fn softmax_sums_to_one() {
    let p = softmax(&[1.0, 2.0, 3.0]);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(p[2] > p[1] && p[1] > p[0]);
}
