#include "ember/io/interop/serialize.h"

#include "ember/io/checkpoint_reader.h"
#include "ember/io/format.h"
#include "ember/io/interop/detect.h"

namespace ember {

std::unique_ptr<io::CheckpointReader> io::open_checkpoint(const std::string& path) { return io::open_detected(path); }

void save(const Value& value, const std::string& path) { io::write_native(value, path); }

Value load(const std::string& path, const std::string& map_location) {
  auto reader = io::open_checkpoint(path);
  return io::load_checkpoint(*reader, map_location);
}

}  // namespace ember
