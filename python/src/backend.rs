//! Dispatch over the three concrete backends: the native RNS-CKKS engine, the plaintext mock and
//! the metadata-only simulator. The Python classes hold these enums.

use crate::errors::{BResult, BindError};
use hetile_backend::{Backend, Client, KeyRequirements, Params};
use hetile_ckks::{CkksBackend, CkksClient, CkksEvaluator};
use hetile_mock::{MockBackend, MockClient, MockEvaluator};
use hetile_sim::{SimBackend, SimClient, SimEvaluator};
use hetile_tiles::TileTensor;

/// Which backend an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `hetile-ckks`, the real encryption.
    Native,
    /// The plaintext mock (clear values, exact CKKS bookkeeping, no security).
    Mock,
    /// The metadata-only simulator (no values at all; decryption gives zeros).
    Simulator,
}

impl Kind {
    /// Parses `"native"`, `"mock"` or `"simulator"` (also `"ckks"` and `"sim"`).
    /// Errors: a `ParameterError` naming the accepted values.
    pub fn parse(name: &str) -> BResult<Kind> {
        match name {
            "native" | "ckks" => Ok(Kind::Native),
            "mock" => Ok(Kind::Mock),
            "simulator" | "sim" => Ok(Kind::Simulator),
            other => Err(BindError::param(format!(
                "unknown backend {other:?}: use \"native\", \"mock\" or \"simulator\""
            ))),
        }
    }
    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Native => "native",
            Kind::Mock => "mock",
            Kind::Simulator => "simulator",
        }
    }
    /// The tag byte used in serialized blobs.
    pub fn tag(self) -> u8 {
        match self {
            Kind::Native => 1,
            Kind::Mock => 2,
            Kind::Simulator => 3,
        }
    }
    /// The kind of a tag byte. Errors: a `SerializationError` for an unknown tag.
    pub fn from_tag(tag: u8) -> BResult<Kind> {
        match tag {
            1 => Ok(Kind::Native),
            2 => Ok(Kind::Mock),
            3 => Ok(Kind::Simulator),
            t => Err(BindError::serial(format!("unknown backend tag {t}"))),
        }
    }
}

/// A client (secret key holder) of one backend.
// One client lives per Python session object: boxing the native one would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum AnyClient {
    /// Native.
    Native(CkksClient),
    /// Mock.
    Mock(MockClient),
    /// Simulator.
    Sim(SimClient),
}

/// A server-side evaluator (public keys only) of one backend. (Held once per client or
/// server, so the size difference of the variants does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum AnyEvaluator {
    /// Native.
    Native(CkksEvaluator),
    /// Mock.
    Mock(MockEvaluator),
    /// Simulator.
    Sim(SimEvaluator),
}

/// A tile tensor of ciphertexts of one backend.
#[derive(Clone)]
pub enum AnyTensor {
    /// Native.
    Native(TileTensor<CkksBackend>),
    /// Mock.
    Mock(TileTensor<MockBackend>),
    /// Simulator.
    Sim(TileTensor<SimBackend>),
}

/// Runs `$body` with `$c` bound to the concrete client and `$B` to its backend type.
#[macro_export]
macro_rules! with_client {
    ($client:expr, $c:ident, $B:ident => $body:expr) => {
        match $client {
            $crate::backend::AnyClient::Native($c) => {
                type $B = hetile_ckks::CkksBackend;
                $body
            }
            $crate::backend::AnyClient::Mock($c) => {
                type $B = hetile_mock::MockBackend;
                $body
            }
            $crate::backend::AnyClient::Sim($c) => {
                type $B = hetile_sim::SimBackend;
                $body
            }
        }
    };
}

impl AnyClient {
    /// Generates keys for `keys` under `params`; with `seed`, deterministic keys and noise
    /// (tests only). Errors: backend errors.
    pub fn new(
        kind: Kind,
        params: &Params,
        keys: &KeyRequirements,
        seed: Option<u64>,
    ) -> BResult<AnyClient> {
        fn make<B: Backend>(
            p: &Params,
            k: &KeyRequirements,
            seed: Option<u64>,
        ) -> BResult<B::Client> {
            Ok(match seed {
                Some(s) => B::Client::new_insecure_seeded_for_tests(p, k, s)?,
                None => B::Client::new(p, k)?,
            })
        }
        Ok(match kind {
            Kind::Native => AnyClient::Native(make::<CkksBackend>(params, keys, seed)?),
            Kind::Mock => AnyClient::Mock(make::<MockBackend>(params, keys, seed)?),
            Kind::Simulator => AnyClient::Sim(make::<SimBackend>(params, keys, seed)?),
        })
    }
    /// The backend kind.
    pub fn kind(&self) -> Kind {
        match self {
            AnyClient::Native(_) => Kind::Native,
            AnyClient::Mock(_) => Kind::Mock,
            AnyClient::Sim(_) => Kind::Simulator,
        }
    }
    /// The parameters.
    pub fn params(&self) -> &Params {
        with_client!(self, c, B => Client::<B>::params(c))
    }
    /// The generated evaluation keys.
    pub fn key_requirements(&self) -> &KeyRequirements {
        with_client!(self, c, B => Client::<B>::key_requirements(c))
    }
    /// An evaluator with the public evaluation keys. Errors: backend errors.
    pub fn evaluator(&self) -> BResult<AnyEvaluator> {
        Ok(match self {
            AnyClient::Native(c) => AnyEvaluator::Native(c.evaluator()?),
            AnyClient::Mock(c) => AnyEvaluator::Mock(c.evaluator()?),
            AnyClient::Sim(c) => AnyEvaluator::Sim(c.evaluator()?),
        })
    }
}

impl AnyEvaluator {
    /// The backend kind.
    pub fn kind(&self) -> Kind {
        match self {
            AnyEvaluator::Native(_) => Kind::Native,
            AnyEvaluator::Mock(_) => Kind::Mock,
            AnyEvaluator::Sim(_) => Kind::Simulator,
        }
    }
    /// The parameters.
    pub fn params(&self) -> &Params {
        use hetile_backend::Evaluator;
        match self {
            AnyEvaluator::Native(e) => Evaluator::<CkksBackend>::params(e),
            AnyEvaluator::Mock(e) => Evaluator::<MockBackend>::params(e),
            AnyEvaluator::Sim(e) => Evaluator::<SimBackend>::params(e),
        }
    }
}

/// The error for objects of different backends used together.
pub fn mismatch(what: &str) -> BindError {
    BindError::from(hetile_backend::Error::ContextMismatch {
        what: format!("{what}: objects of different backends"),
    })
}

impl AnyTensor {
    /// The backend kind.
    pub fn kind(&self) -> Kind {
        match self {
            AnyTensor::Native(_) => Kind::Native,
            AnyTensor::Mock(_) => Kind::Mock,
            AnyTensor::Sim(_) => Kind::Simulator,
        }
    }
    /// The tile shape.
    pub fn shape(&self) -> &hetile_tiles::TileShape {
        match self {
            AnyTensor::Native(t) => t.shape(),
            AnyTensor::Mock(t) => t.shape(),
            AnyTensor::Sim(t) => t.shape(),
        }
    }
    /// The level.
    pub fn level(&self) -> usize {
        match self {
            AnyTensor::Native(t) => t.level().0,
            AnyTensor::Mock(t) => t.level().0,
            AnyTensor::Sim(t) => t.level().0,
        }
    }
    /// log2 of the scale.
    pub fn log2_scale(&self) -> f64 {
        match self {
            AnyTensor::Native(t) => t.scale().log2(),
            AnyTensor::Mock(t) => t.scale().log2(),
            AnyTensor::Sim(t) => t.scale().log2(),
        }
    }
    /// The number of ciphertexts.
    pub fn num_tiles(&self) -> usize {
        match self {
            AnyTensor::Native(t) => t.tiles().len(),
            AnyTensor::Mock(t) => t.tiles().len(),
            AnyTensor::Sim(t) => t.tiles().len(),
        }
    }
}

/// Runs `$body` with the client, evaluator or tensor of one backend, or returns a
/// context-mismatch error when the operands belong to different backends. Patterns:
/// `dispatch2!(tensor_a, tensor_b, ev; a, b, e, B => body)`.
#[macro_export]
macro_rules! dispatch_tensors {
    ($x:expr, $y:expr, $ev:expr; $a:ident, $b:ident, $e:ident => $body:expr) => {
        match ($x, $y, $ev) {
            (
                $crate::backend::AnyTensor::Native($a),
                $crate::backend::AnyTensor::Native($b),
                $crate::backend::AnyEvaluator::Native($e),
            ) => $crate::backend::AnyTensor::Native($body?),
            (
                $crate::backend::AnyTensor::Mock($a),
                $crate::backend::AnyTensor::Mock($b),
                $crate::backend::AnyEvaluator::Mock($e),
            ) => $crate::backend::AnyTensor::Mock($body?),
            (
                $crate::backend::AnyTensor::Sim($a),
                $crate::backend::AnyTensor::Sim($b),
                $crate::backend::AnyEvaluator::Sim($e),
            ) => $crate::backend::AnyTensor::Sim($body?),
            _ => return Err($crate::backend::mismatch("tensor operation")),
        }
    };
}

/// As [`dispatch_tensors!`] for one tensor and an evaluator.
#[macro_export]
macro_rules! dispatch_tensor {
    ($x:expr, $ev:expr; $a:ident, $e:ident => $body:expr) => {
        match ($x, $ev) {
            ($crate::backend::AnyTensor::Native($a), $crate::backend::AnyEvaluator::Native($e)) => {
                $crate::backend::AnyTensor::Native($body?)
            }
            ($crate::backend::AnyTensor::Mock($a), $crate::backend::AnyEvaluator::Mock($e)) => {
                $crate::backend::AnyTensor::Mock($body?)
            }
            ($crate::backend::AnyTensor::Sim($a), $crate::backend::AnyEvaluator::Sim($e)) => {
                $crate::backend::AnyTensor::Sim($body?)
            }
            _ => return Err($crate::backend::mismatch("tensor operation")),
        }
    };
}
