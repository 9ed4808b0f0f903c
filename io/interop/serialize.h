#pragma once
// ember::save and ember::load: a checkpoint value tree to and from a file, as torch.save/torch.load.
//   ember::save(Value::dict({{"epoch", 3}, {"model_state_dict", model.state_dict()}}), "ckpt.ember");
//   Value ckpt = ember::load("ckpt.ember", "cpu");
// load() also reads PyTorch .pth and safetensors files, recognised by content (docs/interop.md);
// save_pth and save_safetensors write them.
#include <memory>
#include <string>

#include "ember/core/ordered_dict.h"
#include "ember/core/value.h"
#include "ember/io/checkpoint_reader.h"

namespace ember {

namespace io {
// Opens `path` with the reader its leading bytes call for (Ember's format, PyTorch .pth or
// safetensors, io/interop/detect.h); throws naming the file if none fits.
std::unique_ptr<CheckpointReader> open_checkpoint(const std::string& path);
}  // namespace io

// Writes atomically (temporary file, fsync, rename, fsync of the folder): a crash part-way leaves
// the previous file intact. Throws ember::Error naming the path and the system's reason on failure.
void save(const Value& value, const std::string& path);

// Reads and validates a checkpoint: Ember's format, a PyTorch .pth or a safetensors file, whatever
// the file's name. map_location: "" keeps each tensor's recorded device, "cpu" loads everything onto
// the CPU, "cuda:N" onto that GPU.
Value load(const std::string& path, const std::string& map_location = "");

// A checkpoint or state dict as a PyTorch .pth file, which torch.load(path, weights_only=True)
// reads from torch 1.13 on: doubles are written as 0-dim float64 tensors (io/interop/pth.h says why).
void save_pth(const Value& value, const std::string& path);

// A flat dict of tensors (a state dict) as a safetensors file, with optional string metadata;
// anything else is refused naming the first entry that is not a tensor.
void save_safetensors(const Value& tensors, const std::string& path, const OrderedDict<std::string>& metadata = {});

}  // namespace ember
