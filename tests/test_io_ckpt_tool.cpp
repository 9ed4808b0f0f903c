// ember-ckpt, run as a user runs it: its output and its exit codes.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cstdio>
#include <regex>

#include "ember/io/native_reader.h"
#include "ember/io/interop/serialize.h"
#include "io_helpers.h"

using namespace ember;
using namespace ember::test;

namespace {
using Run = ShellResult;  // stdout and stderr together

// Runs ember-ckpt with `args`; `before` is shell put in front of it (a ulimit, say).
Run ckpt(const std::string& args, const std::string& before = "") {
  std::string exe = std::string(EMBER_BINARY_DIR) + "/bin/ember-ckpt";
  REQUIRE_MESSAGE(std::filesystem::exists(exe), exe, " is missing: build the ember-ckpt target");
  return run_shell(before + exe + " " + args);
}

std::string q(const std::string& path) { return "'" + path + "'"; }

size_t count(const std::string& s, const std::string& part) {
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

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
  CHECK(contains(help.output, "inspect FILE"));
  CHECK(contains(help.output, "extract FILE KEY OUT"));
  CHECK(ckpt("").code == 2);
  Run unknown = ckpt("frobnicate x");
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.output, "unknown command 'frobnicate'"));
  CHECK(ckpt("verify").code == 2);
  CHECK(ckpt("diff onlyone").code == 2);
}

TEST_CASE("ember-ckpt inspect and verify") {
  ScratchDir tmp("io_tool_inspect");
  std::string path = tmp.file("ckpt.ember");
  save(checkpoint(3, 1), path);
  Run r = ckpt("inspect " + q(path));
  INFO(r.output);
  CHECK(r.code == 0);
  // The values, then one table of the tensors, each listed once, columns aligned.
  CHECK(std::regex_search(r.output, std::regex("\n  epoch +3\n")));
  CHECK(std::regex_search(r.output, std::regex("\n  optimizer_state_dict/state +\\{\\}\n")));
  CHECK(contains(r.output, "\ntensors:\n  tensor                           dtype    shape   bytes  checksum\n"));
  CHECK(contains(r.output, "\n  \"model_state_dict/conv1.weight\"  float32  [2, 2]     16  ok 0x"));
  CHECK(contains(r.output, "\n  \"model_state_dict/conv1.bias\"    float32  [2]         8  ok 0x"));
  CHECK(count(r.output, "conv1.bias") == 1);
  CHECK(contains(r.output, "total: 2 tensors, 6 elements, 24 bytes of tensor data; 2 checksums ok, 0 bad"));

  Run v = ckpt("verify " + q(path));
  CHECK(v.code == 0);
  CHECK(contains(v.output, "OK"));

  // One flipped data byte: verify and inspect both name the tensor and fail.
  std::vector<uint8_t> b = read_bytes(path);
  io::NativeReader reader(path);
  b[reader.tensors()[1].offset] ^= 1;
  std::string bad = tmp.file("bad.ember");
  write_bytes(bad, b);
  Run vb = ckpt("verify " + q(bad));
  CHECK(vb.code == 1);
  CHECK(contains(vb.output, "BAD \"model_state_dict/conv1.bias\": checksum mismatch"));
  CHECK(contains(vb.output, "DAMAGED: 1 of 2 tensors"));
  CHECK(ckpt("inspect " + q(bad)).code == 1);

  // A truncated file: verify says why and fails.
  write_bytes(bad, b, b.size() - 1);
  Run vt = ckpt("verify " + q(bad));
  CHECK(vt.code == 1);
  CHECK(contains(vt.output, "INVALID"));
  CHECK(contains(vt.output, "truncated"));
  CHECK(ckpt("verify " + q(tmp.file("absent.ember"))).code == 1);
}

TEST_CASE("ember-ckpt diff") {
  ScratchDir tmp("io_tool_diff");
  std::string a = tmp.file("a.ember"), b = tmp.file("b.ember"), c = tmp.file("c.ember");
  save(checkpoint(3, 1), a);
  save(checkpoint(3, 1), b);
  Run same = ckpt("diff " + q(a) + " " + q(b));
  CHECK(same.code == 0);
  CHECK(contains(same.output, "identical"));

  Value changed = checkpoint(4, 1.5f);
  changed["model_state_dict"].as_dict().erase("conv1.bias");
  changed["model_state_dict"]["fc.weight"] = from_vector<float>({1}, {1});
  changed["loss"] = from_vector<double>({0.03}, {1});
  save(changed, c);
  Run d = ckpt("diff " + q(a) + " " + q(c));
  INFO(d.output);
  CHECK(d.code == 1);
  CHECK(contains(d.output, "~ epoch: 3 -> 4"));
  CHECK(contains(d.output, "~ model_state_dict/conv1.weight: 1 of 4 elements differ, max abs difference 0.5"));
  CHECK(contains(d.output, "- model_state_dict/conv1.bias: tensor float32 [2]"));
  CHECK(contains(d.output, "+ model_state_dict/fc.weight: tensor float32 [1]"));
  CHECK(contains(d.output, "~ loss: 0.03 -> tensor float64 [1]"));
  CHECK(contains(d.output, "5 differences"));

  Value reshaped = checkpoint(3, 1);
  reshaped["model_state_dict"]["conv1.weight"] = from_vector<float>({1, 2, 3, 4}, {4});
  save(reshaped, c);
  Run s = ckpt("diff " + q(a) + " " + q(c));
  CHECK(s.code == 1);
  CHECK(contains(s.output, "~ model_state_dict/conv1.weight: tensor float32 [2, 2] -> tensor float32 [4]"));
}

// Issue 17: diff widened both files to doubles, 2.8 GB for a file of 150 MB. Two files of one
// 128 MiB float32 tensor each, differing in every element, must compare within an address space that
// holds the two tensors as read (256 MiB) and the program, but not four times that again.
#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("ember-ckpt diff compares big tensors in memory proportional to the files") {
  ScratchDir tmp("io_tool_diff_big");
  std::string a = tmp.file("a.ember"), b = tmp.file("b.ember");
  const int64_t n = int64_t(32) << 20;
  save(Value::dict({{"w", full({n}, 1.0)}}), a);
  save(Value::dict({{"w", full({n}, 1.5)}}), b);
  Run d = ckpt("diff " + q(a) + " " + q(b), "ulimit -v 786432; OMP_NUM_THREADS=1 ");  // 768 MiB
  INFO(d.output);
  CHECK(d.code == 1);
  CHECK(contains(d.output, "~ w: 33554432 of 33554432 elements differ, max abs difference 0.5"));
}
#endif

TEST_CASE("ember-ckpt extract writes a standalone checkpoint") {
  ScratchDir tmp("io_tool_extract");
  std::string path = tmp.file("train.ember"), out = tmp.file("model.ember");
  Value ckpt_value = checkpoint(7, 1);
  save(ckpt_value, path);
  Run r = ckpt("extract " + q(path) + " model_state_dict " + q(out));
  INFO(r.output);
  CHECK(r.code == 0);
  StateDict sd = load(out).to_state_dict();
  CHECK(sd.keys() == std::vector<std::string>{"conv1.weight", "conv1.bias"});
  CHECK(sd.at("conv1.weight").to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  CHECK(ckpt("verify " + q(out)).code == 0);

  CHECK(ckpt("extract " + q(path) + " optimizer_state_dict/lr " + q(out)).code == 0);
  CHECK(load(out).as_double() == 0.01);

  Run missing = ckpt("extract " + q(path) + " no_such_key " + q(out));
  CHECK(missing.code == 1);
  CHECK(contains(missing.output, "key \"no_such_key\" not found; the keys there are \"epoch\", \"model_state_dict\", "
                             "\"optimizer_state_dict\", \"loss\""));
  CHECK(contains(missing.output, "wrote ") == false);
}

TEST_CASE("ember-ckpt inspect --stats and --key; show prints values") {
  ScratchDir tmp("io_tool_stats");
  std::string path = tmp.file("ckpt.ember");
  Value v = checkpoint(3, 1);
  v["model_state_dict"]["odd"] = from_vector<float>({1, 3, NAN, INFINITY, -INFINITY, 5}, {6});
  v["step"] = from_vector<double>({7}, {});  // 0-dim
  save(v, path);

  Run r = ckpt("inspect " + q(path) + " --stats");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(std::regex_search(r.output, std::regex("checksum +mean +std +min +max +nan +inf\n")));
  // Of the finite elements 1, 3, 5: mean 3, std 2 (Bessel's correction, as torch.std), min 1, max 5.
  CHECK(std::regex_search(r.output, std::regex(R"("model_state_dict/odd" +float32 +\[6\] +24 +ok 0x[0-9a-f]{8} +3 +2 +1 +5 +1 +2\n)")));
  CHECK(std::regex_search(r.output, std::regex(R"("model_state_dict/conv1.weight" .* 2.5 +1.29099 +1 +4 +0 +0\n)")));

  Run k = ckpt("inspect " + q(path) + " --key model_state_dict");
  CHECK(k.code == 0);
  CHECK(contains(k.output, "conv1.weight"));
  CHECK(!contains(k.output, "epoch"));
  CHECK(contains(k.output, "total: 3 tensors, 12 elements"));
  Run glob = ckpt("inspect " + q(path) + " --key '*bias'");
  CHECK(contains(glob.output, "total: 1 tensor, 2 elements, 8 bytes of tensor data; 1 checksum ok, 0 bad"));
  Run none = ckpt("inspect " + q(path) + " --key nothing");
  CHECK(none.code == 1);
  CHECK(contains(none.output, "nothing matches --key \"nothing\"; the top-level keys are \"epoch\", \"model_state_dict\""));

  Run s = ckpt("show " + q(path) + " model_state_dict/conv1.weight");
  CHECK(s.code == 0);
  CHECK(s.output == "model_state_dict/conv1.weight: tensor float32 [2, 2]\n[[1, 2],\n [3, 4]]\n");
  CHECK(ckpt("show " + q(path) + " step").output == "step: tensor float64 []\n7\n");
  CHECK(ckpt("show " + q(path) + " epoch").output == "epoch: 3\n");
  Run odd = ckpt("show " + q(path) + " model_state_dict/odd");
  CHECK(contains(odd.output, "[1, 3, nan, inf, -inf, 5]"));
  // Past 1000 elements: the first and last three of each dimension.
  Value big = Value::dict({{"w", arange(0, 2000, 1, kFloat32).reshape({2, 1000})}});
  save(big, tmp.file("big.ember"));
  Run b = ckpt("show " + q(tmp.file("big.ember")) + " w");
  CHECK(contains(b.output, "[[0, 1, 2, ..., 997, 998, 999],\n [1000, 1001, 1002, ..., 1997, 1998, 1999]]"));
  CHECK(count(ckpt("show " + q(tmp.file("big.ember")) + " w --all").output, ",") == 1999 + 1);  // + the one in the shape
  Run missing = ckpt("show " + q(path) + " model_state_dict/conv2.weight");
  CHECK(missing.code == 1);
  CHECK(contains(missing.output, "key \"conv2.weight\" not found in \"model_state_dict\"; the keys there are "
                              "\"conv1.weight\", \"conv1.bias\", \"odd\""));
  Run through = ckpt("show " + q(path) + " epoch/x");
  CHECK(contains(through.output, "\"epoch\" is an int (3), so it has no key \"x\""));
}

// Issue 25 (item 5): diff widened int64 to double, so 2^53 + 1 and 2^53, or INT64_MAX and
// INT64_MAX - 1, were "equal" with exit 0; show printed INT64_MAX as 9.22337e+18.
TEST_CASE("ember-ckpt diff and show are exact for integers") {
  ScratchDir tmp("io_tool_int64");
  const int64_t p53 = int64_t(1) << 53, max = INT64_MAX;
  auto file = [&](const std::string& name, int64_t big, int64_t top, int64_t n, uint8_t byte) {
    Value v = Value::dict({{"w", from_vector<int64_t>({1, big, top}, {3})},
                           {"step", from_vector<int64_t>({top}, {})},
                           {"n", n},
                           {"u", from_vector<uint8_t>({0, byte}, {2})}});
    save(v, tmp.file(name));
    return q(tmp.file(name));
  };
  std::string a = file("a.ember", p53 + 1, max, p53 + 1, 255);
  std::string same = file("same.ember", p53 + 1, max, p53 + 1, 255);
  CHECK(ckpt("diff " + a + " " + same).output == "identical\n");

  // One element of an int64 tensor, 2^53 + 1 against 2^53: one double, two integers.
  Run big = ckpt("diff " + a + " " + file("b.ember", p53, max, p53 + 1, 255));
  INFO(big.output);
  CHECK(big.code == 1);
  CHECK(contains(big.output, "~ w: 1 of 3 elements differ, max abs difference 1\n"));
  CHECK(contains(big.output, "1 difference\n"));
  // INT64_MAX against INT64_MAX - 1, in a 0-dim tensor and in a tensor; an int value 2^53 + 1 against 2^53.
  Run top = ckpt("diff " + a + " " + file("c.ember", p53 + 1, max - 1, p53, 255));
  INFO(top.output);
  CHECK(top.code == 1);
  CHECK(contains(top.output, "~ w: 1 of 3 elements differ, max abs difference 1\n"));
  CHECK(contains(top.output, "~ step: tensor int64 [] 9223372036854775807 -> 9223372036854775806\n"));
  CHECK(contains(top.output, "~ n: 9007199254740993 -> 9007199254740992\n"));
  CHECK(contains(top.output, "3 differences\n"));
  // The largest difference of two int64s, exact; uint8 compared as integers too.
  Run far = ckpt("diff " + a + " " + file("d.ember", p53 + 1, INT64_MIN, p53 + 1, 254));
  INFO(far.output);
  CHECK(far.code == 1);
  CHECK(contains(far.output, "~ w: 1 of 3 elements differ, max abs difference 18446744073709551615\n"));
  CHECK(contains(far.output, "~ u: 1 of 2 elements differ, max abs difference 1\n"));
  // A tolerance applies to integer elements as |a - b| <= atol + rtol * |b|, exactly.
  CHECK(ckpt("diff " + a + " " + file("e.ember", p53, max, p53 + 1, 255) + " --atol 1").code == 0);
  CHECK(ckpt("diff " + a + " " + file("f.ember", p53 - 1, max, p53 + 1, 255) + " --atol 1").code == 1);

  // An int against a 0-dim float64 tensor (PyTorch's form of a number): equal in value only.
  Value as_int = Value::dict({{"n", p53 + 1}});
  Value as_double = Value::dict({{"n", from_vector<double>({double(p53)}, {})}});
  save(as_int, tmp.file("int.ember"));
  save(as_double, tmp.file("double.ember"));
  Run mixed = ckpt("diff " + q(tmp.file("int.ember")) + " " + q(tmp.file("double.ember")));
  INFO(mixed.output);
  CHECK(mixed.code == 1);
  CHECK(contains(mixed.output, "~ n: 9007199254740993 -> tensor float64 [] 9007199254740992.0\n"));
  save(Value::dict({{"n", p53}}), tmp.file("int2.ember"));
  CHECK(ckpt("diff " + q(tmp.file("int2.ember")) + " " + q(tmp.file("double.ember"))).code == 0);

  // show and inspect --stats print integers with every digit.
  CHECK(ckpt("show " + a + " w").output == "w: tensor int64 [3]\n[1, 9007199254740993, 9223372036854775807]\n");
  CHECK(ckpt("show " + a + " step").output == "step: tensor int64 []\n9223372036854775807\n");
  CHECK(ckpt("show " + a + " n").output == "n: 9007199254740993\n");
  CHECK(ckpt("show " + a + " u").output == "u: tensor uint8 [2]\n[0, 255]\n");
  Run stats = ckpt("inspect " + a + " --stats --key w");
  INFO(stats.output);
  CHECK(std::regex_search(stats.output, std::regex(R"( 1 +9223372036854775807 +0 +0\n)")));
}

TEST_CASE("ember-ckpt diff --atol/--rtol, across formats, 0-dim values shown") {
  ScratchDir tmp("io_tool_tol");
  std::string a = tmp.file("a.ember"), b = tmp.file("b.pth"), c = tmp.file("c.ember");
  Value va = checkpoint(3, 1);
  va["step"] = from_vector<double>({7}, {});
  save(va, a);
  Value vb = checkpoint(3, 1.0000002f);  // two runs that differ by 2e-7 (two float steps above 1)
  vb["loss"] = 0.0300000001;
  vb["step"] = from_vector<double>({7}, {});
  save_pth(vb, b);

  Run exact = ckpt("diff " + q(a) + " " + q(b));
  INFO(exact.output);
  CHECK(exact.code == 1);
  CHECK(contains(exact.output, "~ model_state_dict/conv1.weight: 1 of 4 elements differ, max abs difference 2.384185791015625e-07"));
  CHECK(contains(exact.output, "2 differences"));
  Run close = ckpt("diff " + q(a) + " " + q(b) + " --atol 1e-6");
  INFO(close.output);
  CHECK(close.code == 0);
  CHECK(contains(close.output, "equal within atol 1e-06, rtol 0.0 (2 entries not bit-identical, max abs difference 2.384185791015625e-07)"));
  CHECK(ckpt("diff " + q(a) + " " + q(b) + " --rtol 1e-6").code == 0);
  CHECK(ckpt("diff " + q(a) + " " + q(b) + " --atol 1e-8").code == 1);

  // A 0-dim tensor that differs shows its two values.
  va["step"] = from_vector<double>({8}, {});
  save(va, c);
  Run zero = ckpt("diff " + q(a) + " " + q(c));
  CHECK(contains(zero.output, "~ step: tensor float64 [] 7.0 -> 8.0"));
  CHECK(contains(zero.output, "1 difference\n"));

  // Bad options are named.
  Run unknown = ckpt("diff " + q(a) + " " + q(b) + " --tolerance 1");
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.output, "diff: unknown option '--tolerance' (it takes --atol, --rtol)"));
  Run negative = ckpt("diff " + q(a) + " " + q(b) + " --atol -1");
  CHECK(negative.code == 2);
  CHECK(contains(negative.output, "--atol: expected a number >= 0, found '-1'"));
  CHECK(contains(ckpt("diff " + q(a) + " " + q(b) + " --atol").output, "diff: --atol needs a value"));
  CHECK(contains(ckpt("inspect " + q(a) + " --stat").output, "inspect: unknown option '--stat' (it takes --key, --stats)"));
}

TEST_CASE("ember-ckpt extract and convert write the format OUT's extension names, and refuse a mismatch") {
  ScratchDir tmp("io_tool_formats");
  std::string path = tmp.file("train.ember");
  save(checkpoint(7, 1), path);

  Run pth = ckpt("extract " + q(path) + " model_state_dict " + q(tmp.file("model.pth")));
  INFO(pth.output);
  CHECK(pth.code == 0);
  CHECK(contains(pth.output, ": pth, model_state_dict, 2 tensors"));
  CHECK(contains(ckpt("inspect " + q(tmp.file("model.pth"))).output, "pytorch zip"));
  Run st = ckpt("extract " + q(path) + " model_state_dict " + q(tmp.file("model.safetensors")));
  CHECK(st.code == 0);
  CHECK(contains(ckpt("inspect " + q(tmp.file("model.safetensors"))).output, "safetensors"));
  CHECK(ckpt("diff " + q(tmp.file("model.pth")) + " " + q(tmp.file("model.safetensors"))).output == "identical\n");

  Run clash = ckpt("extract " + q(path) + " model_state_dict " + q(tmp.file("model.pth")) + " --to safetensors");
  CHECK(clash.code == 2);
  CHECK(contains(clash.output, "--to safetensors contradicts the extension of"));
  Run unknown_ext = ckpt("extract " + q(path) + " model_state_dict " + q(tmp.file("model.bin")));
  CHECK(unknown_ext.code == 2);
  CHECK(contains(unknown_ext.output, "cannot tell the format of " + tmp.file("model.bin") + " from its extension '.bin'"));
  CHECK(!std::filesystem::exists(tmp.file("model.bin")));
  CHECK(ckpt("extract " + q(path) + " model_state_dict " + q(tmp.file("model.bin")) + " --to ember").code == 0);

  // convert --key: a training checkpoint's weights to safetensors in one step.
  Run conv = ckpt("convert " + q(path) + " " + q(tmp.file("w.safetensors")) + " --key model_state_dict");
  INFO(conv.output);
  CHECK(conv.code == 0);
  CHECK(contains(conv.output, ": safetensors, model_state_dict, 2 tensors (from ember v"));
  CHECK(ckpt("diff " + q(tmp.file("w.safetensors")) + " " + q(tmp.file("model.pth"))).code == 0);
  // One tensor: the article and the number agree.
  CHECK(contains(ckpt("convert " + q(path) + " " + q(tmp.file("b.ember")) + " --key model_state_dict/conv1.bias").output,
                 ": ember, model_state_dict/conv1.bias, 1 tensor (from"));
  Run whole = ckpt("convert " + q(path) + " " + q(tmp.file("all.safetensors")));
  CHECK(whole.code == 1);
  CHECK(contains(whole.output, "\"epoch\" is an int"));
  Run bad_key = ckpt("convert " + q(path) + " " + q(tmp.file("x.pth")) + " --key model_state_dict/fc9");
  CHECK(bad_key.code == 1);
  CHECK(contains(bad_key.output, "the keys there are \"conv1.weight\", \"conv1.bias\""));
  CHECK(contains(ckpt("convert " + q(path)).output, "usage: ember-ckpt convert IN OUT"));
}

// Issue 25: convert onto a character device replaced it with a regular file (as root, /dev/null).
TEST_CASE("ember-ckpt convert and extract refuse a FIFO, a device or a folder as OUT, and leave it be") {
  ScratchDir tmp("io_tool_out");
  std::string path = tmp.file("ckpt.ember");
  save(checkpoint(3, 1), path);
  std::string fifo = tmp.file("fifo.pth");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Run f = ckpt("convert " + q(path) + " " + q(fifo), "timeout 20 ");
  INFO(f.output);
  CHECK(f.code == 1);
  CHECK(contains(f.output, "save: " + fifo + ": is a FIFO, not a regular file; refusing to write to it or replace it"));
  Run e = ckpt("extract " + q(path) + " model_state_dict " + q(fifo), "timeout 20 ");
  CHECK(e.code == 1);
  CHECK(contains(e.output, "is a FIFO"));
  std::filesystem::create_directory(tmp.file("dir.ember"));
  CHECK(contains(ckpt("convert " + q(path) + " " + q(tmp.file("dir.ember"))).output, "is a folder, not a regular file"));
  // A character device of our own, the twin of /dev/null (mknod needs root).
  std::string dev = tmp.file("null");
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    MESSAGE("skipped the device case: mknod needs root");
    return;
  }
  Run d = ckpt("convert " + q(path) + " " + q(dev) + " --to ember");
  INFO(d.output);
  CHECK(d.code == 1);
  CHECK(contains(d.output, dev + ": is a character device, not a regular file"));
  struct stat st {};
  REQUIRE(::lstat(dev.c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
}
