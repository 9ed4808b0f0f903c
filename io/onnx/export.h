#pragma once
// ONNX export by tracing: one forward pass of the model on an example input, recorded op by op,
// written as an ONNX model (a graph of standard operators plus the weights) that ONNX Runtime and
// other ONNX tools run without Ember's code.
//
//   model.eval();
//   ember::onnx::export_model(model, example_batch, "mnist.onnx");
//
// What the file holds:
//   - every parameter and persistent buffer as an initializer named by its state-dict key
//     ("conv1.weight", "bn1.running_mean"), so ember::load("mnist.onnx") gives the state dict back;
//   - one input and one output, named by the options, with dim 0 symbolic (the batch size);
//   - the graph in the opset of the options (13 to 17: what Debian's libonnx 1.12 checks).
// Modules are exported in the mode they are in: call eval() first. A BatchNorm in training mode is
// refused (its batch statistics depend on the batch), as is Dropout in training mode; the error
// names the op and the module path ("bn1") where it ran, and the model's buffers are left as they
// were. An op without an ONNX mapping is refused the same way. The file is checked with
// onnx::checker before it is written (atomically, as every Ember file).
#include <cstdint>
#include <string>

#include "ember/core/options.h"
#include "ember/core/tensor.h"
#include "ember/nn/module.h"

namespace ember::onnx {

struct ExportOptions {
  EMBER_ARG(std::string, input_name) = "input";
  EMBER_ARG(std::string, output_name) = "output";
  // The name of the symbolic batch dimension; empty keeps the example's batch size fixed.
  EMBER_ARG(std::string, batch_dim) = "batch";
  EMBER_ARG(int64_t, opset) = 17;
};

// What an export wrote (for messages and tests).
struct ExportSummary {
  int64_t nodes = 0;
  int64_t initializers = 0;
  int64_t opset = 0;
};

// Whether this build of Ember has ONNX support (libonnx-dev was found at configure time).
bool available();

// Traces model(example_input) and writes the ONNX model to `path`. Throws ember::Error naming the
// op and module for anything it cannot express, and naming the file for I/O errors.
ExportSummary export_model(nn::Module& model, const Tensor& example_input, const std::string& path,
                           const ExportOptions& options = {});

}  // namespace ember::onnx
