// The pickler: Value trees as pickle protocol 2, the way torch.save writes them. The restricted
// unpickler, which reads, is in io/unpickler.cpp.
#include <cstring>
#include <unordered_map>

#include "ember/io/checkpoint_reader.h"
#include "ember/io/interop/pickle.h"

namespace ember::io::pickle {

namespace {

bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// "0", "17": a key PyTorch's optimizer would have written as an int.
bool decimal_key(const std::string& s) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

class Pickler {
 public:
  explicit Pickler(const RecordFn& record) : record_(record) {}

  std::string run(const Value& v) {
    out_ += "\x80\x02";
    write(v, "", false);
    out_ += '.';
    return std::move(out_);
  }

 private:
  void le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) out_ += char(uint8_t(v >> (8 * k)));
  }
  void write_int(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';
      le(uint64_t(v), 1);
    } else if (v >= 0 && v < 65536) {
      out_ += 'M';
      le(uint64_t(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      le(uint64_t(uint32_t(int32_t(v))), 4);
    } else {
      // LONG1: the fewest little-endian two's-complement bytes, as Python writes.
      int n = 8;
      while (n > 1) {
        uint8_t top = uint8_t(uint64_t(v) >> (8 * (n - 1))), next = uint8_t(uint64_t(v) >> (8 * (n - 2)));
        if ((top == 0 && !(next & 0x80)) || (top == 0xFF && (next & 0x80))) --n;
        else break;
      }
      out_ += '\x8a';
      le(uint64_t(n), 1);
      le(uint64_t(v), n);
    }
  }
  void write_str(const std::string& s, const std::string& path) {
    EMBER_CHECK(valid_utf8(s), "save_pth: the string at \"", path, "\" is not valid UTF-8, which Python cannot read");
    EMBER_CHECK(s.size() <= UINT32_MAX, "save_pth: the string at \"", path, "\" is too long for pickle protocol 2");
    out_ += 'X';
    le(s.size(), 4);
    out_ += s;
  }
  void write_global(const char* module, const char* name) {
    std::string key = std::string(module) + "\n" + name + "\n";
    auto it = memo_.find(key);
    if (it != memo_.end()) {
      memo_get(it->second);
      return;
    }
    out_ += 'c';
    out_ += key;
    uint32_t index = uint32_t(memo_.size());
    memo_.emplace(key, index);
    if (index < 256) {
      out_ += 'q';
      le(index, 1);
    } else {
      out_ += 'r';
      le(index, 4);
    }
  }
  void memo_get(uint32_t index) {
    if (index < 256) {
      out_ += 'h';
      le(index, 1);
    } else {
      out_ += 'j';
      le(index, 4);
    }
  }
  void write_ints(const std::vector<int64_t>& v) {
    if (v.empty()) {
      out_ += ')';
      return;
    }
    out_ += '(';
    for (int64_t x : v) write_int(x);
    out_ += 't';
  }
  void empty_ordered_dict() {
    write_global("collections", "OrderedDict");
    out_ += ")R";
  }

  void write_tensor(const Tensor& t, const std::string& path) {
    StorageRecord r = record_(path, t);
    write_global("torch._utils", "_rebuild_tensor_v2");
    out_ += "((";
    write_str("storage", path);
    write_global("torch", storage_type_name(t.dtype()));
    write_str(r.key, path);
    write_str(r.location, path);
    write_int(int64_t(r.numel));
    out_ += "tQ";
    write_int(int64_t(r.offset));
    std::vector<int64_t> stride(t.shape().size());
    int64_t s = 1;
    for (size_t d = stride.size(); d-- > 0;) {
      stride[d] = s;
      s *= t.shape()[d];
    }
    write_ints(t.shape());
    write_ints(stride);
    out_ += '\x89';  // requires_grad=False, as a state dict's tensors
    empty_ordered_dict();
    out_ += "tR";
  }

  void write(const Value& v, const std::string& path, bool int_keys) {
    switch (v.kind()) {
      case Value::Kind::None: out_ += 'N'; return;
      case Value::Kind::Bool: out_ += v.as_bool() ? '\x88' : '\x89'; return;
      case Value::Kind::Int: write_int(v.as_int()); return;
      case Value::Kind::Double: {
        double d = v.as_double();
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        out_ += 'G';
        for (int k = 7; k >= 0; --k) out_ += char(uint8_t(bits >> (8 * k)));
        return;
      }
      case Value::Kind::String: write_str(v.as_string(), path); return;
      case Value::Kind::Tensor: write_tensor(v.as_tensor(), path); return;
      case Value::Kind::List: {
        out_ += ']';
        if (v.size() == 0) return;
        out_ += '(';
        for (size_t i = 0; i < v.size(); ++i) write(v.at(i), child_path(path, std::to_string(i)), false);
        out_ += 'e';
        return;
      }
      case Value::Kind::Dict: break;
    }
    const Value::Dict& d = v.as_dict();
    bool all_tensors = !d.empty();
    for (const auto& [key, child] : d) all_tensors = all_tensors && child.is_tensor();
    if (all_tensors) {
      write_global("collections", "OrderedDict");
      out_ += ")R";
    } else {
      out_ += '}';
    }
    if (d.empty()) return;
    // An optimizer state dict: {"state": {0: {...}, ...}, "param_groups": [...]}.
    bool optimizer = d.contains("state") && d.contains("param_groups");
    out_ += '(';
    for (const auto& [key, child] : d) {
      if (int_keys) write_int(std::stoll(key));
      else write_str(key, path);
      // Int keys where PyTorch has them: an optimizer's "state" ({0: {...}}), and MultiStepLR's
      // "milestones" beside "gamma" (PyTorch's Counter {epoch: count}, written as a plain dict).
      bool child_int_keys = ((optimizer && key == "state") || (key == "milestones" && d.contains("gamma"))) &&
                            child.is_dict() && child.size() > 0;
      if (child_int_keys)
        for (const auto& [k, unused] : child.as_dict()) child_int_keys = child_int_keys && decimal_key(k);
      write(child, child_path(path, escape_key(key)), child_int_keys);
    }
    out_ += 'u';
  }

  const RecordFn& record_;
  std::string out_;
  std::unordered_map<std::string, uint32_t> memo_;
};

}  // namespace

std::string pickle_value(const Value& value, const RecordFn& record) { return Pickler(record).run(value); }

}  // namespace ember::io::pickle
