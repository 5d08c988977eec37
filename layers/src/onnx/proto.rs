//! Reading ONNX protobuf pieces: tensors (through tract's loader), attributes and shapes.

use crate::error::{LayerError, Result};
use ndarray::{ArrayD, IxDyn};
use tract_onnx::data_resolver::MmapDataResolver;
use tract_onnx::pb::{self, tensor_shape_proto::dimension::Value as Dim, type_proto};
use tract_onnx::prelude::{DatumType, Tensor};

/// The display name of a node: its name, else its first output.
pub(crate) fn node_name(node: &pb::NodeProto) -> String {
    if node.name.is_empty() {
        node.output.first().cloned().unwrap_or_default()
    } else {
        node.name.clone()
    }
}

/// A [`LayerError::Onnx`] for `node`.
pub(crate) fn err(node: &pb::NodeProto, reason: impl Into<String>) -> LayerError {
    LayerError::Onnx {
        node: node_name(node),
        op: node.op_type.clone(),
        reason: reason.into(),
    }
}

fn read_err(e: impl std::fmt::Display) -> LayerError {
    LayerError::OnnxRead {
        reason: e.to_string(),
    }
}

/// A tract tensor as an `f64` array. Errors: [`LayerError::OnnxRead`] for a non-numeric type.
pub(crate) fn tensor_array(t: &Tensor) -> Result<ArrayD<f64>> {
    let t = t.cast_to::<f64>().map_err(read_err)?;
    let view = t.to_plain_array_view::<f64>().map_err(read_err)?;
    let data: Vec<f64> = view.iter().copied().collect();
    ArrayD::from_shape_vec(IxDyn(t.shape()), data).map_err(read_err)
}

/// An initializer or a `Constant`'s tensor as an `f64` array (integers are converted
/// exactly up to 2^53). Errors: [`LayerError::OnnxRead`] for an unreadable tensor or one whose
/// data lives in an external file.
pub(crate) fn proto_array(t: &pb::TensorProto) -> Result<ArrayD<f64>> {
    let tensor = tract_onnx::tensor::load_tensor(&MmapDataResolver, t, None)
        .map_err(|e| read_err(format!("tensor '{}': {e}", t.name)))?;
    if tensor.datum_type() == DatumType::String {
        return Err(read_err(format!("tensor '{}' holds strings", t.name)));
    }
    tensor_array(&tensor)
}

/// An optional integer attribute.
pub(crate) fn attr_i64(node: &pb::NodeProto, name: &str) -> Result<Option<i64>> {
    node.get_attr_opt::<i64>(name)
        .map_err(|e| err(node, format!("attribute {name}: {e}")))
}

/// An optional float attribute.
pub(crate) fn attr_f32(node: &pb::NodeProto, name: &str) -> Result<Option<f32>> {
    node.get_attr_opt::<f32>(name)
        .map_err(|e| err(node, format!("attribute {name}: {e}")))
}

/// An optional string attribute.
pub(crate) fn attr_str(node: &pb::NodeProto, name: &str) -> Result<Option<String>> {
    node.get_attr_opt::<String>(name)
        .map_err(|e| err(node, format!("attribute {name}: {e}")))
}

/// An optional list-of-integers attribute.
pub(crate) fn attr_ints(node: &pb::NodeProto, name: &str) -> Result<Option<Vec<i64>>> {
    node.get_attr_opt_vec::<i64>(name)
        .map_err(|e| err(node, format!("attribute {name}: {e}")))
}

/// The value of a `Constant` node.
/// Errors: [`LayerError::Onnx`] when it has none of `value`, `value_float(s)`, `value_int(s)`.
pub(crate) fn constant_value(node: &pb::NodeProto) -> Result<ArrayD<f64>> {
    if let Some(t) = node
        .get_attr_opt::<&pb::TensorProto>("value")
        .map_err(|e| err(node, format!("attribute value: {e}")))?
    {
        return proto_array(t);
    }
    if let Some(v) = attr_f32(node, "value_float")? {
        return Ok(ArrayD::from_elem(IxDyn(&[]), f64::from(v)));
    }
    if let Some(v) = attr_i64(node, "value_int")? {
        return Ok(ArrayD::from_elem(IxDyn(&[]), v as f64));
    }
    if let Some(v) = node
        .get_attr_opt_vec::<f32>("value_floats")
        .map_err(|e| err(node, format!("attribute value_floats: {e}")))?
    {
        let v: Vec<f64> = v.into_iter().map(f64::from).collect();
        return ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).map_err(read_err);
    }
    if let Some(v) = attr_ints(node, "value_ints")? {
        let v: Vec<f64> = v.into_iter().map(|x| x as f64).collect();
        return ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).map_err(read_err);
    }
    Err(err(
        node,
        "only tensor, float(s) and int(s) constants are supported",
    ))
}

/// The declared shape of a graph input: `Some(n)` for a fixed dimension, `None` for a
/// symbolic or missing one; `None` overall when the shape is not given.
pub(crate) fn value_shape(v: &pb::ValueInfoProto) -> Option<Vec<Option<usize>>> {
    let ty = v.r#type.as_ref()?;
    let type_proto::Value::TensorType(t) = ty.value.as_ref()?;
    let shape = t.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| match &d.value {
                Some(Dim::DimValue(n)) if *n > 0 => Some(*n as usize),
                _ => None,
            })
            .collect(),
    )
}
