//! Nonlinear least squares for the calibration fits, through the `levenberg-marquardt` crate:
//! a problem is a parameter vector and a residual function; the Jacobian is taken by central
//! differences (the fits are small: tens to a few hundred parameters).

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt, TerminationReason};
use nalgebra::{DMatrix, DVector, Dyn, Owned};

/// A residual function of a parameter vector.
pub struct Problem<F: Fn(&DVector<f64>) -> DVector<f64>> {
    params: DVector<f64>,
    /// Central-difference step per parameter.
    steps: DVector<f64>,
    residuals: F,
}

impl<F: Fn(&DVector<f64>) -> DVector<f64>> LeastSquaresProblem<f64, Dyn, Dyn> for Problem<F> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.params.copy_from(x);
    }

    fn params(&self) -> DVector<f64> {
        self.params.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let r = (self.residuals)(&self.params);
        r.iter().all(|v| v.is_finite()).then_some(r)
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let m = (self.residuals)(&self.params).len();
        let n = self.params.len();
        let mut j = DMatrix::zeros(m, n);
        let mut x = self.params.clone();
        for k in 0..n {
            let h = self.steps[k];
            let x0 = x[k];
            x[k] = x0 + h;
            let plus = (self.residuals)(&x);
            x[k] = x0 - h;
            let minus = (self.residuals)(&x);
            x[k] = x0;
            if plus.len() != m || minus.len() != m {
                return None;
            }
            let col = (plus - minus) / (2.0 * h);
            if col.iter().any(|v| !v.is_finite()) {
                return None;
            }
            j.set_column(k, &col);
        }
        Some(j)
    }
}

/// Result of a fit.
#[derive(Debug, Clone)]
pub struct Fit {
    pub params: DVector<f64>,
    pub residuals: DVector<f64>,
    /// The solver ended on a convergence criterion (not on a failure or the evaluation cap).
    pub converged: bool,
    pub evaluations: usize,
}

/// Minimises the sum of squared `residuals` from `start`; `steps` are the finite-difference
/// steps of each parameter (about a thousandth of its expected scale).
pub fn minimize<F: Fn(&DVector<f64>) -> DVector<f64>>(
    start: DVector<f64>,
    steps: DVector<f64>,
    residuals: F,
) -> Fit {
    let problem = Problem {
        params: start,
        steps,
        residuals,
    };
    let (p, report) = LevenbergMarquardt::new()
        .with_patience(200)
        .minimize(problem);
    let converged = matches!(
        report.termination,
        TerminationReason::Converged { .. } | TerminationReason::ResidualsZero
    );
    let residuals = (p.residuals)(&p.params);
    Fit {
        params: p.params,
        residuals,
        converged,
        evaluations: report.number_of_evaluations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_curve_through_noisy_free_points() {
        // y = a * exp(b x): recover a = 2, b = -0.3.
        let xs: Vec<f64> = (0..20).map(|i| i as f64 * 0.5).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 2.0 * (-0.3 * x).exp()).collect();
        let fit = minimize(
            DVector::from_vec(vec![1.0, 0.0]),
            DVector::from_vec(vec![1e-6, 1e-6]),
            |p| {
                DVector::from_iterator(
                    xs.len(),
                    xs.iter().zip(&ys).map(|(x, y)| p[0] * (p[1] * x).exp() - y),
                )
            },
        );
        assert!(fit.converged);
        assert!(
            (fit.params[0] - 2.0).abs() < 1e-6 && (fit.params[1] + 0.3).abs() < 1e-6,
            "{:?}",
            fit.params
        );
    }
}
