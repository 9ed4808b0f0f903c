#include "ember/core/device.h"

#include <cctype>

namespace ember {

Device::Device(const std::string& spec) {
  if (spec == "cpu") return;
  if (spec.rfind("cuda", 0) == 0) {
    type = DeviceType::CUDA;
    if (spec.size() == 4) return;
    bool digits = spec.size() > 5 && spec[4] == ':' && spec.size() < 10;
    for (size_t i = 5; digits && i < spec.size(); ++i) digits = std::isdigit(static_cast<unsigned char>(spec[i]));
    EMBER_CHECK(digits, "invalid device '", spec, "': expected \"cpu\", \"cuda\" or \"cuda:N\"");
    index = std::stoi(spec.substr(5));
    return;
  }
  EMBER_FAIL("invalid device '", spec, "': expected \"cpu\", \"cuda\" or \"cuda:N\"");
}

}  // namespace ember
