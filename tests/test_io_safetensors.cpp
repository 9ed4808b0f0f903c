// safetensors: a file written per the format's spec (tests/reference/gen_interop.py) loads exactly;
// files Ember writes follow the layout and round-trip exactly; what the format cannot hold is
// refused with a reason. Malformed files are in test_io_pickle_safety.cpp.
#include "interop_helpers.h"

using namespace ember;
using namespace ember::test;

namespace {
Value every_dtype() {
  return Value::dict({
      {"f32", from_vector<float>({1.5f, -0.0f, 3e38f, 1e-45f}, {2, 2})},
      {"f64", from_vector<double>({0.1, -2.5, 1e300})},
      {"i64", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), 0, (int64_t(1) << 53) + 1})},
      {"u8", from_vector<uint8_t>({0, 128, 255})},
      {"bool", from_vector<bool>({true, false, true})},
      {"scalar", scalar_tensor(2.5)},
      {"empty", zeros({2, 0})},
      {"conv.weight", arange(0.0, 24.0, 1.0, kFloat32).reshape({1, 2, 3, 4})},
      {"odd/name~\xc3\xa9", from_vector<float>({7})},
  });
}
}  // namespace

TEST_CASE("a safetensors file written by the spec loads exactly, in file order, with its metadata") {
  io::SafetensorsReader reader(fixture_path("interop_tensors.safetensors"));
  CHECK(reader.format() == "safetensors");
  CHECK(reader.metadata().size() == 2);
  CHECK(reader.metadata().at("format") == "pt");
  CHECK(reader.metadata().at("source") == "gen_interop.py");
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    CHECK_FALSE(reader.tensors()[i].has_checksum);
    CHECK(reader.check_tensor(i) == "");
  }
  Value v = load_file(fixture_path("interop_tensors.safetensors"));
  CHECK(v.as_dict().keys() == std::vector<std::string>{"weight", "double", "index", "pixels", "mask", "scalar", "empty"});
  CHECK(v.at("weight").as_tensor().shape() == Shape{2, 3});
  CHECK(v.at("weight").as_tensor().to_vector<float>() == std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f, 4.5f, -0.125f});
  CHECK(v.at("double").as_tensor().to_vector<double>() == std::vector<double>{0.1, 1e300});
  CHECK(v.at("index").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{-1, (int64_t(1) << 53) + 1, 0});
  CHECK(v.at("pixels").as_tensor().dtype() == kUInt8);
  CHECK(v.at("pixels").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{0, 128, 255, 1});
  CHECK(v.at("mask").as_tensor().dtype() == kBool);
  CHECK(v.at("mask").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(v.at("scalar").as_tensor().dim() == 0);
  CHECK(v.at("scalar").as_tensor().item() == 2.5);
  CHECK(v.at("empty").as_tensor().shape() == Shape{2, 0});
}

TEST_CASE("ember -> safetensors -> ember is exact, metadata included; the layout follows the format") {
  ScratchDir dir("st_roundtrip");
  Value v = every_dtype();
  io::StringMap meta;
  meta.insert("format", "pt");
  meta.insert("note", "h\xc3\xa9llo \"quoted\"");
  save_safetensors(v, dir.file("a.safetensors"), meta);
  CHECK(tree_difference(v, load_file(dir.file("a.safetensors"))) == "");
  io::SafetensorsReader reader(dir.file("a.safetensors"));
  CHECK(reader.metadata().keys() == meta.keys());
  CHECK(reader.metadata().at("note") == meta.at("note"));

  std::vector<uint8_t> bytes = read_bytes(dir.file("a.safetensors"));
  uint64_t n = le64(bytes, 0);
  CHECK(n % 8 == 0);  // padded with spaces so the data is 8-byte aligned
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + ptrdiff_t(n));
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(header);
  CHECK(j.begin().key() == "__metadata__");
  CHECK(j["f32"]["dtype"] == "F32");
  CHECK(j["f32"]["shape"] == nlohmann::json::array({2, 2}));
  CHECK(j["f32"]["data_offsets"] == nlohmann::json::array({0, 16}));
  CHECK(j["f64"]["data_offsets"] == nlohmann::json::array({16, 40}));
  CHECK(j["bool"]["dtype"] == "BOOL");
  CHECK(j["scalar"]["shape"] == nlohmann::json::array());
  CHECK(reader.tensors()[0].offset == 8 + n);

  // Without metadata there is no "__metadata__" entry; equal inputs give equal files.
  save_safetensors(v, dir.file("b.safetensors"));
  save_safetensors(v, dir.file("c.safetensors"));
  CHECK(read_bytes(dir.file("b.safetensors")) == read_bytes(dir.file("c.safetensors")));
  CHECK(io::SafetensorsReader(dir.file("b.safetensors")).metadata().empty());
  save_safetensors(Value::dict(), dir.file("empty.safetensors"));
  CHECK(load_file(dir.file("empty.safetensors")).size() == 0);
}

TEST_CASE("a PyTorch state dict converted to safetensors keeps every tensor bit for bit") {
  ScratchDir dir("st_convert");
  Value sd = load_file(fixture_path("interop_mnistnet.pth"));
  save_safetensors(sd, dir.file("m.safetensors"));
  CHECK(io::detect_file_format(dir.file("m.safetensors")) == io::FileFormat::Safetensors);
  CHECK(tree_difference(sd, load_file(dir.file("m.safetensors"))) == "");
}

TEST_CASE("writing refuses what safetensors cannot hold, saying why") {
  ScratchDir dir("st_refuse");
  Value ckpt = Value::dict({{"epoch", 3}, {"model_state_dict", every_dtype()}});
  std::string e = error_of([&] { save_safetensors(ckpt, dir.file("x.safetensors")); });
  CHECK(e.find("only a flat dict of tensors") != std::string::npos);
  CHECK(e.find("\"epoch\" is an int") != std::string::npos);
  CHECK(e.find("save its \"model_state_dict\"") != std::string::npos);
  e = error_of([&] { save_safetensors(Value::list({from_vector<float>({1})}), dir.file("x.safetensors")); });
  CHECK(e.find("found a list") != std::string::npos);
  e = error_of([&] { save_safetensors(Value::dict({{"__metadata__", from_vector<float>({1})}}), dir.file("x.safetensors")); });
  CHECK(e.find("reserved") != std::string::npos);
  e = error_of([&] { save_safetensors(Value::dict({{"\xff", from_vector<float>({1})}}), dir.file("x.safetensors")); });
  CHECK(e.find("not valid UTF-8") != std::string::npos);
  e = error_of([&] { save_safetensors(Value::dict({{"t", Tensor()}}), dir.file("x.safetensors")); });
  CHECK(e.find("undefined") != std::string::npos);
  CHECK(dir.listing().empty());
}

// Issue 25: a header length such as 0x120108 begins 08 01 12, which also reads as ONNX's ir_version
// and producer_name: about 1,000 lengths between 1.18 and 7.5 MB were taken for ONNX and refused.
TEST_CASE("detection never takes a valid safetensors file for another format, whatever its header length") {
  ScratchDir dir("st_detect");
  // A real file with header length 0x120108: the JSON header padded with spaces, as the spec allows.
  const uint64_t len = 0x120108;
  std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append(size_t(len) - header.size(), ' ');
  std::vector<uint8_t> bytes(8);
  for (int k = 0; k < 8; ++k) bytes[size_t(k)] = uint8_t(len >> (8 * k));
  bytes.insert(bytes.end(), header.begin(), header.end());
  float w[2] = {1.5f, -2.0f};
  bytes.insert(bytes.end(), reinterpret_cast<uint8_t*>(w), reinterpret_cast<uint8_t*>(w) + sizeof w);
  write_bytes(dir.file("padded.safetensors"), bytes);
  CHECK(io::detect_file_format(dir.file("padded.safetensors")) == io::FileFormat::Safetensors);
  Value v = load_file(dir.file("padded.safetensors"));
  CHECK(v.at("w").as_tensor().to_vector<float>() == std::vector<float>{1.5f, -2.0f});

  // Every header length up to 2^25 (32 MiB), then lengths with each higher byte set, against the
  // detector itself: the first 8 bytes, then '{'.
  auto detected = [](uint64_t n) {
    uint8_t head[16] = {};
    for (int k = 0; k < 8; ++k) head[k] = uint8_t(n >> (8 * k));
    head[8] = '{';
    head[9] = '"';
    return io::detect_format(head, sizeof head, n + 8 + 64);
  };
  uint64_t wrong = 0, first_wrong = 0;
  auto check = [&](uint64_t n) {
    if (detected(n) != io::FileFormat::Safetensors && wrong++ == 0) first_wrong = n;
  };
  for (uint64_t n = 2; n < (uint64_t(1) << 25); ++n) check(n);
  for (int shift = 25; shift < 63; ++shift)
    for (uint64_t low : {uint64_t(0), uint64_t(0x120108), uint64_t(0x7f1208), uint64_t(0xffffff)})
      check((uint64_t(1) << shift) | low);
  CHECK_MESSAGE(wrong == 0, wrong, " header lengths not detected as safetensors, the first ", first_wrong);
}
