//! The client side of a [`Model`]: packing and encrypting inputs, decrypting outputs (and
//! both ends in one process, for tests and examples).

use super::Model;
use crate::error::{LayerError, Result};
use crate::form::{self, ConvStrategy, Packing};
use crate::interleaved;
use hetile_backend::{Backend, Client};
use hetile_tiles::{EncryptionKey, TileTensor};
use ndarray::{ArrayD, IxDyn};

impl Model {
    /// Packs and encrypts a batch `[B, ...input dims]` with the public key (client side), as
    /// [`Model::input_shape`] says.
    /// Errors: [`LayerError::ArrayShape`], packing and backend errors.
    pub fn encrypt_input<B: Backend>(
        &self,
        client: &B::Client,
        x: &ArrayD<f64>,
        packing: &Packing,
    ) -> Result<TileTensor<B>> {
        self.encrypt_input_with(client, x, packing, EncryptionKey::Public)
    }

    /// [`Model::encrypt_input`] with the chosen key: the client that owns the secret key may
    /// encrypt with it ([`EncryptionKey::Secret`]: seeded ciphertexts, about half the request
    /// size, less noise). Errors: as [`Model::encrypt_input`].
    pub fn encrypt_input_with<B: Backend>(
        &self,
        client: &B::Client,
        x: &ArrayD<f64>,
        packing: &Packing,
        key: EncryptionKey,
    ) -> Result<TileTensor<B>> {
        let b = crate::layers::check_batch(x, &self.input)?;
        let params = client.params();
        let (level, scale) = (params.max_level(), params.default_scale());
        let (arr, shape) = match self.first_strategy() {
            Some((c, ConvStrategy::Im2col)) => (c.im2col(x)?, c.patches_shape(packing, b)?),
            Some((c, ConvStrategy::Interleaved)) => (
                interleaved::pack(x, c.padding())?,
                self.input_shape(packing, b)?,
            ),
            _ => {
                // samples x features, transposed to features x 1 x samples (a plain loop:
                // batches hold hundreds of thousands of values)
                let f: usize = self.input.iter().product();
                let flat: Vec<f64> = x.iter().copied().collect();
                let mut t = vec![0.0; f * b];
                for (s, row) in flat.chunks_exact(f.max(1)).enumerate().take(b) {
                    for (i, &v) in row.iter().enumerate() {
                        t[i * b + s] = v;
                    }
                }
                let arr = ArrayD::from_shape_vec(IxDyn(&[f, 1, b]), t).map_err(|_| {
                    LayerError::ArrayShape {
                        given: x.shape().to_vec(),
                        expected: [b].iter().chain(&self.input).copied().collect(),
                    }
                })?;
                (arr, packing.columns(f, b)?)
            }
        };
        Ok(TileTensor::encrypt_with(
            client, &arr, shape, level, scale, key,
        )?)
    }

    /// Decrypts an encrypted output (client side) to `[B, ...output dims]`.
    /// Errors: backend and layout errors.
    pub fn decrypt_output<B: Backend>(
        &self,
        client: &B::Client,
        y: &TileTensor<B>,
    ) -> Result<ArrayD<f64>> {
        let arr = y.decrypt(client)?;
        if interleaved::is_interleaved(y.shape()) {
            let w = interleaved::window(&self.nodes, &self.dims, self.nodes.len())?;
            let images = interleaved::unpack_window(&arr, w)?;
            let mut shape = vec![images.shape()[0]];
            shape.extend_from_slice(self.output_dims());
            let data: Vec<f64> = images.iter().copied().collect();
            return ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|_| {
                LayerError::ArrayShape {
                    given: images.shape().to_vec(),
                    expected: shape.clone(),
                }
            });
        }
        let feats = form::unpack_features(y.shape(), &arr)?;
        let mut shape = vec![feats.nrows()];
        shape.extend_from_slice(self.output_dims());
        let data: Vec<f64> = feats.iter().copied().collect();
        ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|_| LayerError::ArrayShape {
            given: vec![feats.nrows(), feats.ncols()],
            expected: shape.clone(),
        })
    }

    /// Encrypts, runs and decrypts in one call (tests and examples: the client and server are
    /// the same process).
    pub fn run_encrypted<B: Backend>(
        &self,
        client: &B::Client,
        x: &ArrayD<f64>,
        packing: &Packing,
    ) -> Result<ArrayD<f64>> {
        let ev = client.evaluator()?;
        let ct = self.encrypt_input::<B>(client, x, packing)?;
        let out = self.forward_encrypted::<B>(&ev, &ct)?;
        self.decrypt_output::<B>(client, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetile_mock::MockBackend;
    use ndarray::{Array1, Array2};

    #[test]
    fn a_planned_forward_is_the_observed_forward_and_refuses_another_plan() {
        let model = Model::sequential(&[4])
            .dense(
                Array2::from_shape_fn((3, 4), |(i, j)| (i + j) as f64 / 8.0),
                Array1::from_vec(vec![0.5, -0.25, 0.125]),
            )
            .square()
            .build()
            .unwrap();
        let params = hetile_conformance::counting::insecure_test_params(5, 3).unwrap();
        let packing = Packing::new([4, 2, 2]).unwrap();
        let plan = model.plan(&packing, 2).unwrap();
        let client =
            <MockBackend as Backend>::Client::new_insecure_seeded_for_tests(&params, &plan.keys, 3)
                .unwrap();
        let ev = client.evaluator().unwrap();
        let x = ArrayD::from_shape_fn(IxDyn(&[2, 4]), |ix| (ix[0] + ix[1]) as f64 / 4.0);
        let ct = model
            .encrypt_input::<MockBackend>(&client, &x, &packing)
            .unwrap();
        let mut seen = Vec::new();
        let planned = model
            .forward_encrypted_planned::<MockBackend>(&ev, &ct, &plan, |i, _| seen.push(i))
            .unwrap();
        assert_eq!(seen, vec![0, 1]);
        let observed = model.forward_encrypted::<MockBackend>(&ev, &ct).unwrap();
        let (a, b) = (
            model
                .decrypt_output::<MockBackend>(&client, &planned)
                .unwrap(),
            model
                .decrypt_output::<MockBackend>(&client, &observed)
                .unwrap(),
        );
        let want = model.forward_plain(&x).unwrap();
        assert!(a.iter().zip(&b).all(|(u, v)| (u - v).abs() < 1e-6));
        assert!(a.iter().zip(&want).all(|(u, v)| (u - v).abs() < 1e-3));
        let other = model.plan(&packing, 3).unwrap();
        assert!(matches!(
            model.forward_encrypted_planned::<MockBackend>(&ev, &ct, &other, |_, _| {}),
            Err(LayerError::InvalidModel { .. })
        ));
    }
}
