//! Serialized forms of the public context and of encrypted tensors.
//!
//! Both are postcard envelopes opened by a magic, a format version and the backend tag:
//! - the public context (`HTPC`): the parameters and key requirements (as JSON) and, for the
//!   native backend, the `hetile-ckks` public context bytes (parameters, public key and
//!   evaluation keys; never a secret key). For the mock and simulator backends it carries only
//!   the parameters and key requirements: those backends have no keys.
//! - an encrypted tensor (`HTPT`): the parameter fingerprint, the tile shape and one blob per
//!   ciphertext (native: the validated `hetile-ckks` ciphertext format; mock: level, scale and
//!   the clear slot values; simulator: level and scale).
//!
//! Loading validates everything against the receiving context and reports every failure
//! (garbage, another backend, other parameters) as a `SerializationError`.

use crate::backend::{AnyTensor, Kind};
use crate::errors::{BResult, BindError, Class};
use hetile_backend::{
    Backend, Client, Complex, KeyRequirements, Level, Meta, Params, ParamsLiteral, Scale,
};
use hetile_ckks::{Ciphertext, CkksBackend, CkksContext, PublicContext};
use hetile_mock::{MockBackend, MockClient};
use hetile_sim::{SimBackend, SimClient};
use hetile_tiles::{TileShape, TileTensor};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const CONTEXT_MAGIC: [u8; 4] = *b"HTPC";
const TENSOR_MAGIC: [u8; 4] = *b"HTPT";
const VERSION: u16 = 1;

fn serial_err(e: impl std::fmt::Display) -> BindError {
    BindError::serial(e.to_string())
}

#[derive(Serialize, Deserialize)]
struct ContextBlob {
    magic: [u8; 4],
    version: u16,
    backend: u8,
    params_json: String,
    keys_json: String,
    native: Vec<u8>,
}

/// What a server holds after loading a public context.
pub struct LoadedContext {
    /// The backend.
    pub kind: Kind,
    /// The parameters.
    pub params: Params,
    /// The evaluation keys the client generated.
    pub keys: KeyRequirements,
    /// The native public context (native backend only).
    pub native: Option<PublicContext>,
}

/// Serializes a public context. `native` must be given for [`Kind::Native`].
/// Errors: a `SerializationError` when encoding fails.
pub fn context_to_bytes(
    kind: Kind,
    params: &Params,
    keys: &KeyRequirements,
    native: Option<&PublicContext>,
) -> BResult<Vec<u8>> {
    let native = match (kind, native) {
        (Kind::Native, Some(p)) => p.to_bytes()?,
        (Kind::Native, None) => {
            return Err(BindError::serial("native context without its keys"));
        }
        _ => Vec::new(),
    };
    let blob = ContextBlob {
        magic: CONTEXT_MAGIC,
        version: VERSION,
        backend: kind.tag(),
        params_json: serde_json::to_string(params.literal()).map_err(serial_err)?,
        keys_json: serde_json::to_string(keys).map_err(serial_err)?,
        native,
    };
    postcard::to_allocvec(&blob).map_err(serial_err)
}

/// Loads and validates a public context. Errors: a `SerializationError` for anything malformed
/// (the native part is validated by `hetile-ckks`).
pub fn context_from_bytes(bytes: &[u8]) -> BResult<LoadedContext> {
    let blob: ContextBlob = postcard::from_bytes(bytes)
        .map_err(|e| BindError::serial(format!("not a hetile public context: {e}")))?;
    if blob.magic != CONTEXT_MAGIC {
        return Err(BindError::serial("not a hetile public context (bad magic)"));
    }
    if blob.version != VERSION {
        return Err(BindError::serial(format!(
            "public context format version {} is not supported (expected {VERSION})",
            blob.version
        )));
    }
    let kind = Kind::from_tag(blob.backend)?;
    let literal: ParamsLiteral = serde_json::from_str(&blob.params_json).map_err(serial_err)?;
    let params =
        Params::new(literal).map_err(|e| BindError::from(e).reclass(Class::Serialization))?;
    let keys: KeyRequirements = serde_json::from_str(&blob.keys_json).map_err(serial_err)?;
    let native = if kind == Kind::Native {
        let p = PublicContext::from_bytes(&blob.native)
            .map_err(|e| BindError::from(e).reclass(Class::Serialization))?;
        if p.params().fingerprint() != params.fingerprint() || p.key_requirements() != &keys {
            return Err(BindError::serial(
                "the native public context disagrees with its envelope",
            ));
        }
        Some(p)
    } else {
        if !blob.native.is_empty() {
            return Err(BindError::serial(
                "unexpected key material for a keyless backend",
            ));
        }
        None
    };
    Ok(LoadedContext {
        kind,
        params,
        keys,
        native,
    })
}

/// What is needed to write and read the ciphertexts of one backend under one context.
#[derive(Clone)]
pub enum Codec {
    /// Native: the precomputed context.
    Native(Arc<CkksContext>),
    /// Mock: the parameters.
    Mock(Params),
    /// Simulator: the parameters.
    Sim(Params),
}

impl Codec {
    /// The backend kind.
    pub fn kind(&self) -> Kind {
        match self {
            Codec::Native(_) => Kind::Native,
            Codec::Mock(_) => Kind::Mock,
            Codec::Sim(_) => Kind::Simulator,
        }
    }
    /// The parameters.
    pub fn params(&self) -> &Params {
        match self {
            Codec::Native(c) => c.params(),
            Codec::Mock(p) | Codec::Sim(p) => p,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TensorBlob {
    magic: [u8; 4],
    version: u16,
    backend: u8,
    fingerprint: u64,
    shape: String,
    tiles: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct MetaTile {
    level: u64,
    scale: f64,
    re: Vec<f64>,
    im: Vec<f64>,
}

fn meta_tile<T: Meta>(t: &T, values: Option<&[Complex]>) -> BResult<Vec<u8>> {
    let (re, im) = values.map_or((Vec::new(), Vec::new()), |v| {
        (
            v.iter().map(|c| c.re).collect(),
            v.iter().map(|c| c.im).collect(),
        )
    });
    let m = MetaTile {
        level: t.level().0 as u64,
        scale: t.scale().value(),
        re,
        im,
    };
    postcard::to_allocvec(&m).map_err(serial_err)
}

/// Serializes an encrypted tensor. Errors: a `SerializationError` when the tensor does not
/// belong to the codec's backend or encoding fails.
pub fn tensor_to_bytes(t: &AnyTensor, codec: &Codec) -> BResult<Vec<u8>> {
    let tiles: Vec<Vec<u8>> = match (t, codec) {
        (AnyTensor::Native(t), Codec::Native(ctx)) => t
            .tiles()
            .iter()
            .map(|c| Ok(c.to_bytes(ctx)?))
            .collect::<BResult<_>>()?,
        (AnyTensor::Mock(t), Codec::Mock(_)) => t
            .tiles()
            .iter()
            .map(|c| meta_tile(c, Some(c.peek())))
            .collect::<BResult<_>>()?,
        (AnyTensor::Sim(t), Codec::Sim(_)) => t
            .tiles()
            .iter()
            .map(|c| meta_tile(c, None))
            .collect::<BResult<_>>()?,
        _ => return Err(BindError::serial("the tensor belongs to another backend")),
    };
    let blob = TensorBlob {
        magic: TENSOR_MAGIC,
        version: VERSION,
        backend: codec.kind().tag(),
        fingerprint: codec.params().fingerprint(),
        shape: t.shape().to_string(),
        tiles,
    };
    postcard::to_allocvec(&blob).map_err(serial_err)
}

fn restore_meta<B: Backend>(
    client: &B::Client,
    bytes: &[u8],
    clear: bool,
) -> BResult<B::Ciphertext> {
    let m: MetaTile = postcard::from_bytes(bytes).map_err(serial_err)?;
    let params = client.params();
    let level = Level(usize::try_from(m.level).map_err(serial_err)?);
    if level > params.max_level() {
        return Err(BindError::serial(format!(
            "ciphertext level {level} above the chain"
        )));
    }
    let scale = Scale::new(m.scale)
        .filter(|s| s.value() >= 1.0)
        .ok_or_else(|| BindError::serial(format!("invalid scale {}", m.scale)))?;
    let slots = params.slots().get();
    let values: Vec<Complex> = if clear {
        if m.re.len() != slots || m.im.len() != slots {
            return Err(BindError::serial(format!(
                "a ciphertext holds {slots} slots, not {}",
                m.re.len()
            )));
        }
        m.re.iter()
            .zip(&m.im)
            .map(|(&r, &i)| Complex::new(r, i))
            .collect()
    } else {
        if !m.re.is_empty() || !m.im.is_empty() {
            return Err(BindError::serial(
                "a simulated ciphertext carries no values",
            ));
        }
        Vec::new()
    };
    let pt = client.encode_complex(&values, level, scale)?;
    Ok(client.encrypt(&pt)?)
}

/// Loads and validates an encrypted tensor under `codec`. Errors: a `SerializationError` for
/// garbage, another backend, other parameters or an inconsistent tensor.
pub fn tensor_from_bytes(bytes: &[u8], codec: &Codec) -> BResult<AnyTensor> {
    load_tensor(bytes, codec).map_err(|e| e.reclass(Class::Serialization))
}

fn load_tensor(bytes: &[u8], codec: &Codec) -> BResult<AnyTensor> {
    let blob: TensorBlob = postcard::from_bytes(bytes)
        .map_err(|e| BindError::serial(format!("not a hetile encrypted tensor: {e}")))?;
    if blob.magic != TENSOR_MAGIC {
        return Err(BindError::serial(
            "not a hetile encrypted tensor (bad magic)",
        ));
    }
    if blob.version != VERSION {
        return Err(BindError::serial(format!(
            "encrypted tensor format version {} is not supported",
            blob.version
        )));
    }
    let kind = Kind::from_tag(blob.backend)?;
    if kind != codec.kind() {
        return Err(BindError::serial(format!(
            "the tensor was made by the {} backend, this context is {}",
            kind.name(),
            codec.kind().name()
        )));
    }
    let params = codec.params();
    if blob.fingerprint != params.fingerprint() {
        return Err(BindError::serial(
            "the tensor was encrypted under other parameters than this context's",
        ));
    }
    let shape = TileShape::parse(&blob.shape)?;
    shape.check_slots(params.slots())?;
    if blob.tiles.len() != shape.num_tiles() {
        return Err(BindError::serial(format!(
            "shape {shape} needs {} ciphertexts, the blob holds {}",
            shape.num_tiles(),
            blob.tiles.len()
        )));
    }
    let none = KeyRequirements::none();
    Ok(match codec {
        Codec::Native(ctx) => {
            let tiles = blob
                .tiles
                .iter()
                .map(|b| Ok(Ciphertext::from_bytes(ctx, b)?))
                .collect::<BResult<Vec<_>>>()?;
            AnyTensor::Native(TileTensor::<CkksBackend>::from_tiles(shape, tiles)?)
        }
        Codec::Mock(p) => {
            let c = MockClient::new(p, &none)?;
            let tiles = blob
                .tiles
                .iter()
                .map(|b| restore_meta::<MockBackend>(&c, b, true))
                .collect::<BResult<Vec<_>>>()?;
            AnyTensor::Mock(TileTensor::<MockBackend>::from_tiles(shape, tiles)?)
        }
        Codec::Sim(p) => {
            let c = SimClient::new(p, &none)?;
            let tiles = blob
                .tiles
                .iter()
                .map(|b| restore_meta::<SimBackend>(&c, b, false))
                .collect::<BResult<Vec<_>>>()?;
            AnyTensor::Sim(TileTensor::<SimBackend>::from_tiles(shape, tiles)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetile_backend::SecurityLevel;

    fn params(levels: usize) -> Params {
        let mut log_q = vec![60];
        log_q.extend(std::iter::repeat_n(40, levels));
        Params::new(ParamsLiteral {
            log_n: 10,
            log_q,
            log_p: vec![60],
            log_scale: 40,
            digits: None,
            security: SecurityLevel::Insecure,
            secret: Default::default(),
        })
        .unwrap()
    }

    fn mock_tensor(p: &Params) -> AnyTensor {
        let c = MockClient::new(p, &KeyRequirements::none()).unwrap();
        let a = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 100]), |ix| {
            (ix[0] * 100 + ix[1]) as f64 / 400.0
        });
        let shape = TileShape::parse("[4/4, 100/128]").unwrap();
        AnyTensor::Mock(TileTensor::<MockBackend>::encrypt(&c, &a, shape).unwrap())
    }

    #[test]
    fn mock_tensor_round_trips_and_is_validated() {
        let p = params(2);
        let t = mock_tensor(&p);
        let codec = Codec::Mock(p.clone());
        let bytes = tensor_to_bytes(&t, &codec).unwrap();
        let back = tensor_from_bytes(&bytes, &codec).unwrap();
        match (&t, &back) {
            (AnyTensor::Mock(a), AnyTensor::Mock(b)) => {
                assert_eq!(a.shape(), b.shape());
                assert_eq!(a.tiles(), b.tiles());
            }
            _ => panic!("backend changed"),
        }
        // other parameters, another backend, garbage, truncation
        let other = Codec::Mock(params(3));
        let e = tensor_from_bytes(&bytes, &other).err().unwrap();
        assert_eq!(e.class, Class::Serialization);
        assert!(e.message.contains("other parameters"), "{}", e.message);
        let e = tensor_from_bytes(&bytes, &Codec::Sim(p.clone()))
            .err()
            .unwrap();
        assert_eq!(e.class, Class::Serialization);
        for bad in [&b"junk"[..], &bytes[..bytes.len() / 2], &[][..]] {
            let e = tensor_from_bytes(bad, &codec).err().unwrap();
            assert_eq!(e.class, Class::Serialization);
        }
    }

    #[test]
    fn keyless_context_round_trips() {
        let p = params(2);
        let keys = KeyRequirements::none()
            .with_relinearization()
            .with_rotations([1, -4]);
        let bytes = context_to_bytes(Kind::Mock, &p, &keys, None).unwrap();
        let back = context_from_bytes(&bytes).unwrap();
        assert_eq!(back.kind, Kind::Mock);
        assert_eq!(back.params.fingerprint(), p.fingerprint());
        assert_eq!(back.keys, keys);
        assert!(back.native.is_none());
        assert!(context_to_bytes(Kind::Native, &p, &keys, None).is_err());
        let e = context_from_bytes(&bytes[1..]).err().unwrap();
        assert_eq!(e.class, Class::Serialization);
    }
}
