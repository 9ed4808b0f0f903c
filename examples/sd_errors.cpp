// sd_errors: the errors Ember raises when a state dict or a file does not fit, each produced for real.
// docs/state-dicts.md, section "Common errors".
//
//   build/bin/sd_errors --dir /tmp/ember-tutorial
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <vector>

#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/interop/serialize.h"

using namespace ember;
using examples::TwoLayerNet;

namespace {

void show(const char* title, const std::function<void()>& f) {
  std::cout << "== " << title << " ==\n";
  try {
    f();
    std::cout << "(no error)\n";
  } catch (const Error& e) {
    std::cout << e.what() << "\n";
  }
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes, size_t n) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(n));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial";
  examples::Flags flags("sd_errors", "The errors of loading, each produced for real.");
  flags.add("--dir", dir, "folder for the damaged files it writes");
  flags.parse(argc, argv);
  return examples::run_program("sd_errors", [&] {
    manual_seed(0);
    TwoLayerNet model(10, 20, 2);

    // [keys]
    show("missing key", [&] {
      StateDict sd = model.state_dict();
      sd.erase("fc2.bias");
      model.load_state_dict(sd);
    });
    show("unexpected key", [&] {
      StateDict sd = model.state_dict();
      sd.insert("fc3.weight", zeros({2, 2}));
      model.load_state_dict(sd);
    });
    show("size mismatch", [&] {
      TwoLayerNet three_classes(10, 20, 3);
      model.load_state_dict(three_classes.state_dict());
    });
    show("a whole checkpoint where a state dict belongs", [&] {
      Value ckpt = Value::dict({{"epoch", 3}, {"model_state_dict", Value(model.state_dict())}});
      model.load_state_dict(ckpt.to_state_dict());  // should be ckpt.at("model_state_dict")
    });
    // [/keys]

    // [files]
    std::string good = examples::path_in(examples::output_dir(dir), "good.ember");
    save(Value(model.state_dict()), good);
    std::vector<char> bytes = read_bytes(good);
    uint64_t data_offset;
    std::memcpy(&data_offset, bytes.data() + 24, 8);  // docs/FORMAT.md: the preamble

    std::string corrupt = examples::path_in(dir, "corrupt.ember");
    std::vector<char> flipped = bytes;
    flipped[data_offset + 5] ^= 0x10;  // one bit of fc1.weight, as a bad disk or copy might flip it
    write_bytes(corrupt, flipped, flipped.size());
    show("corrupt file", [&] { load(corrupt); });

    std::string truncated = examples::path_in(dir, "truncated.ember");
    write_bytes(truncated, bytes, bytes.size() / 2);  // a copy that stopped half-way
    show("truncated file", [&] { load(truncated); });

    std::string future = examples::path_in(dir, "future.ember");
    std::vector<char> bumped = bytes;
    bumped[8] = 2;  // the format version field: a file from a newer Ember
    write_bytes(future, bumped, bumped.size());
    show("newer format version", [&] { load(future); });

    std::string text = examples::path_in(dir, "notes.txt");
    std::ofstream(text) << "not a checkpoint\n";
    show("not a checkpoint at all", [&] { load(text); });
    // [/files]
  });
}
