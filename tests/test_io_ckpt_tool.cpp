// ember-ckpt, run as a user runs it: its output and its exit codes.
#include <sys/wait.h>

#include <cstdio>

#include "ember/io/format.h"
#include "ember/io/interop/serialize.h"
#include "io_helpers.h"

using namespace ember;
using namespace ember::test;

namespace {
struct Run {
  int code;
  std::string out;  // stdout and stderr together
};

Run ckpt(const std::string& args) {
  std::string exe = std::string(EMBER_BINARY_DIR) + "/bin/ember-ckpt";
  REQUIRE_MESSAGE(std::filesystem::exists(exe), exe, " is missing: build the ember-ckpt target");
  FILE* p = popen((exe + " " + args + " 2>&1").c_str(), "r");
  REQUIRE(p);
  Run r{0, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string q(const std::string& path) { return "'" + path + "'"; }

Value checkpoint(int epoch, float w0) {
  StateDict model;
  model.insert("conv1.weight", from_vector<float>({w0, 2, 3, 4}, {2, 2}));
  model.insert("conv1.bias", from_vector<float>({0.5f, 0.25f}, {2}));
  return Value::dict({{"epoch", epoch},
                      {"model_state_dict", model},
                      {"optimizer_state_dict", Value::dict({{"state", Value::dict()}, {"lr", 0.01}})},
                      {"loss", 0.03}});
}
}  // namespace

TEST_CASE("ember-ckpt usage: help, and non-zero exits on bad usage") {
  Run help = ckpt("--help");
  CHECK(help.code == 0);
  CHECK(contains(help.out, "inspect FILE"));
  CHECK(contains(help.out, "extract FILE KEY OUT"));
  CHECK(ckpt("").code == 2);
  Run unknown = ckpt("frobnicate x");
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.out, "unknown command 'frobnicate'"));
  CHECK(ckpt("verify").code == 2);
  CHECK(ckpt("diff onlyone").code == 2);
}

TEST_CASE("ember-ckpt inspect and verify") {
  ScratchDir tmp("io_tool_inspect");
  std::string path = tmp.file("ckpt.ember");
  save(checkpoint(3, 1), path);
  Run r = ckpt("inspect " + q(path));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(contains(r.out, "\"epoch\": 3"));
  CHECK(contains(r.out, "\"conv1.weight\": tensor float32 [2, 2]"));
  CHECK(contains(r.out, "\"model_state_dict/conv1.bias\"  float32  [2]  8 bytes  ok 0x"));
  CHECK(contains(r.out, "total: 2 tensors, 6 elements, 24 bytes of tensor data; 2 checksums ok, 0 bad"));

  Run v = ckpt("verify " + q(path));
  CHECK(v.code == 0);
  CHECK(contains(v.out, "OK"));

  // One flipped data byte: verify and inspect both name the tensor and fail.
  std::vector<uint8_t> b = read_bytes(path);
  io::NativeReader reader(path);
  b[reader.tensors()[1].offset] ^= 1;
  std::string bad = tmp.file("bad.ember");
  write_bytes(bad, b);
  Run vb = ckpt("verify " + q(bad));
  CHECK(vb.code == 1);
  CHECK(contains(vb.out, "BAD \"model_state_dict/conv1.bias\": checksum mismatch"));
  CHECK(contains(vb.out, "DAMAGED: 1 of 2 tensors"));
  CHECK(ckpt("inspect " + q(bad)).code == 1);

  // A truncated file: verify says why and fails.
  write_bytes(bad, b, b.size() - 1);
  Run vt = ckpt("verify " + q(bad));
  CHECK(vt.code == 1);
  CHECK(contains(vt.out, "INVALID"));
  CHECK(contains(vt.out, "truncated"));
  CHECK(ckpt("verify " + q(tmp.file("absent.ember"))).code == 1);
}

TEST_CASE("ember-ckpt diff") {
  ScratchDir tmp("io_tool_diff");
  std::string a = tmp.file("a.ember"), b = tmp.file("b.ember"), c = tmp.file("c.ember");
  save(checkpoint(3, 1), a);
  save(checkpoint(3, 1), b);
  Run same = ckpt("diff " + q(a) + " " + q(b));
  CHECK(same.code == 0);
  CHECK(contains(same.out, "identical"));

  Value changed = checkpoint(4, 1.5f);
  changed["model_state_dict"].as_dict().erase("conv1.bias");
  changed["model_state_dict"]["fc.weight"] = from_vector<float>({1}, {1});
  changed["loss"] = from_vector<double>({0.03}, {1});
  save(changed, c);
  Run d = ckpt("diff " + q(a) + " " + q(c));
  INFO(d.out);
  CHECK(d.code == 1);
  CHECK(contains(d.out, "~ epoch: 3 -> 4"));
  CHECK(contains(d.out, "~ model_state_dict/conv1.weight: 1 of 4 elements differ, max abs difference 0.5"));
  CHECK(contains(d.out, "- model_state_dict/conv1.bias: tensor float32 [2]"));
  CHECK(contains(d.out, "+ model_state_dict/fc.weight: tensor float32 [1]"));
  CHECK(contains(d.out, "~ loss: 0.03 -> tensor float64 [1]"));
  CHECK(contains(d.out, "5 differences"));

  Value reshaped = checkpoint(3, 1);
  reshaped["model_state_dict"]["conv1.weight"] = from_vector<float>({1, 2, 3, 4}, {4});
  save(reshaped, c);
  Run s = ckpt("diff " + q(a) + " " + q(c));
  CHECK(s.code == 1);
  CHECK(contains(s.out, "~ model_state_dict/conv1.weight: tensor float32 [2, 2] -> tensor float32 [4]"));
}

TEST_CASE("ember-ckpt extract writes a standalone checkpoint") {
  ScratchDir tmp("io_tool_extract");
  std::string path = tmp.file("train.ember"), out = tmp.file("model.ember");
  Value ckpt_value = checkpoint(7, 1);
  save(ckpt_value, path);
  Run r = ckpt("extract " + q(path) + " model_state_dict " + q(out));
  INFO(r.out);
  CHECK(r.code == 0);
  StateDict sd = load(out).to_state_dict();
  CHECK(sd.keys() == std::vector<std::string>{"conv1.weight", "conv1.bias"});
  CHECK(sd.at("conv1.weight").to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(ckpt("verify " + q(out)).code == 0);

  CHECK(ckpt("extract " + q(path) + " optimizer_state_dict/lr " + q(out)).code == 0);
  CHECK(load(out).as_double() == 0.01);

  Run missing = ckpt("extract " + q(path) + " no_such_key " + q(out));
  CHECK(missing.code == 1);
  CHECK(contains(missing.out, "key \"no_such_key\" not found"));
}
