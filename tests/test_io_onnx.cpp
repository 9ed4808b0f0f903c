// ONNX export and reading: what an exported file holds (the state dict as initializers, the graph
// of Ember's ops), what export refuses (training-mode BatchNorm and Dropout, unmapped ops, bad
// options), ONNX files read back by ember::load, train_mnist and ember-ckpt, and damaged or hostile
// ONNX files refused by name. Running exported models in ONNX Runtime is test_onnx_runtime.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>

#include "ember/io/interop/detect.h"
#include "ember/io/interop/onnx.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/onnx/export.h"
#include "ember/train/checkpoint.h"
#include "examples/models.h"
#include "io_helpers.h"
#include "onnx_helpers.h"

#if EMBER_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif

using namespace ember;
using namespace ember::test;

namespace {

// Output of a shell command (stdout and stderr) and its exit code.
using Run = ember::test::ShellResult;
[[maybe_unused]] Run run(const std::string& cmd) { return ember::test::run_shell(cmd); }
const std::string kBin = std::string(EMBER_BINARY_DIR) + "/bin/";

// MNISTNet-BN with running statistics that are not the initial ones, in eval mode.
[[maybe_unused]] std::unique_ptr<examples::MNISTNetBN> bn_model() {
  manual_seed(5);
  auto m = std::make_unique<examples::MNISTNetBN>();
  NoGradGuard ng;
  for (int k = 0; k < 3; ++k) (*m)(randn({8, 1, 28, 28}));
  m->eval();
  return m;
}

// A module whose forward picks features by index (index_select, which maps to Gather), then takes
// a cross-entropy with label smoothing, which ONNX's SoftmaxCrossEntropyLoss lacks.
struct FirstFive : nn::Module {
  std::string name() const override { return "FirstFive"; }
  Tensor forward(const Tensor& x) override {
    Tensor h = index_select(x, 1, arange(5));
    return cross_entropy(h, argmax(h, -1), CrossEntropyOptions().label_smoothing(label_smoothing));
  }
  double label_smoothing = 0.1;
};
struct WithHead : nn::Module {
  nn::Linear fc{4, 8};
  FirstFive head;
  WithHead() {
    register_module("fc", fc);
    register_module("head", head);
  }
  std::string name() const override { return "WithHead"; }
  Tensor forward(const Tensor& x) override { return head(fc(x)); }
};

}  // namespace

#if EMBER_WITH_ONNX

TEST_CASE("export: the initializers are the state dict, and ember::load gives it back") {
  ScratchDir dir("onnx_sd");
  auto m = bn_model();
  Tensor x = randn({4, 1, 28, 28});
  ember::onnx::ExportSummary s = ember::onnx::export_model(*m, x, dir.file("bn.onnx"));
  CHECK(s.opset == 17);
  StateDict sd = m->state_dict();
  CHECK(s.initializers == int64_t(sd.size()));

  CHECK(io::detect_file_format(dir.file("bn.onnx")) == io::FileFormat::Onnx);
  Value v = load(dir.file("bn.onnx"));
  REQUIRE(v.is_dict());
  std::vector<std::string> keys, expected;
  for (const auto& [k, t] : v.as_dict()) keys.push_back(k);
  for (const auto& [k, t] : sd) expected.push_back(k);
  CHECK(keys == expected);  // "conv1.weight", ..., "bn1.running_mean", ..., in the state dict's order
  for (const auto& [k, t] : sd) {
    INFO(k);
    const Tensor& got = v.as_dict().at(k).as_tensor();
    CHECK(got.dtype() == t.dtype());
    CHECK(got.shape() == t.shape());
    CHECK(max_abs_diff(got.to(kFloat64), t.to(kFloat64)) == 0.0);
  }
  // Loaded into a fresh model, the weights give the same outputs.
  manual_seed(99);
  examples::MNISTNetBN fresh;
  fresh.load_state_dict(train::model_state_from(v, dir.file("bn.onnx")));
  fresh.eval();
  NoGradGuard ng;
  CHECK(max_abs_diff((*m)(x), fresh(x)) == 0.0);
}

TEST_CASE("export: the graph holds Ember's ops as ONNX operators, with a named input and output") {
  ScratchDir dir("onnx_graph");
  auto m = bn_model();
  ember::onnx::export_model(*m, randn({2, 1, 28, 28}), dir.file("bn.onnx"),
                     ember::onnx::ExportOptions().input_name("images").output_name("logits"));
  io::OnnxReader r(dir.file("bn.onnx"));
  CHECK(r.format() == "onnx");
  const io::OnnxGraph& g = r.graph();
  CHECK(g.inputs == std::vector<std::string>{"images"});
  CHECK(g.outputs == std::vector<std::string>{"logits"});
  REQUIRE(g.opsets.size() == 1);
  CHECK(g.opsets[0].second == 17);
  CHECK(contains(g.producer, "ember"));
  std::vector<std::string> ops;
  for (const auto& n : g.nodes)
    if (n.op_type != "Constant") ops.push_back(n.op_type);
  CHECK(ops == std::vector<std::string>{"Conv", "BatchNormalization", "MaxPool", "Relu", "Conv", "BatchNormalization",
                                        "MaxPool", "Relu", "Reshape", "Gemm", "BatchNormalization", "Relu", "Gemm"});
  CHECK(g.nodes.front().inputs == std::vector<std::string>{"images", "conv1.weight", "conv1.bias"});
  CHECK(g.nodes.back().outputs == std::vector<std::string>{"logits"});
}

TEST_CASE("export refuses a BatchNorm in training mode, naming it, and leaves the buffers as they were") {
  ScratchDir dir("onnx_train");
  auto m = bn_model();
  m->train();
  Tensor before = m->bn1.buffer("running_mean").clone();
  std::string e = error_of([&] { ember::onnx::export_model(*m, randn({4, 1, 28, 28}), dir.file("x.onnx")); });
  CHECK(contains(e, "'batch_norm' in module 'bn1' (BatchNorm2d)"));
  CHECK(contains(e, "model.eval()"));
  CHECK(max_abs_diff(m->bn1.buffer("running_mean"), before) == 0.0);
  CHECK(dir.listing().empty());
}

TEST_CASE("export refuses Dropout in training mode and ops without an ONNX mapping, naming the module") {
  ScratchDir dir("onnx_refuse");
  nn::Sequential net(std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::Dropout>(0.5));
  std::string e = error_of([&] { ember::onnx::export_model(net, randn({2, 4}), dir.file("x.onnx")); });
  CHECK(contains(e, "'dropout' in module '1' (Dropout)"));
  CHECK(contains(e, "training mode"));
  net.eval();  // Dropout in eval is the identity: nothing to refuse
  CHECK(error_of([&] { ember::onnx::export_model(net, randn({2, 4}), dir.file("x.onnx")); }) == "");

  WithHead h;
  e = error_of([&] { ember::onnx::export_model(h, randn({2, 4}), dir.file("y.onnx")); });
  CHECK(contains(e, "the op 'cross_entropy' in module 'head' (FirstFive) has label_smoothing 0.1"));
  h.head.label_smoothing = 0.0;  // index_select, argmax and cross_entropy all map
  CHECK(error_of([&] { ember::onnx::export_model(h, randn({2, 4}), dir.file("y.onnx")); }) == "");
}

TEST_CASE("export refuses an op without an ONNX mapping, naming the op and the module path") {
  ScratchDir dir("onnx_unmapped");
  // sum_to (the backward of broadcasting) is an op no exporter maps.
  struct SumTo : nn::Module {
    std::string name() const override { return "SumTo"; }
    Tensor forward(const Tensor& x) override { return sum_to(x, {1, x.size(1)}); }
  };
  nn::Sequential net(std::make_shared<nn::Linear>(4, 3), std::make_shared<SumTo>());
  std::string e = error_of([&] { ember::onnx::export_model(net, randn({2, 4}), dir.file("z.onnx")); });
  CHECK(contains(e, "the op 'sum_to' in module '1' (SumTo) has no ONNX mapping in Ember's exporter"));
  CHECK(dir.listing().empty());
}

TEST_CASE("export checks its options and its example input") {
  ScratchDir dir("onnx_opts");
  examples::MNISTNet m;
  m.eval();
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, randn({2, 1, 28, 28}), dir.file("a.onnx"),
                                                   ember::onnx::ExportOptions().opset(12)); }),
                 "opset 12 is outside the range"));
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, randn({2, 1, 28, 28}), dir.file("a.onnx"),
                                                   ember::onnx::ExportOptions().output_name("input")); }),
                 "two different, non-empty names"));
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, Tensor(), dir.file("a.onnx")); }), "batch dimension"));
}

// ---- damaged and hostile files ----
namespace {
::onnx::ModelProto small_model() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("test");
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* t = g->add_initializer();
  t->set_name("w");
  t->set_data_type(::onnx::TensorProto::FLOAT);
  t->add_dims(2);
  t->add_dims(3);
  float vals[6] = {1, 2, 3, 4, 5, 6};
  t->set_raw_data(vals, sizeof vals);
  return m;
}
std::string save_model(const ::onnx::ModelProto& m, const std::string& path) {
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  return path;
}
std::string load_error(const ::onnx::ModelProto& m, const std::string& path) {
  save_model(m, path);
  return error_of([&] { load(path); });
}
}  // namespace

TEST_CASE("ONNX files: each malformed initializer is refused naming the file and the initializer") {
  ScratchDir dir("onnx_bad");
  std::string f = dir.file("m.onnx");
  CHECK(load_error(small_model(), f) == "");
  Value ok = load(f);
  CHECK(ok.as_dict().at("w").as_tensor().shape() == Shape{2, 3});

  auto m = small_model();
  m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(20);
  std::string e = load_error(m, f);
  CHECK(contains(e, f + ": initializer 'w': raw_data holds 20 bytes, but FLOAT [2, 3] needs 24"));

  m = small_model();
  auto* t = m.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  for (int k = 0; k < 5; ++k) t->add_float_data(1.0f);
  CHECK(contains(load_error(m, f), "initializer 'w': FLOAT [2, 3] needs 6 values, but float_data holds 5"));

  m = small_model();
  t = m.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  t->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* ext = t->add_external_data();
  ext->set_key("location");
  ext->set_value("weights.bin");
  CHECK(contains(load_error(m, f), "initializer 'w' keeps its data in an external file (external data)"));

  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_data_type(::onnx::TensorProto::FLOAT16);
  CHECK(contains(load_error(m, f), "initializer 'w' has data type FLOAT16, which Ember does not read"));

  m = small_model();
  *m.mutable_graph()->add_initializer() = m.graph().initializer(0);
  CHECK(contains(load_error(m, f), "initializer 'w' appears twice"));

  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, -2);
  CHECK(contains(load_error(m, f), "initializer 'w': negative dimension -2"));

  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, int64_t(1) << 40);
  m.mutable_graph()->mutable_initializer(0)->set_dims(1, int64_t(1) << 40);
  CHECK(contains(load_error(m, f), "initializer 'w': its shape is too large"));

  m = small_model();
  t = m.mutable_graph()->mutable_initializer(0);
  t->set_data_type(::onnx::TensorProto::BOOL);
  t->clear_raw_data();
  for (int v : {0, 1, 2, 0, 1, 0}) t->add_int32_data(v);
  CHECK(contains(load_error(m, f), "initializer 'w': value 2 is out of range for BOOL"));
}

TEST_CASE("ONNX files: truncated, damaged or too large files are refused, never a crash") {
  ScratchDir dir("onnx_trunc");
  examples::MNISTNet net;
  net.eval();
  ember::onnx::export_model(net, randn({2, 1, 28, 28}), dir.file("full.onnx"));
  std::vector<uint8_t> bytes = read_bytes(dir.file("full.onnx"));
  write_bytes(dir.file("half.onnx"), bytes, bytes.size() / 2);
  std::string e = error_of([&] { load(dir.file("half.onnx")); });
  CHECK(contains(e, dir.file("half.onnx") + ": not a valid ONNX model (protobuf could not parse it"));
  // Cut anywhere, or with bytes flipped: an error or a valid read, whatever the cut.
  for (size_t cut : {size_t(3), size_t(10), size_t(100), bytes.size() / 3, bytes.size() - 7, bytes.size() - 1}) {
    write_bytes(dir.file("cut.onnx"), bytes, cut);
    try {
      load(dir.file("cut.onnx"));
    } catch (const Error&) {
    }
  }
  for (size_t at = 3; at < bytes.size(); at += bytes.size() / 97) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0xa5;
    write_bytes(dir.file("flip.onnx"), bad);
    try {
      load(dir.file("flip.onnx"));
    } catch (const Error&) {
    }
  }
  // Over protobuf's limit: refused from its size, before anything is read (a sparse file).
  write_bytes(dir.file("big.onnx"), bytes, 64);
  REQUIRE(::truncate(dir.file("big.onnx").c_str(), off_t(io::kOnnxMaxFile) + 1) == 0);
  CHECK(contains(error_of([&] { load(dir.file("big.onnx")); }), "over protobuf's limit of 2147483647 bytes"));
}

// Issue 25: rules of ONNX that were not enforced: one data field per tensor, sparse initializers,
// a protobuf that is not a model, and verify's wording for a format without checksums.
TEST_CASE("ONNX files: both raw_data and a typed field, sparse initializers and non-models are refused") {
  ScratchDir dir("onnx_rules");
  std::string f = dir.file("m.onnx");

  auto m = small_model();
  m.mutable_graph()->mutable_initializer(0)->add_float_data(7.0f);
  CHECK(contains(load_error(m, f), f + ": initializer 'w': holds both raw_data and float_data (1 values); an ONNX "
                                       "tensor keeps its values in exactly one of them"));
  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->add_int64_data(7);
  CHECK(contains(load_error(m, f), "initializer 'w': holds both raw_data and int64_data"));

  m = small_model();
  auto* sparse = m.mutable_graph()->add_sparse_initializer();
  sparse->mutable_values()->set_name("s");
  sparse->mutable_values()->set_data_type(::onnx::TensorProto::FLOAT);
  sparse->mutable_values()->add_dims(1);
  sparse->mutable_values()->add_float_data(1.0f);
  sparse->add_dims(4);
  CHECK(contains(load_error(m, f), f + ": the graph holds 1 sparse initializer (sparse_initializer, first 's'), "
                                       "which Ember does not read"));

  // Any protobuf parses as a ModelProto: the 4 bytes 08 07 12 00 (ir_version 7, an empty producer_name).
  write_bytes(f, {0x08, 0x07, 0x12, 0x00});
  CHECK(io::detect_file_format(f) == io::FileFormat::Onnx);
  CHECK(contains(error_of([&] { load(f); }), f + ": a protobuf message but not an ONNX model (no opset_import"));
  Run v = run(kBin + "ember-ckpt verify " + f);
  CHECK(v.code == 1);
  CHECK(contains(v.output, "INVALID"));
  CHECK(!contains(v.output, "every checksum matches"));
  m = small_model();
  m.clear_graph();
  CHECK(contains(load_error(m, f), "not an ONNX model (no graph;"));
  // Without an ir_version the file no longer looks like ONNX; the reader itself refuses it too.
  m = small_model();
  m.clear_ir_version();
  save_model(m, f);
  CHECK(!load_error(m, f).empty());
  CHECK(contains(error_of([&] { io::OnnxReader r(f); }), "not an ONNX model (no ir_version;"));

  // A model with no initializers is valid, and verify says the format has no checksums.
  m = small_model();
  m.mutable_graph()->clear_initializer();
  save_model(m, f);
  v = run(kBin + "ember-ckpt verify " + f);
  INFO(v.output);
  CHECK(v.code == 0);
  CHECK(contains(v.output, "0 tensors"));
  CHECK(contains(v.output, "this format has no checksums"));
  CHECK(!contains(v.output, "every checksum matches"));
  save_model(small_model(), f);
  CHECK(contains(run(kBin + "ember-ckpt verify " + f).output, "this format has no checksums"));
}

// Issue 25 (item 1): 40 MB of 2-byte empty sub-messages made protobuf build 1.1 to 7.7 GB before
// Ember checked anything. The wire format is walked first and such a file refused, at once.
namespace {
void append_varint(std::string& out, uint64_t n) {
  for (; n >= 0x80; n >>= 7) out.push_back(char(0x80 | (n & 0x7f)));
  out.push_back(char(n));
}
std::string field(uint32_t number, const std::string& payload) {
  std::string out;
  append_varint(out, uint64_t(number) << 3 | 2);
  append_varint(out, payload.size());
  out.append(payload);
  return out;
}
std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}
}  // namespace

TEST_CASE("ONNX files of millions of empty sub-messages are refused before protobuf parses them") {
  ScratchDir dir("onnx_amplify");
  const size_t n = 20'000'000;  // 40 MB of 2-byte entries
  std::string head("\x08\x07", 2);  // ir_version 7, then opset 17
  head.append(field(8, "\x10\x11"));
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"nodes", head + field(7, repeat(std::string("\x0a\x00", 2), n))},
      {"initializers", head + field(7, repeat(std::string("\x2a\x00", 2), n))},
      {"graph inputs", head + field(7, repeat(std::string("\x5a\x00", 2), n))},
      {"opset imports", head + repeat(std::string("\x42\x00", 2), n) + field(7, "")},
      {"metadata props", head + repeat(std::string("\x72\x00", 2), n) + field(7, "")},
      {"node inputs", head + field(7, field(1, repeat(std::string("\x0a\x00", 2), n)))},
      {"attributes", head + field(7, field(1, repeat(std::string("\x2a\x00", 2), n)))},
      {"dims", head + field(7, field(5, repeat(std::string("\x08\x00", 2), n)))},
  };
  for (const Case& c : cases) {
    std::string f = dir.file("amp.onnx");
    write_bytes(f, std::vector<uint8_t>(c.bytes.begin(), c.bytes.end()));
    auto start = std::chrono::steady_clock::now();
    std::string e = error_of([&] { load(f); });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(c.name << ": " << e);
    CHECK(contains(e, f + ": an ONNX file of 400000"));
    CHECK(contains(e, "refused before it is parsed"));
    CHECK(seconds < 3);  // about 0.1 s on the development machine; protobuf took 5 to 22 s
    // ember-ckpt verify within 512 MiB of address space (the file mapped, nothing parsed).
    Run v = run("ulimit -v 524288; " + kBin + "ember-ckpt verify " + f);
    CHECK(v.code == 1);
    CHECK(contains(v.output, "INVALID"));
    CHECK(contains(v.output, "refused before it is parsed"));
  }
  // A sparse file just under 2 GiB whose one initializer declares FLOAT [1] and 2 GiB of raw_data:
  // refused from the walk, before protobuf copies the raw_data. ember-ckpt within 3 GiB of address
  // space: the 2 GiB mapping, never touched; reading the file and parsing it needed 4 GiB.
  {
    const uint64_t raw = (uint64_t(1) << 31) - 256;
    std::string tensor("\x08\x01\x10\x01\x42\x01w\x4a", 8);
    append_varint(tensor, raw);
    std::string graph("\x2a", 1);
    append_varint(graph, tensor.size() + raw);
    std::string bytes = head + std::string("\x3a", 1);
    append_varint(bytes, graph.size() + tensor.size() + raw);
    bytes += graph + tensor;
    std::string f = dir.file("sparse.onnx");
    write_bytes(f, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    REQUIRE(::truncate(f.c_str(), off_t(bytes.size() + raw)) == 0);
    REQUIRE(bytes.size() + raw <= io::kOnnxMaxFile);
    auto start = std::chrono::steady_clock::now();
    std::string timer = std::filesystem::exists("/usr/bin/time") ? "/usr/bin/time -f 'peak RSS %M KB' " : "";
    Run v = run("ulimit -v 3145728; " + timer + kBin + "ember-ckpt verify " + f);
    INFO(v.output);
    CHECK(v.code == 1);
    CHECK(contains(v.output, "initializer 'w': raw_data holds 2147483392 bytes, but FLOAT [1] needs 4"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    std::smatch rss;
    if (std::regex_search(v.output, rss, std::regex("peak RSS ([0-9]+) KB"))) CHECK(std::stoll(rss[1]) < 200 * 1024);
  }
  // A model of many real nodes is not taken for one: 20,000 Add nodes with names, inputs and outputs.
  ::onnx::ModelProto m = small_model();
  for (int k = 0; k < 20000; ++k) {
    auto* node = m.mutable_graph()->add_node();
    node->set_op_type("Add");
    char name[32], in[32], out[32];
    std::snprintf(name, sizeof name, "add%d", k);
    std::snprintf(in, sizeof in, "y%d", k - 1);
    std::snprintf(out, sizeof out, "y%d", k);
    const std::string w(1, 'w');
    node->set_name(std::string(name));
    node->add_input(k ? std::string(in) : w);
    node->add_input(w);
    node->add_output(std::string(out));
  }
  CHECK(load_error(m, dir.file("many.onnx")) == "");
  io::OnnxReader r(dir.file("many.onnx"));
  CHECK(r.graph().nodes.size() == 20000);
}

TEST_CASE("train_mnist --export-onnx, then --load of the ONNX file, gives the same predictions") {
  ScratchDir dir("onnx_train_mnist");
  std::string common = " --data " + mnist_dir() + " --test-size 300 --model mnistnet-bn ";
  Run a = run(kBin + "train_mnist" + common + "--epochs 1 --train-size 640 --batch-size 32 --log-interval 100 " +
              "--export-onnx " + dir.file("m.onnx") + " --predictions " + dir.file("a.txt"));
  INFO(a.output);
  REQUIRE(a.code == 0);
  CHECK(contains(a.output, "Exported the model to " + dir.file("m.onnx") + " (ONNX, opset 17"));
  Run b = run(kBin + "train_mnist" + common + "--epochs 0 --load " + dir.file("m.onnx") + " --predictions " +
              dir.file("b.txt"));
  INFO(b.output);
  REQUIRE(b.code == 0);
  CHECK(read_bytes(dir.file("a.txt")) == read_bytes(dir.file("b.txt")));
  CHECK(read_bytes(dir.file("a.txt")).size() == 300);

  // ember-ckpt: the graph node by node beside the initializers; diff and convert treat it as a state dict.
  Run i = run(kBin + "ember-ckpt inspect " + dir.file("m.onnx"));
  INFO(i.output);
  CHECK(i.code == 0);
  CHECK(contains(i.output, "Conv(input, conv1.weight, conv1.bias) -> "));
  CHECK(contains(i.output, "BatchNormalization("));
  CHECK(contains(i.output, "-> output"));
  CHECK(contains(i.output, "bn1.running_mean"));
  Run c = run(kBin + "ember-ckpt convert " + dir.file("m.onnx") + " " + dir.file("m.safetensors"));
  INFO(c.output);
  CHECK(c.code == 0);
  Run d = run(kBin + "ember-ckpt diff " + dir.file("m.onnx") + " " + dir.file("m.safetensors"));
  INFO(d.output);
  CHECK(d.code == 0);
}

#else

TEST_CASE("without ONNX support, export and loading an ONNX file say so by name") {
  ScratchDir dir("onnx_off");
  CHECK_FALSE(ember::onnx::available());
  examples::MNISTNet m;
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, randn({2, 1, 28, 28}), dir.file("a.onnx")); }),
                 "has no ONNX support"));
  // ir_version 8, then a producer_name field: recognised as ONNX by its content.
  write_bytes(dir.file("b.onnx"), {0x08, 0x08, 0x12, 0x04, 't', 'e', 's', 't'});
  CHECK(io::detect_file_format(dir.file("b.onnx")) == io::FileFormat::Onnx);
  CHECK(contains(error_of([&] { load(dir.file("b.onnx")); }), dir.file("b.onnx") + ": an ONNX model, but this build"));
}

#endif
