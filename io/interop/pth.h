#pragma once
// PyTorch's torch.save files (the zip format of PyTorch 1.6 and later), both ways:
//   Value ckpt = ember::load("model.pth", "cpu");     // detected by content; see io/detect.h
//   ember::save_pth(Value(model.state_dict()), "model.pth");
//   # Python: model.load_state_dict(torch.load("model.pth", weights_only=True))
// The archive holds <prefix>/data.pkl (the pickled tree, read by io/pickle.h's restricted
// unpickler), <prefix>/data/<key> (one record of raw bytes per storage), <prefix>/version and,
// since PyTorch 2.0, <prefix>/byteorder. A tensor is a strided view into a storage; Ember loads
// each as the contiguous tensor PyTorch would give.
#include <string>

#include "ember/core/value.h"
#include "ember/io/interop/serialize.h"  // ember::save_pth

namespace ember::io {

struct PthWriteOptions {
  bool sync = true;  // fsync the file and its folder
  // torch.load(weights_only=True) before PyTorch 2.0 refuses every Python float (pickle's BINFLOAT,
  // "Unsupported operand 71", even in files torch.save wrote itself), and its allowed globals build
  // nothing else that is a float. So each double is written as a 0-dim float64 tensor (exact), which
  // every version loads; PyTorch uses it where it wants a number (an optimizer's lr, a scheduler's
  // gamma) and Ember reads it back as the number it is (Value::is_number/as_double). Off writes
  // plain Python floats, for readers that need a float type (PyTorch 2's weights_only accepts those).
  bool floats_as_tensors = true;
  bool force_zip64 = false;  // test seam: zip64 records even for a small archive
};

// Writes `value` atomically as torch.save would (pickle protocol 2, stored 64-byte-aligned
// records). Tensors sharing the same bytes (tied weights) share one storage record, as in PyTorch.
void write_pth(const Value& value, const std::string& path, const PthWriteOptions& options = {});

}  // namespace ember::io
