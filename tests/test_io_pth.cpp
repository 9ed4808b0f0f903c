// PyTorch .pth files: fixtures written by torch 1.13 (tests/reference/gen_interop.py) load into
// Ember and reproduce PyTorch's outputs; files Ember writes have torch's layout and round-trip
// exactly. Malicious and malformed files are in test_io_pickle_safety.cpp.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <regex>

#include "examples/models.h"
#include "interop_helpers.h"
#include "ember/optim/sgd.h"

using namespace ember;
using namespace ember::test;

namespace {

// A string literal with its embedded NULs.
template <size_t N>
std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

const nlohmann::json& expected() {
  static const nlohmann::json j = load_fixture("interop.json");
  return j;
}

// Every kind the value tree has, with the awkward cases of each.
Value awkward_tree() {
  Value v = Value::dict({
      {"none", Value()},
      {"yes", true},
      {"no", false},
      {"zero", int64_t(0)},
      {"byte", int64_t(255)},
      {"short", int64_t(65535)},
      {"int32_min", int64_t(std::numeric_limits<int32_t>::min())},
      {"big", int64_t(1) << 40},
      {"int64_max", std::numeric_limits<int64_t>::max()},
      {"int64_min", std::numeric_limits<int64_t>::min()},
      {"minus_one", int64_t(-1)},
      {"minus_129", int64_t(-129)},
      {"pi", 3.141592653589793},
      {"negative_zero", -0.0},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"inf", -std::numeric_limits<double>::infinity()},
      {"denormal", 4.9e-324},
      {"empty_string", ""},
      {"unicode", "h\xc3\xa9llo \xe2\x9c\x93"},
      {"empty_list", Value::list()},
      {"empty_dict", Value::dict()},
      {"list", Value::list({1, "two", Value::list({3.5, Value()})})},
      {"key/with~odd.chars", "x"},
  });
  v["tensors"] = Value::dict({
      {"f32", from_vector<float>({1.5f, -0.0f, 3e38f, 1e-45f}, {2, 2})},
      {"f64", from_vector<double>({0.1, -2.5})},
      {"i64", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), 0, 7})},
      {"u8", from_vector<uint8_t>({0, 128, 255})},
      {"bool", from_vector<bool>({true, false, true})},
      {"scalar", scalar_tensor(2.5)},
      {"empty", zeros({0, 3})},
      {"rank4", arange(0.0, 24.0, 1.0, kFloat32).reshape({1, 2, 3, 4})},
  });
  return v;
}

}  // namespace

TEST_CASE("a MNISTNet state dict saved by PyTorch gives PyTorch's logits") {
  Value sd = load_file(fixture_path("interop_mnistnet.pth"));
  REQUIRE(sd.is_dict());
  CHECK(sd.as_dict().keys() == std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                                        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  examples::MNISTNet model;
  model.load_state_dict(sd.to_state_dict());
  model.eval();
  NoGradGuard no_grad;
  Tensor logits = model.forward(mnist_batch(expected()["probe_pixels"]));
  check_close(logits, tensor_from_json(expected()["mnistnet_logits"]), 1e-4, 1e-4, "MNISTNet logits");
}

TEST_CASE("a BatchNorm model: running statistics and num_batches_tracked load, eval logits match") {
  Value sd = load_file(fixture_path("interop_mnistnet_bn.pth"));
  const Tensor& tracked = sd.at("bn1.num_batches_tracked").as_tensor();
  CHECK(tracked.dtype() == kInt64);
  CHECK(tracked.dim() == 0);
  CHECK(tracked.item<int64_t>() == expected()["mnistnet_bn_num_batches_tracked"].get<int64_t>());
  examples::MNISTNetBN model;
  model.load_state_dict(sd.to_state_dict());
  CHECK(model.bn3.buffer("num_batches_tracked").item<int64_t>() == 40);
  model.eval();
  NoGradGuard no_grad;
  Tensor logits = model.forward(mnist_batch(expected()["probe_pixels"]));
  check_close(logits, tensor_from_json(expected()["mnistnet_bn_logits"]), 1e-4, 1e-4, "MNISTNetBN logits");
}

TEST_CASE("the tutorial's checkpoint: nested state dicts, optimizer state, numbers; the next step matches PyTorch") {
  Value ckpt = load_file(fixture_path("interop_checkpoint.pth"));
  CHECK(ckpt.at("epoch").as_int() == 3);
  CHECK(ckpt.at("loss").as_double() == expected()["checkpoint_loss"].get<double>());  // a Python float, bit for bit
  CHECK(ckpt.at("note").as_string().rfind("saved by torch 1.13", 0) == 0);
  CHECK(ckpt.at("history").size() == 3);
  const Value& opt = ckpt.at("optimizer_state_dict");
  // PyTorch keys the optimizer state by parameter index, as ints: they arrive as "0".."7".
  CHECK(opt.at("state").as_dict().keys() == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7"});
  const Value& group = opt.at("param_groups").at(0);
  CHECK(group.at("lr").as_double() == 0.01);
  CHECK(group.at("momentum").as_double() == 0.5);
  CHECK(group.at("nesterov").as_bool() == false);
  CHECK(group.at("foreach").is_none());
  CHECK(group.at("params").size() == 8);

  examples::MNISTNet model;
  model.load_state_dict(ckpt.at("model_state_dict").to_state_dict());
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.1));
  sgd.load_state_dict(opt);  // lr 0.01 and momentum 0.5 come from the file, with the buffers
  model.train();
  Tensor x = mnist_batch(expected()["step_pixels"]);
  Tensor target = tensor_from_json(expected()["step_target"]);
  sgd.zero_grad();
  Tensor loss = cross_entropy(model.forward(x), target);
  CHECK(loss.item() == doctest::Approx(expected()["step_loss"].get<double>()).epsilon(1e-5));
  loss.backward();
  sgd.step();
  StateDict after = model.state_dict();
  for (const auto& [name, t] : expected()["after_step"].items())
    check_close(after.at(name), tensor_from_json(t), 1e-4, 1e-5, name + " after one more SGD step");
}

TEST_CASE("tensors that are views into shared storages load as PyTorch gives them, from any zip writer") {
  // The same archive as torch wrote it, rewritten by Python's zipfile deflated with big-endian
  // bytes, and with zip64 local headers: all three must load identically.
  Value v = load_file(fixture_path("interop_views.pth"));
  for (const char* other : {"interop_views_deflated_be.pth", "interop_views_zip64.pth"}) {
    CAPTURE(other);
    CHECK(tree_difference(v, load_file(fixture_path(other))) == "");
  }
  auto floats = [&](const char* key) { return v.at(key).as_tensor().to_vector<float>(); };
  std::vector<float> base(24);
  for (int i = 0; i < 24; ++i) base[size_t(i)] = float(i);
  CHECK(floats("base") == base);
  CHECK(v.at("transposed").as_tensor().shape() == Shape{6, 4});
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) CHECK(v.at("transposed").as_tensor().at({i, j}) == double(j * 6 + i));
  CHECK(floats("row") == std::vector<float>{6, 7, 8, 9, 10, 11});
  CHECK(floats("column") == std::vector<float>{2, 8, 14, 20});
  CHECK(floats("block") == std::vector<float>{8, 9, 10, 14, 15, 16});
  CHECK(v.at("expanded").as_tensor().shape() == Shape{3, 2});
  CHECK(floats("expanded") == std::vector<float>(6, 7.5f));
  CHECK(v.at("float64").as_tensor().to_vector<double>() == std::vector<double>{1.5, -2.25});
  CHECK(v.at("int64").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{-3, int64_t(1) << 40, 0, 9});
  CHECK(v.at("uint8").as_tensor().dtype() == kUInt8);
  CHECK(v.at("uint8").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{0, 255, 7});
  CHECK(v.at("bool").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(v.at("scalar").as_tensor().dim() == 0);
  CHECK(v.at("scalar").as_tensor().item() == 3.25);
  CHECK(v.at("empty").as_tensor().shape() == Shape{0, 3});
  CHECK(floats("param") == std::vector<float>{0.5f, 0.5f});  // an nn.Parameter is a tensor
  CHECK(v.at("size").at(0).as_int() == 2);                    // torch.Size and tuples are lists
  CHECK(v.at("tuple").at(1).as_string() == "two");
  CHECK(v.at("tuple").at(2).is_none());
  CHECK(v.at("int_keys").as_dict().keys() == std::vector<std::string>{"0", "7"});
  CHECK(v.at("ordered").as_dict().keys() == std::vector<std::string>{"b", "a"});
  CHECK(v.at("big").as_int() == int64_t(1) << 62);
  CHECK(v.at("negative").as_int() == -123456789012);
  CHECK(v.at("minus_one").as_int() == -1);
  CHECK(v.at("text").as_string() == "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93");
  CHECK(v.at("flag").as_bool() == false);
  CHECK(v.at("nothing").is_none());
  CHECK(v.at("ratio").as_double() == 0.1);
}

TEST_CASE("the reader describes tensors without reading them; checksums are the zip CRCs") {
  io::PthReader reader(fixture_path("interop_mnistnet.pth"));
  CHECK(reader.format() == "pytorch zip (pickle protocol 2)");
  REQUIRE(reader.tensors().size() == 8);
  CHECK(reader.tensors()[0].name == "conv1.weight");
  CHECK(reader.tensors()[0].shape == Shape{10, 1, 5, 5});
  CHECK(reader.tensors()[0].nbytes == 1000);
  CHECK(reader.tensors()[0].device == kCPU);
  for (size_t i = 0; i < reader.tensors().size(); ++i) CHECK(reader.check_tensor(i) == "");
  CHECK(reader.skeleton().at("fc2.bias").is_tensor());
  CHECK_FALSE(reader.skeleton().at("fc2.bias").as_tensor().defined());
}

TEST_CASE("map_location: a tensor saved on a GPU records its device and loads on the CPU when asked") {
  ScratchDir dir("pth_map");
  std::string pkl = io::pickle::pickle_value(Value::dict({{"w", from_vector<float>({1, 2})}}),
                                             [](const std::string&, const Tensor& t) {
                                               return io::pickle::StorageRecord{"0", uint64_t(t.numel()), 0, "cuda:1"};
                                             });
  std::vector<float> bytes{1, 2};
  write_archive(dir.file("gpu.pth"), {{"archive/data.pkl", pkl},
                                      {"archive/data/0", std::string(reinterpret_cast<char*>(bytes.data()), 8)},
                                      {"archive/version", "3\n"}});
  io::PthReader reader(dir.file("gpu.pth"));
  CHECK(reader.tensors()[0].device == Device("cuda:1"));
  Value v = load_file(dir.file("gpu.pth"), "cpu");
  CHECK(v.at("w").as_tensor().device() == kCPU);
  CHECK(v.at("w").as_tensor().to_vector<float>() == std::vector<float>{1, 2});
  if (cuda_device_count() == 0) {
    // Kept where it was saved, which this machine lacks: the error says what to do.
    CHECK(error_of([&] { load_file(dir.file("gpu.pth"), ""); }).find("map_location=\"cpu\"") != std::string::npos);
  }
}

TEST_CASE("ember -> pth -> ember is exact, for every kind of value") {
  ScratchDir dir("pth_roundtrip");
  Value v = awkward_tree();
  // With plain Python floats (BINFLOAT) every kind comes back as it was.
  io::PthWriteOptions plain;
  plain.floats_as_tensors = false;
  io::write_pth(v, dir.file("a.pth"), plain);
  CHECK(tree_difference(v, load_file(dir.file("a.pth"))) == "");
  // By default a double comes back as the 0-dim float64 tensor it was written as, with its bits.
  save_pth(Value::dict({{"x", -0.0}, {"y", 0.1}}), dir.file("d.pth"));
  Value d = load_file(dir.file("d.pth"));
  CHECK(d.at("y").is_tensor());
  CHECK(d.at("y").as_double() == 0.1);
  CHECK(std::signbit(d.at("x").as_double()));

  // zip64 records, as written past 4 GiB, read back the same.
  io::PthWriteOptions zip64;
  zip64.floats_as_tensors = false;
  zip64.force_zip64 = true;
  io::write_pth(v, dir.file("zip64.pth"), zip64);
  CHECK(tree_difference(v, load_file(dir.file("zip64.pth"))) == "");

  // Roots that are not dicts.
  for (const Value& root : {Value(from_vector<float>({1, 2, 3})), Value(int64_t(7)), Value::list({1, Value()})}) {
    save_pth(root, dir.file("root.pth"));
    CHECK(tree_difference(root, load_file(dir.file("root.pth"))) == "");
  }
}

TEST_CASE("a training checkpoint round-trips through .pth: model, optimizer with momentum, numbers") {
  ScratchDir dir("pth_ckpt");
  examples::MNISTNetBN model;
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  Tensor x = randn({4, 1, 28, 28});
  Tensor target = from_vector<int64_t>({1, 2, 3, 4});
  for (int i = 0; i < 2; ++i) {
    sgd.zero_grad();
    cross_entropy(model.forward(x), target).backward();
    sgd.step();
  }
  Value ckpt = Value::dict({{"epoch", 2}, {"model_state_dict", Value(model.state_dict())},
                            {"optimizer_state_dict", sgd.state_dict()}, {"loss", 0.125}});
  save_pth(ckpt, dir.file("ckpt.pth"));
  Value back = load_file(dir.file("ckpt.pth"));
  CHECK(tree_difference(ckpt.at("model_state_dict"), back.at("model_state_dict")) == "");
  CHECK(back.at("loss").as_double() == 0.125);  // a 0-dim tensor in the file, the same number here
  examples::MNISTNetBN fresh;
  fresh.load_state_dict(back.at("model_state_dict").to_state_dict());
  optim::SGD fresh_sgd(fresh.parameters(), optim::SGDOptions(0.05).momentum(0.9));
  fresh_sgd.load_state_dict(back.at("optimizer_state_dict"));
  CHECK(tree_difference(fresh_sgd.state_dict(), sgd.state_dict()) == "");
}

TEST_CASE("a .pth written by Ember has torch's layout") {
  ScratchDir dir("pth_layout");
  Tensor w = from_vector<float>({1, 2, 3, 4}, {2, 2});
  // "tied" is the same tensor under a second name: one storage record, as torch.save writes.
  save_pth(Value::dict({{"w", w}, {"tied", w}, {"b", from_vector<float>({5})}}), dir.file("m.pth"));
  std::vector<uint8_t> bytes = read_bytes(dir.file("m.pth"));
  int fd = ::open(dir.file("m.pth").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  {
    io::ZipReader zip(fd, bytes.size(), dir.file("m.pth"));
    std::vector<std::string> names;
    for (const auto& e : zip.entries()) {
      names.push_back(e.name);
      CHECK(e.method == 0);
      CHECK(e.data_offset % 64 == 0);  // aligned, for torch's zero-copy loading
    }
    CHECK(names == std::vector<std::string>{"archive/data.pkl", "archive/byteorder", "archive/data/0",
                                            "archive/data/1", "archive/version"});
    CHECK(as_string(zip.read(*zip.find("archive/version"), 16)) == "3\n");
    CHECK(as_string(zip.read(*zip.find("archive/byteorder"), 16)) == "little");
  }
  ::close(fd);
  Value v = load_file(dir.file("m.pth"));
  CHECK(v.at("tied").as_tensor().to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  // Equal inputs give equal files: no timestamps.
  save_pth(Value::dict({{"w", w}, {"tied", w}, {"b", from_vector<float>({5})}}), dir.file("again.pth"));
  CHECK(read_bytes(dir.file("again.pth")) == bytes);
}

TEST_CASE("the pickle Ember writes: int keys for an optimizer's state, big-endian doubles (checked with Python's pickle)") {
  auto none = [](const std::string&, const Tensor&) -> io::pickle::StorageRecord { throw Error("no tensors here"); };
  // An optimizer state dict: PyTorch's optimizer keys its state by int, and so does the file.
  std::string p = io::pickle::pickle_value(
      Value::dict({{"state", Value::dict({{"0", Value::dict()}})}, {"param_groups", Value::list()}}), none);
  CHECK(p == lit("\x80\x02}(X\x05\x00\x00\x00state}(K\x00}uX\x0c\x00\x00\x00param_groups]u."));
  // Elsewhere a key "0" stays a string.
  p = io::pickle::pickle_value(Value::dict({{"0", int64_t(-2)}, {"x", 0.5}}), none);
  CHECK(p == lit("\x80\x02}(X\x01\x00\x00\x00" "0J\xfe\xff\xff\xffX\x01\x00\x00\x00xG?\xe0\x00\x00\x00\x00\x00\x00u."));
}

TEST_CASE("floats_as_tensors (the default): doubles become 0-dim float64 tensors, for torch 1.13's weights_only") {
  ScratchDir dir("pth_compat");
  io::PthWriteOptions o;
  CHECK(o.floats_as_tensors);
  io::write_pth(Value::dict({{"lr", 0.01}, {"list", Value::list({0.5, 1})}, {"w", from_vector<float>({1})}}),
                dir.file("c.pth"), o);
  Value v = load_file(dir.file("c.pth"));
  REQUIRE(v.at("lr").is_tensor());
  CHECK(v.at("lr").as_tensor().dtype() == kFloat64);
  CHECK(v.at("lr").as_tensor().dim() == 0);
  CHECK(v.at("lr").as_tensor().item() == 0.01);
  CHECK(v.at("list").at(0).as_tensor().item() == 0.5);
  CHECK(v.at("list").at(1).as_int() == 1);
}

TEST_CASE("writing refuses what Python could not read") {
  ScratchDir dir("pth_refuse");
  std::string e = error_of([&] { save_pth(Value::dict({{"bad", "\xff\xfe"}}), dir.file("x.pth")); });
  CHECK(e.find("not valid UTF-8") != std::string::npos);
  CHECK(e.find("bad") != std::string::npos);
  e = error_of([&] { save_pth(Value::dict({{"\xc3", 1}}), dir.file("x.pth")); });
  CHECK(e.find("not valid UTF-8") != std::string::npos);
  e = error_of([&] { save_pth(Value::dict({{"t", Tensor()}}), dir.file("x.pth")); });
  CHECK(e.find("undefined") != std::string::npos);
  CHECK(dir.listing().empty());  // nothing half-written is left behind
}

// ---- through the programs: train_mnist and ember-ckpt ----

namespace {
using Run = ember::test::ShellResult;  // stdout and stderr together

Run run(const std::string& program, const std::string& args) {
  return ember::test::run_shell(std::string(EMBER_BINARY_DIR) + "/bin/" + program + " " + args);
}

const std::string kData = std::string(EMBER_SOURCE_DIR) + "/datasets/mnist";

std::string file_text(const std::string& path) { return as_string(read_bytes(path)); }
}  // namespace

TEST_CASE("train_mnist --load of PyTorch's MNISTNet predicts exactly PyTorch's 10000 test digits") {
  ScratchDir dir("pth_predict");
  const std::string expected_digits = file_text(fixture_path("interop_mnistnet_predictions.txt"));
  REQUIRE(expected_digits.size() == 10000);
  Run r = run("train_mnist", "--data " + kData + " --load " + fixture_path("interop_mnistnet.pth") +
                                 " --epochs 0 --threads 2 --predictions " + dir.file("preds.txt"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(file_text(dir.file("preds.txt")) == expected_digits);

  // Detection is by content: the same weights as safetensors, under a name with no extension.
  r = run("ember-ckpt", "convert " + fixture_path("interop_mnistnet.pth") + " " + dir.file("weights") +
                            " --to safetensors");
  REQUIRE(r.code == 0);
  r = run("train_mnist", "--data " + kData + " --load " + dir.file("weights") +
                             " --epochs 0 --threads 2 --test-size 2000 --predictions " + dir.file("st.txt"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(file_text(dir.file("st.txt")) == expected_digits.substr(0, 2000));
}

TEST_CASE("train_mnist --resume from a checkpoint converted to .pth continues exactly as from the original") {
  ScratchDir dir("pth_resume");
  std::string common = "--data " + kData + " --train-size 640 --test-size 200 --threads 2 --log-interval 1000";
  Run r = run("train_mnist", common + " --epochs 1 --checkpoint-dir " + dir.file("first"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  std::string ckpt = dir.file("first") + "/checkpoint_epoch_1.ember";
  REQUIRE(run("ember-ckpt", "convert " + ckpt + " " + dir.file("ckpt.pth") + " --to pth").code == 0);
  REQUIRE(run("train_mnist", common + " --epochs 2 --resume " + ckpt + " --checkpoint-dir " + dir.file("a")).code == 0);
  r = run("train_mnist", common + " --epochs 2 --resume " + dir.file("ckpt.pth") + " --checkpoint-dir " + dir.file("b"));
  REQUIRE(r.code == 0);
  CHECK(r.output.find("Resumed from") != std::string::npos);
  r = run("ember-ckpt", "diff " + dir.file("a") + "/checkpoint_epoch_2.ember " + dir.file("b") +
                            "/checkpoint_epoch_2.ember");
  CHECK(r.output == "identical\n");
  CHECK(r.code == 0);
  // safetensors cannot hold a training checkpoint: --resume says what is missing.
  REQUIRE(run("ember-ckpt", "extract " + ckpt + " model_state_dict " + dir.file("sd.ember")).code == 0);
  REQUIRE(run("ember-ckpt", "convert " + dir.file("sd.ember") + " " + dir.file("sd.st") + " --to safetensors").code == 0);
  r = run("train_mnist", common + " --epochs 2 --resume " + dir.file("sd.st"));
  CHECK(r.code != 0);
  CHECK(r.output.find("not a training checkpoint") != std::string::npos);
}

TEST_CASE("ember-ckpt inspects, verifies, diffs and converts all three formats") {
  ScratchDir dir("pth_tool");
  const std::string views = fixture_path("interop_views.pth");
  Run r = run("ember-ckpt", "inspect " + views);
  CHECK(r.code == 0);
  CHECK(r.output.find("pytorch zip (pickle protocol 2)") != std::string::npos);
  CHECK(std::regex_search(r.output, std::regex(R"(\n  "[^"]*transposed" +float32 +\[6, 4\] )")));
  r = run("ember-ckpt", "verify " + views);
  CHECK(r.code == 0);
  CHECK(r.output.find("every checksum matches") != std::string::npos);

  // pth -> ember -> pth: identical trees and bits by diff; the other zip layouts too.
  REQUIRE(run("ember-ckpt", "convert " + views + " " + dir.file("v.ember") + " --to ember").code == 0);
  REQUIRE(run("ember-ckpt", "convert " + dir.file("v.ember") + " " + dir.file("v.pth") + " --to pth").code == 0);
  for (const std::string& other : {dir.file("v.ember"), dir.file("v.pth"), fixture_path("interop_views_deflated_be.pth")}) {
    r = run("ember-ckpt", "diff " + views + " " + other);
    CHECK(r.output == "identical\n");
  }

  // safetensors: its metadata shows, and verify says there are no checksums to check.
  r = run("ember-ckpt", "convert " + fixture_path("interop_mnistnet.pth") + " " + dir.file("m.safetensors") +
                            " --to safetensors");
  CHECK(r.code == 0);
  CHECK(r.output.find("wrote " + dir.file("m.safetensors") + ": safetensors, 8 tensors") != std::string::npos);
  r = run("ember-ckpt", "inspect " + dir.file("m.safetensors"));
  CHECK(r.output.find("metadata:\n  \"format\": \"pt\"") != std::string::npos);
  // No "8 checksums ok" of a format that has none.
  CHECK(r.output.find("of tensor data; no checksums (this format has none), 0 bad\n") != std::string::npos);
  r = run("ember-ckpt", "verify " + dir.file("m.safetensors"));
  CHECK(r.code == 0);
  CHECK(r.output.find("this format has no checksums") != std::string::npos);
  CHECK(run("ember-ckpt", "diff " + fixture_path("interop_mnistnet.pth") + " " + dir.file("m.safetensors")).output ==
        "identical\n");

  // What a format cannot hold is refused with the reason; bad usage is exit 2.
  r = run("ember-ckpt", "convert " + fixture_path("interop_checkpoint.pth") + " " + dir.file("c.safetensors") +
                            " --to safetensors");
  CHECK(r.code == 1);
  CHECK(r.output.find("safetensors holds only a flat dict of tensors") != std::string::npos);
  CHECK(r.output.find("\"epoch\" is an int") != std::string::npos);
  CHECK(run("ember-ckpt", "convert " + views + " " + dir.file("x") + " --to onnx").code == 2);
  CHECK(run("ember-ckpt", "convert " + views + " " + dir.file("x")).code == 2);
  CHECK(run("ember-ckpt", "convert " + views + " " + dir.file("x") + " --to ember --floats-as-tensors").code == 2);
  CHECK(run("ember-ckpt", "convert " + views + " " + dir.file("x") + " --to ember --plain-floats").code == 2);
  CHECK(run("ember-ckpt", "convert " + views + " " + dir.file("x") + " --to pth --plain-floats --floats-as-tensors")
            .code == 2);

  // By default, as the library's writer, floats become 0-dim float64 tensors, which torch 1.13's
  // torch.load(weights_only=True) loads; --floats-as-tensors (the default) is still accepted.
  const std::string ckpt = fixture_path("interop_checkpoint.pth");
  for (const char* flags : {" --to pth", " --to pth --floats-as-tensors"}) {
    r = run("ember-ckpt", "convert " + ckpt + " " + dir.file("c.pth") + flags);
    CHECK(r.code == 0);
    Value c = load_file(dir.file("c.pth"));
    CHECK(c.at("loss").as_tensor().dtype() == kFloat64);
    CHECK(c.at("loss").as_tensor().item() == expected()["checkpoint_loss"].get<double>());
  }
  // --plain-floats writes Python floats (PyTorch >= 2.0, or weights_only=False).
  r = run("ember-ckpt", "convert " + ckpt + " " + dir.file("p.pth") + " --plain-floats");
  CHECK(r.code == 0);
  Value p = load_file(dir.file("p.pth"));
  REQUIRE(p.at("loss").is_double());
  CHECK(p.at("loss").as_double() == expected()["checkpoint_loss"].get<double>());

  // A damaged record: verify reports it and fails.
  std::vector<uint8_t> bytes = read_bytes(fixture_path("interop_mnistnet.pth"));
  bytes[bytes.size() / 2] ^= 0x10;
  write_bytes(dir.file("bad.pth"), bytes);
  r = run("ember-ckpt", "verify " + dir.file("bad.pth"));
  CHECK(r.code == 1);
  CHECK(r.output.find("damaged") != std::string::npos);
}
