#include "io/serialize.h"

#include "io/checkpoint_reader.h"
#include "io/format.h"

namespace ember {

void save(const Value& value, const std::string& path) { io::write_native(value, path); }

Value load(const std::string& path, const std::string& map_location) {
  auto reader = io::open_checkpoint(path);
  return io::load_checkpoint(*reader, map_location);
}

}  // namespace ember
