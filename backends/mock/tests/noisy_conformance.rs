//! The conformance suite on a noisy mock (Gaussian noise of CKKS-like size), at the precision
//! the native backend targets: shows that the suite's relaxations tolerate realistic noise and
//! that its precision checks do fail when the noise is too large.

use hetile_backend::{
    Backend, Client, Complex, Evaluator, KeyRequirements, Level, Params, ParamsLiteral, Result,
    Scale, SecretDistribution, SecurityLevel,
};
use hetile_conformance::{Failure, SuiteConfig};
use hetile_mock::{
    MockBackend, MockCiphertext, MockClient, MockEvaluator, MockPlaintext, NoiseModel,
};

/// Fresh noise 2^-30 and per-operation noise 2^-32 (value units): about what RNS-CKKS has at
/// scale 2^40 and N = 2^10.
const NOISE: NoiseModel = NoiseModel {
    fresh: 9.313225746154785e-10,
    per_op: 2.3283064365386963e-10,
};

/// A mock whose seeded clients carry [`NOISE`].
struct NoisyMock;

impl Backend for NoisyMock {
    const NAME: &'static str = "noisy-mock";
    type Ciphertext = MockCiphertext;
    type Plaintext = MockPlaintext;
    type Evaluator = NoisyEvaluator;
    type Client = NoisyClient;
}

struct NoisyClient(MockClient);
struct NoisyEvaluator(MockEvaluator);

impl Client<NoisyMock> for NoisyClient {
    fn new(params: &Params, keys: &KeyRequirements) -> Result<Self> {
        Self::new_insecure_seeded_for_tests(params, keys, 0)
    }
    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        seed: u64,
    ) -> Result<Self> {
        MockClient::with_noise(params, keys, NOISE, seed).map(NoisyClient)
    }
    fn params(&self) -> &Params {
        self.0.params()
    }
    fn key_requirements(&self) -> &KeyRequirements {
        self.0.key_requirements()
    }
    fn evaluator(&self) -> Result<NoisyEvaluator> {
        self.0.evaluator().map(NoisyEvaluator)
    }
    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<MockPlaintext> {
        self.0.encode(values, level, scale)
    }
    fn encode_complex(&self, v: &[Complex], level: Level, scale: Scale) -> Result<MockPlaintext> {
        self.0.encode_complex(v, level, scale)
    }
    fn encrypt(&self, pt: &MockPlaintext) -> Result<MockCiphertext> {
        self.0.encrypt(pt)
    }
    fn encrypt_symmetric(&self, pt: &MockPlaintext) -> Result<MockCiphertext> {
        self.0.encrypt_symmetric(pt)
    }
    fn decrypt(&self, ct: &MockCiphertext) -> Result<MockPlaintext> {
        self.0.decrypt(ct)
    }
    fn decode(&self, pt: &MockPlaintext) -> Result<Vec<f64>> {
        self.0.decode(pt)
    }
    fn decode_complex(&self, pt: &MockPlaintext) -> Result<Vec<Complex>> {
        self.0.decode_complex(pt)
    }
}

impl Evaluator<NoisyMock> for NoisyEvaluator {
    fn params(&self) -> &Params {
        Evaluator::<MockBackend>::params(&self.0)
    }
    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<MockPlaintext> {
        self.0.encode(values, level, scale)
    }
    fn encode_complex(&self, v: &[Complex], level: Level, scale: Scale) -> Result<MockPlaintext> {
        self.0.encode_complex(v, level, scale)
    }
    fn add_assign(&self, a: &mut MockCiphertext, b: &MockCiphertext) -> Result<()> {
        self.0.add_assign(a, b)
    }
    fn sub_assign(&self, a: &mut MockCiphertext, b: &MockCiphertext) -> Result<()> {
        self.0.sub_assign(a, b)
    }
    fn negate_assign(&self, a: &mut MockCiphertext) -> Result<()> {
        self.0.negate_assign(a)
    }
    fn add_plain_assign(&self, a: &mut MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.0.add_plain_assign(a, p)
    }
    fn sub_plain_assign(&self, a: &mut MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.0.sub_plain_assign(a, p)
    }
    fn add_scalar_assign(&self, a: &mut MockCiphertext, c: f64) -> Result<()> {
        self.0.add_scalar_assign(a, c)
    }
    fn mul_plain_assign(&self, a: &mut MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.0.mul_plain_assign(a, p)
    }
    fn mul_scalar_assign(&self, a: &mut MockCiphertext, c: f64) -> Result<()> {
        self.0.mul_scalar_assign(a, c)
    }
    fn mul_integer_assign(&self, a: &mut MockCiphertext, k: i64) -> Result<()> {
        self.0.mul_integer_assign(a, k)
    }
    fn mul(&self, a: &MockCiphertext, b: &MockCiphertext) -> Result<MockCiphertext> {
        self.0.mul(a, b)
    }
    fn rescale_assign(&self, a: &mut MockCiphertext) -> Result<()> {
        self.0.rescale_assign(a)
    }
    fn drop_to_level_assign(&self, a: &mut MockCiphertext, level: Level) -> Result<()> {
        self.0.drop_to_level_assign(a, level)
    }
    fn rotate(&self, a: &MockCiphertext, step: i64) -> Result<MockCiphertext> {
        self.0.rotate(a, step)
    }
    fn conjugate(&self, a: &MockCiphertext) -> Result<MockCiphertext> {
        self.0.conjugate(a)
    }
    fn has_rotation_key(&self, step: i64) -> bool {
        self.0.has_rotation_key(step)
    }
}

fn small() -> Result<Params> {
    Params::new(ParamsLiteral {
        log_n: 10,
        log_q: vec![50, 40, 40, 40],
        log_p: vec![50],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    })
}

hetile_conformance::conformance_suite!(NoisyMock, || small().unwrap(), 25.0);

/// The noise is visible: the simple checks fail when asked for more bits than the noise
/// leaves (about 28), and the random circuit loses precision with depth but stays within the
/// suite's relaxation.
#[test]
fn noise_is_caught_and_within_the_relaxations() -> std::result::Result<(), Failure> {
    let params = small()?;
    let strict = SuiteConfig::new(params.clone(), 32.0);
    assert!(hetile_conformance::check_encrypt_decrypt_public::<NoisyMock>(&strict).is_err());
    assert!(hetile_conformance::check_rotate_steps::<NoisyMock>(&strict).is_err());
    assert!(hetile_conformance::check_mul_rescale::<NoisyMock>(&strict).is_err());
    let depth = params.max_level().0;
    for seed in 0..4 {
        let (got, want) = hetile_conformance::random_circuit::<NoisyMock>(&params, seed, depth)?;
        let bits = hetile_conformance::precision_bits(&got, &want);
        println!("noisy random circuit, seed {seed}: {bits:.2} bits");
        let floor = 25.0 - (depth as f64 + 2.0) * hetile_conformance::LEVEL_RELAX_BITS;
        assert!(bits > floor && bits < 31.0, "seed {seed}: {bits} bits");
    }
    Ok(())
}
