//! The client/server split of a tutorial run: what travels between the client (holding the
//! secret key) and the server (holding the model and the public evaluation keys only).
//!
//! [`Wire`] says how a backend's public context and ciphertexts travel:
//! - [`hetile_ckks::CkksBackend`]: real bytes. The client serializes its
//!   [`hetile_ckks::PublicContext`] (parameters, public key, exactly the requested evaluation
//!   keys; no secret); the server rebuilds its evaluator from those bytes alone; ciphertexts go
//!   both ways as validated, versioned bytes.
//! - [`hetile_mock::MockBackend`] (fast tests): the public context (parameter literal and key
//!   requirements) travels as JSON bytes and the server builds a fresh mock evaluator from it;
//!   the mock has no ciphertext wire format, so its ciphertexts travel in memory
//!   ([`Wire::SERIALIZED`] is `false`, and the reports say so).

use crate::error::{Result, TutorialError};
use hetile_backend::{Backend, Client, KeyRequirements, Params, ParamsLiteral};
use hetile_ckks::{CkksBackend, CkksContext, PublicContext};
use hetile_mock::{MockBackend, MockCiphertext, MockEvaluator};
use hetile_tiles::{TileShape, TileTensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How a backend's public context and ciphertexts travel between client and server.
pub trait Wire: Backend {
    /// Whether ciphertexts are really serialized to bytes.
    const SERIALIZED: bool;
    /// One ciphertext on the wire.
    type Packet: Send + Sync;
    /// What (de)serializing a ciphertext needs on either side (public data only).
    type Ctx: Send + Sync;
    /// The client's public context as bytes (never the secret key).
    /// Errors: backend serialization errors.
    fn publish(client: &Self::Client) -> Result<Vec<u8>>;
    /// The server side from the public context bytes alone: its evaluator and context.
    /// Errors: deserialization/validation errors.
    fn open(public: &[u8]) -> Result<(Self::Evaluator, Self::Ctx)>;
    /// The client's own (de)serialization context.
    fn client_ctx(client: &Self::Client) -> Self::Ctx;
    /// A ciphertext to a packet. Errors: serialization errors.
    fn pack(ctx: &Self::Ctx, ct: &Self::Ciphertext) -> Result<Self::Packet>;
    /// A packet back to a ciphertext (validated against the parameters).
    /// Errors: deserialization/validation errors.
    fn unpack(ctx: &Self::Ctx, packet: &Self::Packet) -> Result<Self::Ciphertext>;
    /// Bytes of a packet on the wire (0 when not serialized).
    fn packet_len(packet: &Self::Packet) -> usize;
}

impl Wire for CkksBackend {
    const SERIALIZED: bool = true;
    type Packet = Vec<u8>;
    type Ctx = Arc<CkksContext>;
    fn publish(client: &Self::Client) -> Result<Vec<u8>> {
        Ok(client.public_context().to_bytes()?)
    }
    fn open(public: &[u8]) -> Result<(Self::Evaluator, Self::Ctx)> {
        let p = PublicContext::from_bytes(public)?;
        Ok((p.evaluator(), p.context().clone()))
    }
    fn client_ctx(client: &Self::Client) -> Self::Ctx {
        client.context().clone()
    }
    fn pack(ctx: &Self::Ctx, ct: &Self::Ciphertext) -> Result<Vec<u8>> {
        Ok(ct.to_bytes(ctx)?)
    }
    fn unpack(ctx: &Self::Ctx, packet: &Vec<u8>) -> Result<Self::Ciphertext> {
        Ok(hetile_ckks::Ciphertext::from_bytes(ctx, packet)?)
    }
    fn packet_len(packet: &Vec<u8>) -> usize {
        packet.len()
    }
}

#[derive(Serialize, Deserialize)]
struct MockPublic {
    params: ParamsLiteral,
    keys: KeyRequirements,
}

impl Wire for MockBackend {
    const SERIALIZED: bool = false;
    type Packet = MockCiphertext;
    type Ctx = ();
    fn publish(client: &Self::Client) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(&MockPublic {
            params: client.params().literal().clone(),
            keys: client.key_requirements().clone(),
        })?)
    }
    fn open(public: &[u8]) -> Result<(Self::Evaluator, ())> {
        let p: MockPublic = serde_json::from_slice(public)?;
        Ok((MockEvaluator::new(&Params::new(p.params)?, &p.keys), ()))
    }
    fn client_ctx(_client: &Self::Client) {}
    fn pack(_ctx: &(), ct: &MockCiphertext) -> Result<MockCiphertext> {
        Ok(ct.clone())
    }
    fn unpack(_ctx: &(), packet: &MockCiphertext) -> Result<MockCiphertext> {
        Ok(packet.clone())
    }
    fn packet_len(_packet: &MockCiphertext) -> usize {
        0
    }
}

/// A tile tensor on the wire: its tile shape (text form) and one packet per tile.
pub struct WireTensor<B: Wire> {
    /// The tile shape, e.g. `"[32/32, */8, 8/8]"`.
    pub shape: String,
    /// The tiles.
    pub tiles: Vec<B::Packet>,
}

impl<B: Wire> WireTensor<B> {
    /// Packs a tensor. Errors: serialization errors.
    pub fn pack(ctx: &B::Ctx, t: &TileTensor<B>) -> Result<WireTensor<B>> {
        Ok(WireTensor {
            shape: serde_json::to_string(t.shape())?,
            tiles: t
                .tiles()
                .par_iter()
                .map(|c| B::pack(ctx, c))
                .collect::<Result<_>>()?,
        })
    }
    /// Unpacks a tensor. Errors: a malformed shape, deserialization errors, a tile count that
    /// does not match the shape.
    pub fn unpack(&self, ctx: &B::Ctx) -> Result<TileTensor<B>> {
        let shape: TileShape = serde_json::from_str(&self.shape)
            .map_err(|e| TutorialError::Invalid(format!("tile shape on the wire: {e}")))?;
        let tiles = self
            .tiles
            .par_iter()
            .map(|p| B::unpack(ctx, p))
            .collect::<Result<Vec<_>>>()?;
        Ok(TileTensor::from_tiles(shape, tiles)?)
    }
    /// Bytes on the wire (tiles plus the shape text).
    pub fn len_bytes(&self) -> usize {
        self.shape.len() + self.tiles.iter().map(|p| B::packet_len(p)).sum::<usize>()
    }
}
