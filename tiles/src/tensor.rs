//! [`TileTensor`] (ciphertext tiles) and [`PlainTileTensor`] (plaintext tiles): packing from and
//! unpacking to ndarray, and level/scale management.

use crate::error::{Result, TileError};
use crate::layout::{first_slot_element, slot_elements};
use crate::shape::TileShape;
use hetile_backend::{Backend, Client, Error as BackendError, Evaluator, Level, Meta, Scale};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use std::fmt;

/// As [`pack_values`], except that a metadata-only backend ([`Backend::METADATA_ONLY`]) gets
/// empty slot vectors (after the same shape check): it ignores values.
pub(crate) fn pack_for<B: Backend>(
    shape: &TileShape,
    array: &ArrayD<f64>,
) -> Result<Vec<Vec<f64>>> {
    if B::METADATA_ONLY {
        check_logical(shape, array)?;
        return Ok(vec![Vec::new(); shape.num_tiles()]);
    }
    pack_values(shape, array)
}

/// The array of a plaintext tensor, required unless the backend ignores values: `None` is
/// accepted only by a metadata-only backend ([`Backend::METADATA_ONLY`]), which then skips the
/// shape check of an array that was never built. Errors with [`TileError::ArrayShapeMismatch`]
/// for a wrong shape, or for `None` on a backend that needs values.
fn checked_values<'a, B: Backend>(
    shape: &TileShape,
    array: Option<&'a ArrayD<f64>>,
) -> Result<Option<&'a ArrayD<f64>>> {
    match array {
        Some(a) => check_logical(shape, a).map(|()| Some(a)),
        None if B::METADATA_ONLY => Ok(None),
        None => Err(TileError::ArrayShapeMismatch {
            array: Vec::new(),
            logical: shape.logical_shape(),
            shape: shape.to_string(),
        }),
    }
}

fn check_logical(shape: &TileShape, array: &ArrayD<f64>) -> Result<()> {
    let logical = shape.logical_shape();
    if array.shape() != logical.as_slice() {
        return Err(TileError::ArrayShapeMismatch {
            array: array.shape().to_vec(),
            logical,
            shape: shape.to_string(),
        });
    }
    Ok(())
}

/// The slot vectors of every tile of `shape` holding `array` (zeros in unused slots).
/// Errors with [`TileError::ArrayShapeMismatch`] unless the array has the logical shape.
pub(crate) fn pack_values(shape: &TileShape, array: &ArrayD<f64>) -> Result<Vec<Vec<f64>>> {
    check_logical(shape, array)?;
    let data: Vec<f64> = array.iter().copied().collect();
    Ok((0..shape.num_tiles())
        .into_par_iter()
        .map(|k| {
            slot_elements(shape, k)
                .into_iter()
                .map(|e| e.and_then(|i| data.get(i).copied()).unwrap_or(0.0))
                .collect()
        })
        .collect())
}

/// The logical array held by the slot vectors `tiles` of `shape` (a replicated element is read
/// from its first copy). Errors with [`TileError::TileCountMismatch`] or
/// [`TileError::SlotMismatch`] when the vectors do not fit the shape.
pub(crate) fn unpack_values(shape: &TileShape, tiles: &[Vec<f64>]) -> Result<ArrayD<f64>> {
    if tiles.len() != shape.num_tiles() {
        return Err(TileError::TileCountMismatch {
            shape: shape.to_string(),
            expected: shape.num_tiles(),
            given: tiles.len(),
        });
    }
    let n = shape.num_elements();
    let mut data = vec![0.0; n];
    let mut written = vec![false; n];
    for (k, values) in tiles.iter().enumerate() {
        if values.len() < shape.slots() {
            return Err(TileError::SlotMismatch {
                shape: shape.to_string(),
                product: shape.slots(),
                slots: values.len(),
            });
        }
        for (slot, e) in slot_elements(shape, k).into_iter().enumerate() {
            if let Some(i) = e {
                if !written[i] {
                    written[i] = true;
                    data[i] = values[slot];
                }
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&shape.logical_shape()), data).map_err(|_| {
        TileError::ArrayShapeMismatch {
            array: vec![n],
            logical: shape.logical_shape(),
            shape: shape.to_string(),
        }
    })
}

/// The scale `q_level`: a plaintext encoded at it and multiplied in, followed by a rescale,
/// leaves the ciphertext's scale exactly unchanged. Errors with the backend's
/// [`BackendError::InvalidLevel`] above the chain.
pub fn prime_scale(params: &hetile_backend::Params, level: Level) -> Result<Scale> {
    let q = params.prime_at(level).ok_or(BackendError::InvalidLevel {
        requested: level,
        max: params.max_level(),
    })?;
    Scale::new(q as f64).ok_or_else(|| {
        TileError::Backend(BackendError::InvalidParameters {
            reason: format!("prime {q} is not a valid scale"),
        })
    })
}

/// Checks that all objects share the level and scale of the first; returns them.
fn common_meta<T: Meta>(shape: &TileShape, tiles: &[T]) -> Result<(Level, Scale)> {
    if tiles.len() != shape.num_tiles() {
        return Err(TileError::TileCountMismatch {
            shape: shape.to_string(),
            expected: shape.num_tiles(),
            given: tiles.len(),
        });
    }
    let first = tiles.first().ok_or_else(|| TileError::TileCountMismatch {
        shape: shape.to_string(),
        expected: shape.num_tiles(),
        given: 0,
    })?;
    let (level, scale) = (first.level(), first.scale());
    for (index, t) in tiles.iter().enumerate().skip(1) {
        let same_scale = hetile_backend::check_same_scale(scale, t.scale()).is_ok();
        if t.level() != level || !same_scale {
            return Err(TileError::InconsistentTiles {
                index,
                level: t.level().0,
                scale_log2: t.scale().log2(),
            });
        }
    }
    Ok((level, scale))
}

/// A tensor packed into ciphertext tiles according to a [`TileShape`]. All tiles share one
/// level and scale. Operations return new tensors with the resulting shape and flags (see
/// [`crate::plan`] for their shapes and exact costs).
pub struct TileTensor<B: Backend> {
    pub(crate) shape: TileShape,
    pub(crate) tiles: Vec<B::Ciphertext>,
    pub(crate) level: Level,
    pub(crate) scale: Scale,
}

impl<B: Backend> Clone for TileTensor<B> {
    fn clone(&self) -> Self {
        TileTensor {
            shape: self.shape.clone(),
            tiles: self.tiles.clone(),
            level: self.level,
            scale: self.scale,
        }
    }
}

impl<B: Backend> fmt::Debug for TileTensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TileTensor")
            .field("backend", &B::NAME)
            .field("shape", &self.shape.to_string())
            .field("tiles", &self.tiles.len())
            .field("level", &self.level)
            .field("scale", &self.scale)
            .finish()
    }
}

/// The key a client encrypts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EncryptionKey {
    /// The public key: anyone holding the public context can encrypt.
    #[default]
    Public,
    /// The secret key ([`Client::encrypt_symmetric`]): only for the key's owner; the
    /// ciphertexts are seeded (about half the size on the wire) and carry less noise.
    Secret,
}

impl<B: Backend> TileTensor<B> {
    /// Packs `array` (whose shape must be `shape.logical_shape()`) into tiles, encodes each at the
    /// top level and default scale and encrypts it with the public key (client side).
    ///
    /// Errors: [`TileError::SlotMismatch`] when the tile size differs from the slot count,
    /// [`TileError::ArrayShapeMismatch`], and backend errors (e.g. a value too large to encode).
    pub fn encrypt(client: &B::Client, array: &ArrayD<f64>, shape: TileShape) -> Result<Self> {
        let params = client.params();
        Self::encrypt_at(
            client,
            array,
            shape,
            params.max_level(),
            params.default_scale(),
        )
    }

    /// As [`TileTensor::encrypt`], at a chosen level and scale.
    pub fn encrypt_at(
        client: &B::Client,
        array: &ArrayD<f64>,
        shape: TileShape,
        level: Level,
        scale: Scale,
    ) -> Result<Self> {
        Self::encrypt_with(client, array, shape, level, scale, EncryptionKey::Public)
    }

    /// As [`TileTensor::encrypt_at`], encrypting with the chosen key: the client that owns the
    /// secret key may encrypt with it ([`EncryptionKey::Secret`]), which gives smaller (seeded)
    /// ciphertexts with less noise, at less cost. Errors: as [`TileTensor::encrypt`].
    pub fn encrypt_with(
        client: &B::Client,
        array: &ArrayD<f64>,
        shape: TileShape,
        level: Level,
        scale: Scale,
        key: EncryptionKey,
    ) -> Result<Self> {
        shape.check_slots(client.params().slots())?;
        let values = pack_for::<B>(&shape, array)?;
        let tiles = values
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|v| {
                let pt = client.encode(v, level, scale)?;
                Ok(match key {
                    EncryptionKey::Public => client.encrypt(&pt)?,
                    EncryptionKey::Secret => client.encrypt_symmetric(&pt)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_tiles(shape, tiles)
    }

    /// Decrypts and decodes every tile and unpacks the logical array (client side). Unused and
    /// garbage slots are ignored; a replicated element is read from its first copy.
    /// Errors: backend decryption or decoding errors.
    pub fn decrypt(&self, client: &B::Client) -> Result<ArrayD<f64>> {
        let values = self
            .tiles
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|ct| Ok(client.decrypt_values(ct)?))
            .collect::<Result<Vec<_>>>()?;
        unpack_values(&self.shape, &values)
    }

    /// A tensor from its tiles (row-major over the tile grid).
    /// Errors: [`TileError::TileCountMismatch`], [`TileError::InconsistentTiles`] when the
    /// tiles differ in level or scale.
    pub fn from_tiles(shape: TileShape, tiles: Vec<B::Ciphertext>) -> Result<Self> {
        let (level, scale) = common_meta(&shape, &tiles)?;
        Ok(TileTensor {
            shape,
            tiles,
            level,
            scale,
        })
    }

    /// The tile shape (with its flags).
    pub fn shape(&self) -> &TileShape {
        &self.shape
    }
    /// The ciphertexts, row-major over the tile grid.
    pub fn tiles(&self) -> &[B::Ciphertext] {
        &self.tiles
    }
    /// The ciphertexts, by value.
    pub fn into_tiles(self) -> Vec<B::Ciphertext> {
        self.tiles
    }
    /// The common level of the tiles.
    pub fn level(&self) -> Level {
        self.level
    }
    /// The common scale of the tiles.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Applies `f` to every tile (in parallel) and keeps `shape`.
    pub(crate) fn map_tiles(
        &self,
        shape: TileShape,
        f: impl Fn(&B::Ciphertext) -> std::result::Result<B::Ciphertext, BackendError> + Sync,
    ) -> Result<Self> {
        let tiles = self
            .tiles
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|t| Ok(f(t)?))
            .collect::<Result<Vec<_>>>()?;
        Self::from_tiles(shape, tiles)
    }

    /// Rescales every tile (level - 1, scale / q_level). Cost: [`crate::plan::rescale`].
    /// Errors: [`BackendError::LevelExhausted`] at level 0.
    pub fn rescale(&self, ev: &B::Evaluator) -> Result<Self> {
        self.map_tiles(self.shape.clone(), |t| ev.rescale(t))
    }

    /// Drops every tile to `level` (scale unchanged; free).
    /// Errors: [`BackendError::InvalidLevel`] above the current level.
    pub fn drop_to_level(&self, ev: &B::Evaluator, level: Level) -> Result<Self> {
        if level == self.level {
            return Ok(self.clone());
        }
        self.map_tiles(self.shape.clone(), |t| ev.drop_to_level(t, level))
    }

    /// Brings every tile to exactly `target` scale at the cost of one level (one plaintext
    /// product and one rescale per tile, see [`Evaluator::set_scale`]). Cost:
    /// [`crate::plan::set_scale`].
    /// Errors: level 0, or a target that does not fit.
    pub fn set_scale(&self, ev: &B::Evaluator, target: Scale) -> Result<Self> {
        self.map_tiles(self.shape.clone(), |t| ev.set_scale(t, target))
    }

    /// Both tensors at the lower of their two levels (the higher one is dropped; free).
    /// Errors: backend errors of the drop.
    pub fn align_levels(ev: &B::Evaluator, a: &Self, b: &Self) -> Result<(Self, Self)> {
        let level = a.level.min(b.level);
        Ok((a.drop_to_level(ev, level)?, b.drop_to_level(ev, level)?))
    }
}

/// The content of a [`PlainTileTensor`]: encoded plaintexts, or one real constant per tile.
#[derive(Clone)]
pub(crate) enum PlainTiles<P> {
    /// One encoded plaintext per tile.
    Encoded(Vec<P>),
    /// One constant per tile (a uniform shape, see [`crate::plan::is_uniform`]), multiplied in
    /// with [`Evaluator::mul_scalar`] or added with [`Evaluator::add_scalar`] instead of an
    /// encoded plaintext.
    Constants(Vec<f64>),
}

/// A tensor packed into plaintext tiles (e.g. model weights on the server). All tiles share one
/// level and scale.
///
/// A tensor whose shape is uniform (every dimension has tile size 1 or is replicated, see
/// [`crate::plan::is_uniform`]) holds one value per tile and skips encoding. Encoded for
/// multiplication ([`PlainTileTensor::encode_for_mul`], or [`PlainTileTensor::encode`] at scale
/// `q_level`) it is multiplied in with [`Evaluator::mul_scalar`] (same level, same resulting
/// scale, one scalar product per tile, as [`crate::plan::binary`] and [`crate::plan::mul_sum`]
/// count it); made by [`PlainTileTensor::encode_for_add`] at a ciphertext's level and scale it
/// is added with [`Evaluator::add_scalar`].
pub struct PlainTileTensor<B: Backend> {
    pub(crate) shape: TileShape,
    pub(crate) tiles: PlainTiles<B::Plaintext>,
    pub(crate) level: Level,
    pub(crate) scale: Scale,
}

impl<B: Backend> Clone for PlainTileTensor<B> {
    fn clone(&self) -> Self {
        PlainTileTensor {
            shape: self.shape.clone(),
            tiles: self.tiles.clone(),
            level: self.level,
            scale: self.scale,
        }
    }
}

impl<B: Backend> fmt::Debug for PlainTileTensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainTileTensor")
            .field("backend", &B::NAME)
            .field("shape", &self.shape.to_string())
            .field("tiles", &self.num_tiles())
            .field("constants", &self.constants().is_some())
            .field("level", &self.level)
            .field("scale", &self.scale)
            .finish()
    }
}

/// The constant held by every slot of tile `k` of a uniform `shape` (0 for a metadata-only
/// backend, which ignores values).
fn tile_constant<B: Backend>(shape: &TileShape, data: &[f64], k: usize) -> f64 {
    if B::METADATA_ONLY {
        return 0.0;
    }
    first_slot_element(shape, k)
        .and_then(|i| data.get(i).copied())
        .unwrap_or(0.0)
}

impl<B: Backend> PlainTileTensor<B> {
    /// Packs `array` into tiles of `shape` and encodes each at `level` and `scale` (server side).
    /// For a plaintext to be added to a ciphertext, use the ciphertext's level and scale (or
    /// [`PlainTileTensor::encode_for_add`]). A uniform `shape` at scale `q_level` keeps one
    /// constant per tile instead (no encoding; see the type's documentation).
    ///
    /// Errors: [`TileError::SlotMismatch`], [`TileError::ArrayShapeMismatch`], backend encoding
    /// errors (for constants: [`BackendError::NonFiniteValue`] for a non-finite value,
    /// [`BackendError::InvalidLevel`] above the chain).
    pub fn encode(
        ev: &B::Evaluator,
        array: &ArrayD<f64>,
        shape: TileShape,
        level: Level,
        scale: Scale,
    ) -> Result<Self> {
        let multiplier = prime_scale(ev.params(), level).is_ok_and(|q| q == scale);
        Self::encode_with(ev, Some(array), shape, level, scale, multiplier)
    }

    /// As [`PlainTileTensor::encode`], for a tensor to be added to (or subtracted from)
    /// ciphertexts at `level` and `scale`: a uniform `shape` keeps one constant per tile at any
    /// scale, added with [`Evaluator::add_scalar`] (the constant polynomial the encoded path
    /// gives, without encoding). Used in a product instead, such constants are encoded at each
    /// use. Errors: as [`PlainTileTensor::encode`].
    pub fn encode_for_add(
        ev: &B::Evaluator,
        array: &ArrayD<f64>,
        shape: TileShape,
        level: Level,
        scale: Scale,
    ) -> Result<Self> {
        Self::encode_with(ev, Some(array), shape, level, scale, true)
    }

    /// [`PlainTileTensor::encode`], keeping constants for a uniform shape when `constants`.
    fn encode_with(
        ev: &B::Evaluator,
        array: Option<&ArrayD<f64>>,
        shape: TileShape,
        level: Level,
        scale: Scale,
        constants: bool,
    ) -> Result<Self> {
        shape.check_slots(ev.slots())?;
        if constants && crate::plan::is_uniform(&shape) {
            let max = ev.params().max_level();
            if level > max {
                return Err(BackendError::InvalidLevel {
                    requested: level,
                    max,
                }
                .into());
            }
            let constants: Vec<f64> = match checked_values::<B>(&shape, array)? {
                Some(a) if !B::METADATA_ONLY => {
                    let data: Vec<f64> = a.iter().copied().collect();
                    (0..shape.num_tiles())
                        .map(|k| tile_constant::<B>(&shape, &data, k))
                        .collect()
                }
                _ => vec![0.0; shape.num_tiles()],
            };
            if let Some((index, &value)) =
                constants.iter().enumerate().find(|(_, c)| !c.is_finite())
            {
                return Err(BackendError::NonFiniteValue { index, value }.into());
            }
            return Ok(PlainTileTensor {
                shape,
                tiles: PlainTiles::Constants(constants),
                level,
                scale,
            });
        }
        let tiles = match checked_values::<B>(&shape, array)? {
            Some(a) if !B::METADATA_ONLY => pack_values(&shape, a)?
                .par_iter()
                .with_min_len(crate::seq_min_len::<B>())
                .map(|v| Ok(ev.encode(v, level, scale)?))
                .collect::<Result<Vec<_>>>()?,
            // a metadata-only backend ignores values: one encoding of no values per tile
            _ => (0..shape.num_tiles())
                .map(|_| Ok(ev.encode(&[], level, scale)?))
                .collect::<Result<Vec<_>>>()?,
        };
        Self::from_tiles(shape, tiles)
    }

    /// As [`PlainTileTensor::encode_for_mul`], with the array only when the backend needs
    /// values: `None` (the caller skipped building it) is accepted by a metadata-only backend
    /// ([`Backend::METADATA_ONLY`]), which encodes every tile the same way without the array.
    /// Errors: as [`PlainTileTensor::encode`]; [`TileError::ArrayShapeMismatch`] for `None` on
    /// a backend that needs values.
    pub fn encode_for_mul_opt(
        ev: &B::Evaluator,
        array: Option<&ArrayD<f64>>,
        shape: TileShape,
        level: Level,
    ) -> Result<Self> {
        let scale = prime_scale(ev.params(), level)?;
        Self::encode_with(ev, array, shape, level, scale, true)
    }

    /// As [`PlainTileTensor::encode_for_add`], with the array only when the backend needs
    /// values (see [`PlainTileTensor::encode_for_mul_opt`]). Errors: as there.
    pub fn encode_for_add_opt(
        ev: &B::Evaluator,
        array: Option<&ArrayD<f64>>,
        shape: TileShape,
        level: Level,
        scale: Scale,
    ) -> Result<Self> {
        Self::encode_with(ev, array, shape, level, scale, true)
    }

    /// Encodes for multiplication into a ciphertext at `level`: at scale `q_level`, so that the
    /// product, once rescaled, has exactly the ciphertext's scale (a uniform shape keeps
    /// constants, see [`PlainTileTensor::encode`]). Errors: as [`PlainTileTensor::encode`].
    pub fn encode_for_mul(
        ev: &B::Evaluator,
        array: &ArrayD<f64>,
        shape: TileShape,
        level: Level,
    ) -> Result<Self> {
        let scale = prime_scale(ev.params(), level)?;
        Self::encode(ev, array, shape, level, scale)
    }

    /// Decodes every tile and unpacks the logical array (client side). Constants are returned
    /// as they are (no encoding error). Errors: backend decoding errors.
    pub fn decode(&self, client: &B::Client) -> Result<ArrayD<f64>> {
        let values = match &self.tiles {
            PlainTiles::Encoded(tiles) => tiles
                .par_iter()
                .with_min_len(crate::seq_min_len::<B>())
                .map(|pt| Ok(client.decode(pt)?))
                .collect::<Result<Vec<_>>>()?,
            PlainTiles::Constants(c) => c.iter().map(|&c| vec![c; self.shape.slots()]).collect(),
        };
        unpack_values(&self.shape, &values)
    }

    /// A plaintext tensor from its encoded tiles (row-major over the tile grid).
    /// Errors: [`TileError::TileCountMismatch`], [`TileError::InconsistentTiles`].
    pub fn from_tiles(shape: TileShape, tiles: Vec<B::Plaintext>) -> Result<Self> {
        let (level, scale) = common_meta(&shape, &tiles)?;
        Ok(PlainTileTensor {
            shape,
            tiles: PlainTiles::Encoded(tiles),
            level,
            scale,
        })
    }

    /// The tile shape.
    pub fn shape(&self) -> &TileShape {
        &self.shape
    }
    /// The encoded plaintexts, row-major over the tile grid; empty when the tensor holds
    /// constants (see [`PlainTileTensor::constants`]).
    pub fn tiles(&self) -> &[B::Plaintext] {
        match &self.tiles {
            PlainTiles::Encoded(t) => t,
            PlainTiles::Constants(_) => &[],
        }
    }
    /// The constants to multiply a ciphertext at `level` by with scalar products: those of a
    /// constant tensor at that level and at scale `q_level` (so the product matches the encoded
    /// path exactly); `None` when the tiles must be encoded plaintexts instead.
    pub(crate) fn multiplier_constants(&self, ev: &B::Evaluator, level: Level) -> Option<&[f64]> {
        match &self.tiles {
            PlainTiles::Constants(c)
                if self.level == level
                    && prime_scale(ev.params(), level).is_ok_and(|q| q == self.scale) =>
            {
                Some(c)
            }
            _ => None,
        }
    }
    /// The per-tile constants (row-major over the tile grid) when the tensor holds constants
    /// instead of encoded plaintexts; `None` otherwise.
    pub fn constants(&self) -> Option<&[f64]> {
        match &self.tiles {
            PlainTiles::Encoded(_) => None,
            PlainTiles::Constants(c) => Some(c),
        }
    }
    /// The number of tiles (encoded or constant).
    pub fn num_tiles(&self) -> usize {
        match &self.tiles {
            PlainTiles::Encoded(t) => t.len(),
            PlainTiles::Constants(c) => c.len(),
        }
    }
    /// The common level of the tiles.
    pub fn level(&self) -> Level {
        self.level
    }
    /// The common scale of the tiles.
    pub fn scale(&self) -> Scale {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_unpack_is_the_identity() {
        let shape = TileShape::parse("[5/2, 3~/2]").unwrap();
        let a = ArrayD::from_shape_fn(IxDyn(&[5, 3]), |ix| (ix[0] * 10 + ix[1]) as f64);
        let tiles = pack_values(&shape, &a).unwrap();
        assert_eq!(tiles.len(), 6);
        assert_eq!(unpack_values(&shape, &tiles).unwrap(), a);
        let wrong = ArrayD::zeros(IxDyn(&[3, 5]));
        assert!(matches!(
            pack_values(&shape, &wrong),
            Err(TileError::ArrayShapeMismatch { .. })
        ));
        assert!(matches!(
            unpack_values(&shape, &tiles[..2]),
            Err(TileError::TileCountMismatch { .. })
        ));
    }

    #[test]
    fn values_are_required_unless_the_backend_ignores_them() {
        use hetile_backend::KeyRequirements;
        use hetile_mock::MockBackend;
        type P = PlainTileTensor<MockBackend>;
        let params = hetile_conformance::counting::insecure_test_params(5, 2).unwrap();
        let client = <MockBackend as Backend>::Client::new_insecure_seeded_for_tests(
            &params,
            &KeyRequirements::default(),
            1,
        )
        .unwrap();
        let ev = &client.evaluator().unwrap();
        let client = &client;
        let level = params.max_level();
        let shape = TileShape::parse("[5/4, 3/4]").unwrap();
        let a = ArrayD::from_shape_fn(IxDyn(&[5, 3]), |ix| (ix[0] + 2 * ix[1]) as f64 / 8.0);
        assert!(matches!(
            P::encode_for_mul_opt(ev, None, shape.clone(), level),
            Err(TileError::ArrayShapeMismatch { .. })
        ));
        let wrong = ArrayD::zeros(IxDyn(&[3, 5]));
        assert!(matches!(
            P::encode_for_mul_opt(ev, Some(&wrong), shape.clone(), level),
            Err(TileError::ArrayShapeMismatch { .. })
        ));
        let opt = P::encode_for_mul_opt(ev, Some(&a), shape.clone(), level).unwrap();
        let full = P::encode_for_mul(ev, &a, shape.clone(), level).unwrap();
        assert_eq!((opt.level(), opt.scale()), (full.level(), full.scale()));
        let (x, y) = (opt.decode(client).unwrap(), full.decode(client).unwrap());
        assert!(x.iter().zip(&y).all(|(u, v)| (u - v).abs() < 1e-6));
        assert!((x[[4, 2]] - 1.0).abs() < 1e-6);
        // a uniform shape keeps constants, for additions at any scale too
        let uniform = TileShape::parse("[2/1, */16]").unwrap();
        let c = ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![0.5, -1.5]).unwrap();
        let scale = params.default_scale();
        let added = PlainTileTensor::<MockBackend>::encode_for_add_opt(
            ev,
            Some(&c),
            uniform.clone(),
            level,
            scale,
        )
        .unwrap();
        assert_eq!(added.constants(), Some(&[0.5, -1.5][..]));
        assert!(matches!(
            P::encode_for_add_opt(ev, None, uniform, level, scale),
            Err(TileError::ArrayShapeMismatch { .. })
        ));
    }
}
