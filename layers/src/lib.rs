//! hetile-layers: HE-friendly layers, models, polynomial activations and ONNX import (issue 7).
//! Nothing is implemented yet.
