// Hostile and broken input: malicious pickles are refused before anything runs, lengths are checked
// before anything is allocated, and malformed zip archives and safetensors files end in a clear
// ember::Error, never a crash.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>

#include "interop_helpers.h"

using namespace ember;
using namespace ember::test;

namespace {

template <size_t N>
std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string unpickle_error(const std::string& bytes) {
  return error_of([&] { io::pickle::unpickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "p.pkl"); });
}

bool has(const std::string& haystack, const std::string& needle) {
  bool found = haystack.find(needle) != std::string::npos;
  if (!found) MESSAGE("\"", needle, "\" not in: ", haystack);
  return found;
}

// A .pth whose data.pkl is `pkl` and whose records are `records` (named archive/data/<i>).
void write_pth_file(const std::string& path, const std::string& pkl, const std::vector<std::string>& records = {}) {
  std::vector<std::pair<std::string, std::string>> entries{{"archive/data.pkl", pkl}};
  for (size_t i = 0; i < records.size(); ++i) entries.emplace_back("archive/data/" + std::to_string(i), records[i]);
  entries.emplace_back("archive/version", "3\n");
  write_archive(path, entries);
}

// The pickle of {"t": <4 float32s viewed as `shape`/`stride` at `offset` in a storage of `numel`>}.
std::string tensor_pickle(const char* storage_type, const std::string& numel, const std::string& view) {
  return lit("\x80\x02}(X\x01\x00\x00\x00tctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n") +
         storage_type + lit("\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu") + numel + "tQ" + view +
         "\x89" "ccollections\nOrderedDict\n)RtRu.";
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * 4);
}

// A safetensors file from a header and data, with the length field filled in.
std::string safetensors(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int k = 0; k < 8; ++k) out[size_t(k)] = char(uint8_t(uint64_t(header.size()) >> (8 * k)));
  return out + header + data;
}

void write_text(const std::string& path, const std::string& bytes) {
  write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

}  // namespace

TEST_CASE("a GLOBAL naming os.system is refused before anything runs") {
  ScratchDir dir("pickle_global");
  std::string marker = dir.file("pwned");
  // pickle.dumps of os.system("touch <marker>"), as an attacker writes it (posix.system is os.system).
  std::string cmd = "touch " + marker;
  std::string evil = lit("\x80\x02" "cposix\nsystem\nq\x00X") + char(cmd.size()) + lit("\x00\x00\x00") + cmd +
                     "q\x01\x85q\x02Rq\x03.";
  std::string e = unpickle_error(evil);
  CHECK(has(e, "refusing global \"posix.system\""));
  CHECK(has(e, "p.pkl"));
  CHECK(has(e, "pickle byte 2"));
  // Through the whole loader, as a .pth file.
  write_pth_file(dir.file("evil.pth"), evil);
  e = error_of([&] { load_file(dir.file("evil.pth")); });
  CHECK(has(e, "posix.system"));
  CHECK_FALSE(std::filesystem::exists(marker));

  CHECK(has(unpickle_error("\x80\x02" "cos\nsystem\n."), "\"os.system\""));
  CHECK(has(unpickle_error("\x80\x02" "cbuiltins\neval\n."), "\"builtins.eval\""));
  CHECK(has(unpickle_error("\x80\x02" "ctorch\nload\n."), "\"torch.load\""));
  // STACK_GLOBAL (protocol 4) is checked the same way.
  CHECK(has(unpickle_error(lit("\x80\x04\x8c\x08" "builtins\x8c\x04" "exec\x93.")), "\"builtins.exec\""));
  // Names with odd bytes are shown escaped, not printed raw.
  CHECK(has(unpickle_error(lit("\x80\x02" "cos\x1b\nsystem\n.")), "os\\x1b.system"));
}

TEST_CASE("REDUCE, BUILD and NEWOBJ apply only the allowed callables") {
  // REDUCE of something that is not a callable global.
  CHECK(has(unpickle_error("\x80\x02])R."), "REDUCE calls a list"));
  CHECK(has(unpickle_error(lit("\x80\x02X\x02\x00\x00\x00hi)R.")), "REDUCE calls a str"));
  // Calling a storage type is refused: storages come only from the archive.
  CHECK(has(unpickle_error("\x80\x02" "ctorch\nFloatStorage\n)R."), "refusing to call torch.FloatStorage"));
  // The tensor-rebuild function with the wrong arguments.
  CHECK(has(unpickle_error("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n)R."), "takes 6 or 7 arguments"));
  CHECK(has(unpickle_error("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(NNNNNNtR."), "must be a storage"));
  CHECK(has(unpickle_error("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R."), "list of pairs"));
  // BUILD sets attributes: allowed only on an OrderedDict (a state dict's _metadata), nowhere else.
  CHECK(has(unpickle_error("\x80\x02}}b."), "BUILD of a dict"));
  CHECK(has(unpickle_error("\x80\x02]}b."), "BUILD of a list"));
  CHECK(unpickle_error(lit("\x80\x02" "ccollections\nOrderedDict\n)R}(X\x09\x00\x00\x00_metadata}ub.")) == "");
  CHECK(has(unpickle_error("\x80\x02" "ccollections\nOrderedDict\n)RK\x01" "b."), "BUILD of an OrderedDict with a int"));
  // NEWOBJ only makes an empty OrderedDict.
  CHECK(has(unpickle_error("\x80\x02" "ctorch\nSize\n)\x81."), "NEWOBJ of torch.Size"));
  // Opcodes that build arbitrary objects or reach outside the pickle.
  CHECK(has(unpickle_error("\x80\x02(ios\nsystem\n."), "opcode INST is not allowed"));
  CHECK(has(unpickle_error("\x80\x02(o."), "opcode OBJ is not allowed"));
  CHECK(has(unpickle_error(lit("\x80\x02\x82\x01.")), "opcode EXT1 is not allowed"));
  CHECK(has(unpickle_error("\x80\x02P1\n."), "opcode PERSID is not allowed"));
  CHECK(has(unpickle_error(lit("\x80\x02" "C\x01\x00.")), "opcode SHORT_BINBYTES is not allowed"));
  CHECK(has(unpickle_error("\x80\x02\xff."), "unknown opcode 0xff"));
  // Persistent ids name storages and nothing else.
  CHECK(has(unpickle_error(lit("\x80\x02X\x06\x00\x00\x00module\x85Q.")), "only storages are supported"));
  // dtypes Ember cannot hold are named.
  CHECK(has(unpickle_error("\x80\x02" "ctorch\nHalfStorage\n."), "holds float16"));
  CHECK(has(unpickle_error("\x80\x02" "ctorch\nBFloat16Storage\n."), "holds bfloat16"));
}

TEST_CASE("oversized lengths are checked against the input before anything is allocated") {
  // A string claiming 4 GiB, 2^63 bytes, a long of 2 GiB, a frame of 2^64-1: all refused at once.
  CHECK(has(unpickle_error(lit("\x80\x02X\xff\xff\xff\xff" "abc")), "needs 4294967295 bytes, only 3 are left"));
  CHECK(has(unpickle_error(lit("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80" "a")), "needs 9223372036854775808 bytes"));
  CHECK(has(unpickle_error(lit("\x80\x02\x8b\xff\xff\xff\x7f" "a")), "needs 2147483647 bytes"));
  CHECK(has(unpickle_error(lit("\x80\x02\x8b\xff\xff\xff\xff" "a")), "negative length"));
  CHECK(has(unpickle_error(lit("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xff.")), "truncated"));
  CHECK(has(unpickle_error(lit("\x80\x02" "cos\nsys")), "no terminating newline"));
  // Integers that do not fit in 64 bits.
  CHECK(has(unpickle_error(lit("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.")), "does not fit in 64 bits"));
  CHECK(has(unpickle_error(lit("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.")), "does not fit in 64 bits"));
  // ...but 9-byte encodings of values that fit are fine (2^63 - 1 with a sign byte).
  CHECK(unpickle_error(lit("\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\x7f\x00.")) == "");
  // A memo index far past anything written is an error, not a giant table.
  CHECK(has(unpickle_error(lit("\x80\x02j\xff\xff\xff\xff.")), "memo entry 4294967295 is read before it is written"));
  CHECK(unpickle_error(lit("\x80\x02Nr\xff\xff\xff\xff.")) == "");
}

TEST_CASE("broken pickles: underflow, missing STOP, cycles, exponential sharing, deep nesting") {
  CHECK(has(unpickle_error("\x80\x02."), "stack underflow"));
  CHECK(has(unpickle_error("\x80\x02t."), "no MARK"));
  CHECK(has(unpickle_error("\x80\x02(."), "stack underflow"));
  CHECK(has(unpickle_error("\x80\x02N"), "without a STOP"));
  CHECK(has(unpickle_error(""), "without a STOP"));
  CHECK(has(unpickle_error(lit("\x80\x09N.")), "unsupported pickle protocol 9"));
  CHECK(has(unpickle_error("\x80\x02}K\x01K\x02s}Ns."), "dict key must be a str or an int"));
  CHECK(has(unpickle_error("\x80\x02K\x01K\x02" "a."), "APPEND to a int"));
  // A list that contains itself.
  CHECK(has(unpickle_error(lit("\x80\x02]q\x00h\x00" "a.")), "contains itself"));
  // Each list holds the previous one twice: 2^60 leaves from a few hundred bytes.
  std::string laughs = lit("\x80\x02]q\x00");
  for (int i = 1; i <= 60; ++i)
    laughs += "](h" + std::string(1, char(i - 1)) + "h" + std::string(1, char(i - 1)) + "eq" + std::string(1, char(i));
  laughs += ".";
  CHECK(has(unpickle_error(laughs), "expand into too large a tree"));
  // One 64 KiB string referenced 4000 times: 72 KiB of pickle, 256 MiB of strings.
  std::string copies = lit("\x80\x02X\x00\x00\x01\x00") + std::string(65536, 'x') + lit("q\x00](");
  for (int i = 0; i < 4000; ++i) copies += lit("h\x00");
  copies += "e.";
  CHECK(has(unpickle_error(copies), "expand into too large a tree"));
  // 300 nested lists.
  std::string deep = "\x80\x02" + std::string(300, ']');
  for (int i = 0; i < 299; ++i) deep += "a";
  deep += ".";
  CHECK(has(unpickle_error(deep), "nests deeper than 128 levels"));
  // Both the int key 1 and the str key "1": one Ember key, so refused.
  CHECK(has(unpickle_error(lit("\x80\x02}(K\x01NX\x01\x00\x00\x00" "1Nu.")), "both the int key 1 and the str key \"1\""));
}

TEST_CASE("tensor views, storages and records are checked against each other") {
  ScratchDir dir("pth_views");
  auto load_error = [&](const std::string& pkl, const std::vector<std::string>& records) {
    write_pth_file(dir.file("t.pth"), pkl, records);
    return error_of([&] { load_file(dir.file("t.pth")); });
  };
  std::string four = floats({1, 2, 3, 4});
  // A good one first: shape (2, 2), stride (2, 1).
  CHECK(load_error(tensor_pickle("FloatStorage", "K\x04", lit("K\x00K\x02K\x02\x86K\x02K\x01\x86")), {four}) == "");
  // The view reaches past the storage's 4 elements.
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04", "K\x01K\x02K\x02\x86K\x02K\x01\x86"), {four}),
            "reaches past the end of storage \"0\" (4 elements)"));
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04", lit("K\x00K\x02\x85J\x00\x00\x00\x40\x85")), {four}),
            "reaches past the end"));
  // Sizes whose product overflows.
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04",
                                     lit("K\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40K\x10\x86K\x00K\x00\x86")),
                       {four}),
            "too large"));
  // Negative sizes and strides, mismatched ranks.
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04", lit("K\x00J\xff\xff\xff\xff\x85K\x01\x85")), {four}),
            "non-negative"));
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04", lit("K\x00K\x02K\x02\x86K\x01\x85")), {four}),
            "2 dims but its stride 1"));
  // A stride-0 view of one element claiming 2^40 of them: materialising it would take 4 TiB.
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04", lit("K\x00\x8a\x06\x00\x00\x00\x00\x00\x01\x85K\x00\x85")),
                       {four}),
            "at most 4 times their size"));
  // The storage claims 100 elements; its record holds 4.
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x64", lit("K\x00K\x02K\x02\x86K\x02K\x01\x86")), {four}),
            "record archive/data/0 holds 16 bytes, but its storage is 100 elements of float32"));
  // No record at all.
  CHECK(has(load_error(tensor_pickle("FloatStorage", "K\x04", lit("K\x00K\x04\x85K\x01\x85")), {}),
            "storage \"0\" has no record archive/data/0"));
  // A bool storage holding a byte that is neither 0 nor 1.
  CHECK(has(load_error(tensor_pickle("BoolStorage", "K\x04", lit("K\x00K\x04\x85K\x01\x85")), {lit("\x01\x00\x02\x01")}),
            "bool element 2 holds the byte 2"));
}

TEST_CASE("malformed zip archives are refused with clear errors") {
  ScratchDir dir("pth_zip");
  save_pth(Value::dict({{"w", from_vector<float>({1, 2, 3, 4})}, {"n", 3}}), dir.file("good.pth"));
  const std::vector<uint8_t> good = read_bytes(dir.file("good.pth"));
  auto error_for = [&](std::vector<uint8_t> bytes) {
    write_bytes(dir.file("bad.pth"), bytes);
    return error_of([&] {
      io::PthReader reader(dir.file("bad.pth"));
      io::load_checkpoint(reader, "cpu");
    });
  };
  auto find = [&](const std::string& s, size_t from = 0) {
    std::vector<uint8_t> needle(s.begin(), s.end());  // as unsigned bytes, to compare with the file's
    auto it = std::search(good.begin() + ptrdiff_t(from), good.end(), needle.begin(), needle.end());
    REQUIRE(it != good.end());
    return size_t(it - good.begin());
  };
  REQUIRE(error_for(good) == "");
  size_t end_record = find(lit("PK\x05\x06"));
  size_t central = find(lit("PK\x01\x02"));

  CHECK(has(error_for({'P', 'K', 3, 4}), "too short"));
  std::vector<uint8_t> b = good;
  b.resize(end_record);  // the end record cut off
  CHECK(has(error_for(b), "no end-of-central-directory record"));
  b = good;
  put_le32(b, end_record + 16, uint32_t(good.size()));  // central directory offset past the end
  CHECK(has(error_for(b), "runs past the end records"));
  b = good;
  b[end_record + 10] = 0xF0;  // 240 entries claimed
  b[end_record + 8] = 0xF0;
  CHECK(has(error_for(b), "claims 240 entries"));
  b = good;
  b[end_record + 4] = 1;  // multi-disk
  CHECK(has(error_for(b), "multi-disk"));
  b = good;
  b[central + 8] |= 1;  // encrypted
  CHECK(has(error_for(b), "is encrypted"));
  b = good;
  b[central + 10] = 12;  // bzip2
  CHECK(has(error_for(b), "compression method 12"));
  b = good;
  put_le32(b, central + 42, 7);  // local header offset to nowhere
  CHECK(has(error_for(b), "no local header at byte 7"));
  b = good;
  b[find("archive/data.pkl") + 8] = 'X';  // the local header names another file than the directory
  CHECK(has(error_for(b), "its local header names a different file"));
  b = good;
  b[find(lit("\x80\x02"), 64) + 1] ^= 0x01;  // a bit flip inside data.pkl
  CHECK(has(error_for(b), "zip entry \"archive/data.pkl\" is damaged: its CRC32 is"));
  b = good;
  size_t data = find(floats({1, 2, 3, 4}));
  b[data] ^= 0x40;  // a flip inside a tensor's bytes: loading fails, check_tensor says why
  CHECK(has(error_for(b), "record archive/data/0 is damaged"));
  write_bytes(dir.file("bad.pth"), b);
  io::PthReader reader(dir.file("bad.pth"));
  CHECK(has(reader.check_tensor(0), "damaged"));

  // Two entries of the same name; then an entry whose bytes lie inside another's (the overlapping
  // entries of zip bombs): a copy of a valid local header hidden in the first entry's data.
  const char* kCentral = "PK\x01\x02";
  auto second_central = [&](const std::vector<uint8_t>& bytes) {
    auto first = std::search(bytes.begin(), bytes.end(), kCentral, kCentral + 4);
    return size_t(std::search(first + 4, bytes.end(), kCentral, kCentral + 4) - bytes.begin());
  };
  write_archive(dir.file("two.pth"), {{"archive/aaaa", "x"}, {"archive/bbbb", "y"}});
  b = read_bytes(dir.file("two.pth"));
  std::memcpy(&b[second_central(b) + 46 + 8], "aaaa", 4);
  CHECK(has(error_for(b), "zip entry \"archive/aaaa\" appears twice"));
  write_archive(dir.file("one.pth"), {{"archive/bbbb", "y"}});
  std::vector<uint8_t> hidden = read_bytes(dir.file("one.pth"));
  hidden.resize(64 + 1);  // its local header, padding and the byte "y"
  write_archive(dir.file("bomb.pth"), {{"archive/aaaa", as_string(hidden)}, {"archive/bbbb", "y"}});
  b = read_bytes(dir.file("bomb.pth"));
  put_le32(b, second_central(b) + 42, 64);  // "archive/bbbb" now starts inside "archive/aaaa"
  CHECK(has(error_for(b), "zip entries \"archive/aaaa\" and \"archive/bbbb\" overlap"));

  // Archives that are not torch.save files.
  write_archive(dir.file("other.pth"), {{"notes.txt", "hi"}});
  CHECK(has(error_for(read_bytes(dir.file("other.pth"))), "is not inside a folder"));
  write_archive(dir.file("other.pth"), {{"archive/notes.txt", "hi"}});
  CHECK(has(error_for(read_bytes(dir.file("other.pth"))), "has no archive/data.pkl"));
  write_archive(dir.file("jit.pth"), {{"archive/data.pkl", "\x80\x02N."}, {"archive/constants.pkl", "\x80\x02N."}});
  CHECK(has(error_for(read_bytes(dir.file("jit.pth"))), "TorchScript archive"));
  write_archive(dir.file("v.pth"), {{"archive/data.pkl", "\x80\x02N."}, {"archive/version", "99\n"}});
  CHECK(has(error_for(read_bytes(dir.file("v.pth"))), "unsupported PyTorch file version \"99\""));
  write_archive(dir.file("bo.pth"), {{"archive/data.pkl", "\x80\x02N."}, {"archive/byteorder", "middle"}});
  CHECK(has(error_for(read_bytes(dir.file("bo.pth"))), "unknown byte order \"middle\""));
}

TEST_CASE("every truncation and many random corruptions of a .pth end in an ember::Error or a load") {
  ScratchDir dir("pth_fuzzish");
  const std::vector<uint8_t> good = read_bytes(fixture_path("interop_views.pth"));
  auto survives = [&](const std::vector<uint8_t>& bytes, size_t n) {
    write_bytes(dir.file("x.pth"), bytes, n);
    try {
      io::PthReader reader(dir.file("x.pth"));
      io::load_checkpoint(reader, "cpu");
    } catch (const Error&) {
    }
    return true;  // anything else (a crash, another exception) fails the test
  };
  for (size_t n = 0; n < good.size(); n += 7) CHECK(survives(good, n));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1500; ++i) {
    std::vector<uint8_t> b = good;
    for (int k = 0; k < 1 + int(rng() % 4); ++k) b[rng() % b.size()] = uint8_t(rng());
    CHECK(survives(b, b.size()));
  }
}

TEST_CASE("legacy PyTorch files and unknown formats are named") {
  ScratchDir dir("pth_legacy");
  write_text(dir.file("old.pt"), lit("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.rest"));
  CHECK(io::detect_file_format(dir.file("old.pt")) == io::FileFormat::LegacyTorch);
  CHECK(has(error_of([&] { load_file(dir.file("old.pt")); }), "legacy format"));
  write_text(dir.file("x.bin"), "hello, world");
  CHECK(io::detect_file_format(dir.file("x.bin")) == io::FileFormat::Unknown);
  CHECK(has(error_of([&] { load_file(dir.file("x.bin")); }), "not an Ember checkpoint"));
}

TEST_CASE("malformed safetensors files are refused, each rule with its own message") {
  ScratchDir dir("st_bad");
  auto error_for = [&](const std::string& bytes) {
    write_text(dir.file("x.safetensors"), bytes);
    return error_of([&] {
      io::SafetensorsReader reader(dir.file("x.safetensors"));
      io::load_checkpoint(reader, "cpu");
    });
  };
  std::string f2 = floats({1, 2});
  CHECK(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f2)) == "");
  CHECK(error_for(safetensors("{}")) == "");  // no tensors at all is a valid file
  // The 8-byte length: too short a file, a header past the cap, a header past the end.
  CHECK(has(error_for("abc"), "too short"));
  CHECK(has(error_for(lit("\x00\xe2\xf5\x05\x01\x00\x00\x00{")), "exceeds the safetensors limit of 100000000"));
  CHECK(has(error_for(lit("\x10\x00\x00\x00\x00\x00\x00\x00{}")), "runs past the end of the file"));
  // The JSON header.
  CHECK(has(error_for(safetensors(" {}")), "starting with '{'"));
  CHECK(has(error_for(safetensors("{\"a\":")), "not valid JSON"));
  CHECK(has(error_for(safetensors("{\"a\xff\":1}")), "not valid JSON"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                  R"("a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})")),
            "names \"a\" twice"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","dtype":"F32","shape":[0],"data_offsets":[0,0]}})")),
            "names \"dtype\" twice"));
  CHECK(has(error_for(safetensors(R"({"__metadata__":{"k":1}})")), "must map strings to strings; \"k\" is a number"));
  CHECK(has(error_for(safetensors(R"({"__metadata__":[]})")), "must be an object of strings"));
  // Each tensor's entry.
  CHECK(has(error_for(safetensors(R"({"a":3})")), "expected an object"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":1}})")),
            "unknown field \"x\""));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}})")),
            "dtype \"F16\" is not supported"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"Q7","shape":[0],"data_offsets":[0,0]}})")), "unknown dtype \"Q7\""));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})")), "non-negative"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}})")), "non-negative"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})")),
            "too large"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", f2)), "[begin, end]"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f2)),
            "end before they begin"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f2)),
            "span 8 bytes, but F32 [3] needs 12"));
  // The layout of the data: holes, overlaps, leftovers, truncation.
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f2)),
            "a hole of 4 bytes before tensor \"a\""));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                  f2)),
            "overlaps the tensor before it"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f2)),
            "4 bytes after the last tensor belong to no tensor"));
  CHECK(has(error_for(safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f2)),
            "truncated file?"));
  // Bool bytes must be 0 or 1.
  CHECK(has(error_for(safetensors(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", lit("\x01\x07"))),
            "bool element 1 holds the byte 7"));
}
