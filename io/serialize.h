#pragma once
// ember::save and ember::load: a checkpoint value tree to and from a file, as torch.save/torch.load.
//   ember::save(Value::dict({{"epoch", 3}, {"model_state_dict", model.state_dict()}}), "ckpt.ember");
//   Value ckpt = ember::load("ckpt.ember", "cpu");
#include <string>

#include "io/value.h"

namespace ember {

// Writes atomically (temporary file, fsync, rename, fsync of the folder): a crash part-way leaves
// the previous file intact. Throws ember::Error naming the path and the system's reason on failure.
void save(const Value& value, const std::string& path);

// Reads and validates a checkpoint. map_location: "" keeps each tensor's recorded device, "cpu"
// loads everything onto the CPU, "cuda:N" onto that GPU.
Value load(const std::string& path, const std::string& map_location = "");

}  // namespace ember
