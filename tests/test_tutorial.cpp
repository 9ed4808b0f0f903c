// Keeps docs/state-dicts.md true: every command the tutorial shows is run, and what it prints must be
// exactly the output block under it; every C++ excerpt must be exactly the marked lines of its
// program. The conventions (also described at the end of the tutorial):
//
//   <!-- output [exit=N] [requires=no-cuda|cuda-no-gpu|onnx] [mask=/REGEX/ ...] -->
//   ```console
//   $ build/bin/PROGRAM ARGS          one command; build/bin is the build folder's bin/, and an
//                                      argument under tests/reference/ is the source tree's
//   ...what it prints, stdout and stderr together...
//   ```
//
//   <!-- snippet: examples/FILE.cpp NAME -->
//   ```cpp
//   ...the lines between "// [NAME]" and "// [/NAME]" in FILE.cpp, dedented...
//   ```
//
// Commands write under /tmp/ember-tutorial; the test runs them in a fresh folder of its own and
// writes that folder's name back as /tmp/ember-tutorial before comparing. A mask is for values that
// vary from machine to machine (checksums of trained weights): matches of REGEX are replaced by
// <masked> on both sides. requires=no-cuda: the block shows a build without CUDA; requires=cuda-no-gpu:
// a build with CUDA on a machine without a GPU (what scripts/build.sh gives where nvcc is installed);
// requires=onnx: a build with ONNX support (libonnx-dev);
// other builds run the command but do not compare its output. Blocks run in document order, so a block may read files an earlier block wrote.
//
// EMBER_UPDATE_TUTORIAL=1 rewrites the blocks from the programs instead of comparing
// (scripts/update_tutorial_outputs.sh).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "ember/core/backend.h"
#include "ember/io/onnx/export.h"
#include "helpers.h"

namespace fs = std::filesystem;

namespace {

const std::string kDoc = std::string(EMBER_SOURCE_DIR) + "/docs/state-dicts.md";
const std::string kDocDir = "/tmp/ember-tutorial";  // the folder the tutorial's commands use
const std::string kBinPrefix = "build/bin/";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// One marked block of the markdown: lines [first, last) are its content, inside the fences.
struct Block {
  enum Kind { Output, Snippet } kind;
  size_t marker_line = 0, first = 0, last = 0;
  // Output blocks.
  std::string command;  // after "$ "
  std::string expected;  // the lines after the command, each ending in '\n'
  int exit_code = 0;
  std::string requires_build;  // "", "no-cuda" or "cuda-no-gpu"
  std::vector<std::regex> masks;
  // Snippet blocks.
  std::string file, name, code;
};

// Parses every marked block; throws (via doctest) on a malformed one, naming its line.
std::vector<Block> parse(const std::vector<std::string>& lines) {
  std::vector<Block> blocks;
  static const std::regex output_re(R"(^<!-- output((?: [^ ]+)*) -->$)");
  static const std::regex snippet_re(R"(^<!-- snippet: ([^ ]+) ([^ ]+) -->$)");
  size_t fence = 0;  // backticks of the open fence outside a marked block; 0 when none is open
  for (size_t i = 0; i < lines.size(); ++i) {
    size_t ticks = std::min(lines[i].find_first_not_of('`'), lines[i].size());
    if (fence) {  // markers inside a fenced block are text (as in the example at the end of the tutorial)
      if (ticks >= fence && ticks == lines[i].size()) fence = 0;
      continue;
    }
    if (ticks >= 3) {
      fence = ticks;
      continue;
    }
    std::smatch m;
    Block b;
    if (std::regex_match(lines[i], m, output_re)) {
      b.kind = Block::Output;
      std::istringstream attrs(m[1].str());
      std::string a;
      while (attrs >> a) {
        if (a.rfind("exit=", 0) == 0) b.exit_code = std::stoi(a.substr(5));
        else if (a == "requires=no-cuda" || a == "requires=cuda-no-gpu" || a == "requires=onnx")
          b.requires_build = a.substr(9);
        else if (a.rfind("mask=/", 0) == 0 && a.size() > 7 && a.back() == '/')
          b.masks.emplace_back(a.substr(6, a.size() - 7));
        else FAIL("docs/state-dicts.md:" << i + 1 << ": unknown output attribute '" << a << "'");
      }
    } else if (std::regex_match(lines[i], m, snippet_re)) {
      b.kind = Block::Snippet;
      b.file = m[1];
      b.name = m[2];
    } else {
      continue;
    }
    b.marker_line = i;
    const char* fence = b.kind == Block::Output ? "```console" : "```cpp";
    REQUIRE_MESSAGE((i + 1 < lines.size() && lines[i + 1] == fence),
                    "docs/state-dicts.md:" << i + 2 << ": expected " << fence << " after the marker");
    b.first = i + 2;
    size_t end = b.first;
    while (end < lines.size() && lines[end] != "```") ++end;
    REQUIRE_MESSAGE(end < lines.size(), "docs/state-dicts.md:" << i + 1 << ": the block is not closed");
    b.last = end;
    if (b.kind == Block::Output) {
      REQUIRE_MESSAGE((b.first < end && lines[b.first].rfind("$ ", 0) == 0),
                      "docs/state-dicts.md:" << b.first + 1 << ": an output block starts with \"$ command\"");
      b.command = lines[b.first].substr(2);
      for (size_t k = b.first + 1; k < end; ++k) b.expected += lines[k] + "\n";
    } else {
      for (size_t k = b.first; k < end; ++k) b.code += lines[k] + "\n";
    }
    blocks.push_back(std::move(b));
    i = end;
  }
  return blocks;
}

// Whether this build prints what block b shows (see requires= above).
bool shows_this_build(const Block& b) {
  if (b.requires_build == "no-cuda") return !ember::cuda_built();
  if (b.requires_build == "onnx") return ember::onnx::available();
  // A CUDA build whose module and libraries load, on a machine without a GPU (not one whose CUDA
  // libraries are missing: that run's reason names the missing library instead).
  if (b.requires_build == "cuda-no-gpu")
    return ember::cuda_built() && ember::cuda_device_count() == 0 &&
           ember::cuda::unavailable_reason() == "no GPU is visible to the CUDA runtime";
  return true;
}

// The lines between "// [name]" and "// [/name]" of a source file, with their common indentation removed.
std::string snippet_of(const std::string& file, const std::string& name) {
  std::vector<std::string> src = split_lines(read_text(std::string(EMBER_SOURCE_DIR) + "/" + file));
  size_t begin = src.size(), end = src.size();
  for (size_t i = 0; i < src.size(); ++i) {
    std::string t = src[i].substr(std::min(src[i].find_first_not_of(' '), src[i].size()));
    if (t == "// [" + name + "]") begin = i + 1;
    if (t == "// [/" + name + "]" && begin < src.size()) end = i;
  }
  REQUIRE_MESSAGE(end < src.size(), file << " has no snippet \"// [" << name << "]\" ... \"// [/" << name << "]\"");
  size_t indent = std::string::npos;
  for (size_t i = begin; i < end; ++i)
    if (src[i].find_first_not_of(' ') != std::string::npos) indent = std::min(indent, src[i].find_first_not_of(' '));
  std::string out;
  for (size_t i = begin; i < end; ++i) out += (src[i].size() > indent ? src[i].substr(indent) : "") + "\n";
  return out;
}

using RunResult = ember::test::ShellResult;

// Runs a tutorial command with its folder and program paths made real, and maps the folder back.
RunResult run_command(const std::string& command, const fs::path& scratch) {
  REQUIRE_MESSAGE(command.rfind(kBinPrefix, 0) == 0,
                  "a tutorial command must start with " << kBinPrefix << ": " << command);
  std::string program = command.substr(kBinPrefix.size(), command.find(' ') - kBinPrefix.size());
  std::string binary = std::string(EMBER_BINARY_DIR) + "/bin/" + program;
  REQUIRE_MESSAGE(fs::exists(binary), binary << " does not exist: build the examples (cmake --build build)");
  // Arguments under tests/reference/ (the PyTorch fixtures a section reads) are the source tree's.
  const std::string source = std::string(EMBER_SOURCE_DIR) + "/";
  std::string args = replace_all(command.substr(kBinPrefix.size() + program.size()), kDocDir, scratch.string());
  std::string cmd = binary + replace_all(args, " tests/reference/", " " + source + "tests/reference/");
  RunResult r = ember::test::run_shell(cmd);
  r.output = replace_all(replace_all(r.output, scratch.string(), kDocDir), source + "tests/reference/",
                         "tests/reference/");
  return r;
}

std::string masked(std::string s, const std::vector<std::regex>& masks) {
  for (const auto& re : masks) s = std::regex_replace(s, re, "<masked>");
  return s;
}

// "" when equal, else the first differing line of each (counted from the first line after the command).
std::string first_difference(const std::string& expected, const std::string& actual) {
  if (expected == actual) return "";
  auto e = split_lines(expected), a = split_lines(actual);
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    std::string x = i < e.size() ? e[i] : "<no line>", y = i < a.size() ? a[i] : "<no line>";
    if (x != y) return "line " + std::to_string(i + 1) + " of the block:\n  tutorial: " + x + "\n  program:  " + y;
  }
  return "the outputs differ in their final newline";
}

struct Tutorial {
  std::vector<std::string> lines;
  std::vector<Block> blocks;
  std::map<size_t, RunResult> results;  // by block index; blocks skipped here are absent
};

// Parses the tutorial and runs every output block once, in order, in one fresh folder.
const Tutorial& tutorial() {
  static Tutorial t = [] {
    Tutorial t;
    t.lines = split_lines(read_text(kDoc));
    t.blocks = parse(t.lines);
    fs::path scratch = fs::temp_directory_path() / ("ember-tutorial-test-" + std::to_string(getpid()));
    fs::remove_all(scratch);
    fs::create_directories(scratch);
    for (size_t i = 0; i < t.blocks.size(); ++i) {
      const Block& b = t.blocks[i];
      if (b.kind != Block::Output) continue;
      // A block that shows a build without CUDA still runs (later blocks read the files it
      // writes); only its comparison is skipped in a CUDA build.
      t.results[i] = run_command(b.command, scratch);
    }
    fs::remove_all(scratch);
    return t;
  }();
  return t;
}

bool updating() {
  const char* v = std::getenv("EMBER_UPDATE_TUTORIAL");
  return v && std::string(v) == "1";
}

}  // namespace

TEST_CASE("the comparison sees a one-character drift, and a mask hides only what it matches") {
  std::vector<std::regex> crc{std::regex("0x[0-9a-f]{8}")};
  CHECK(first_difference("loss 0.1234\n", "loss 0.1234\n").empty());
  CHECK(first_difference("loss 0.1234\n", "loss 0.1235\n") ==
        "line 1 of the block:\n  tutorial: loss 0.1234\n  program:  loss 0.1235");
  CHECK_FALSE(first_difference("a\n", "a\nb\n").empty());
  CHECK(masked("ok 0x2e536ee0 [3, 4]\n", crc) == masked("ok 0x0000beef [3, 4]\n", crc));
  CHECK(masked("ok 0x2e536ee0 [3, 4]\n", crc) != masked("ok 0x0000beef [3, 5]\n", crc));

  auto blocks = parse({"text", "<!-- output exit=1 mask=/0x[0-9a-f]{8}/ -->", "```console",
                       "$ build/bin/x --dir /tmp/ember-tutorial", "line one", "```",
                       "```text", "<!-- output -->", "inside a fence: not a marker", "```",
                       "<!-- snippet: examples/x.cpp part -->", "```cpp", "int x;", "```"});
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].command == "build/bin/x --dir /tmp/ember-tutorial");
  CHECK(blocks[0].expected == "line one\n");
  CHECK(blocks[0].exit_code == 1);
  CHECK(blocks[0].masks.size() == 1);
  CHECK(blocks[1].file == "examples/x.cpp");
  CHECK(blocks[1].code == "int x;\n");
}

TEST_CASE("every C++ excerpt in the tutorial is the marked part of its program") {
  const Tutorial& t = tutorial();
  int snippets = 0;
  for (const Block& b : t.blocks) {
    if (b.kind != Block::Snippet) continue;
    ++snippets;
    std::string code = snippet_of(b.file, b.name);
    if (updating()) continue;
    bool same = b.code == code;
    CHECK_MESSAGE(same, "docs/state-dicts.md:" << b.marker_line + 1 << ": the excerpt of " << b.file << " [" << b.name
                                               << "] differs from the program; " << first_difference(b.code, code)
                                               << "\n(scripts/update_tutorial_outputs.sh rewrites it)");
  }
  CHECK(snippets >= 10);
}

TEST_CASE("every command in the tutorial prints exactly the output the tutorial shows") {
  const Tutorial& t = tutorial();
  int checked = 0;
  for (size_t i = 0; i < t.blocks.size(); ++i) {
    const Block& b = t.blocks[i];
    auto it = t.results.find(i);
    if (it == t.results.end() || !shows_this_build(b)) continue;
    const RunResult& r = it->second;
    ++checked;
    INFO("docs/state-dicts.md:" << b.first + 1 << ": $ " << b.command);
    CHECK_MESSAGE(r.code == b.exit_code, "exit status " << r.code << ", the tutorial says " << b.exit_code
                                                        << "; it printed:\n" << r.output);
    if (updating()) continue;
    std::string diff = first_difference(masked(b.expected, b.masks), masked(r.output, b.masks));
    CHECK_MESSAGE(diff.empty(), diff << "\n(if the program is right, scripts/update_tutorial_outputs.sh rewrites "
                                        "the block; then reread the text around it)");
  }
  CHECK(checked >= 15);
}

TEST_CASE("every tutorial program in examples/ is run by the tutorial") {
  const Tutorial& t = tutorial();
  std::set<std::string> shown;
  for (const Block& b : t.blocks)
    if (b.kind == Block::Output)
      shown.insert(b.command.substr(kBinPrefix.size(), b.command.find(' ') - kBinPrefix.size()));
  int programs = 0;
  for (const auto& entry : fs::directory_iterator(std::string(EMBER_SOURCE_DIR) + "/examples")) {
    std::string stem = entry.path().stem().string();
    if (entry.path().extension() != ".cpp" || !(stem.rfind("sd_", 0) == 0 || stem.rfind("exercise_", 0) == 0)) continue;
    ++programs;
    CHECK_MESSAGE(shown.count(stem), "examples/" << stem << ".cpp is not run by docs/state-dicts.md");
  }
  CHECK(programs >= 15);
}

TEST_CASE("the resumed run repeats the uninterrupted run's last epochs line for line") {
  // The tutorial claims it; check it on the programs' real output, not only on the text.
  const Tutorial& t = tutorial();
  std::vector<std::string> runs;
  for (const auto& [i, r] : t.results)
    if (t.blocks[i].command.rfind(kBinPrefix + "sd_checkpoint ", 0) == 0) runs.push_back(r.output);
  REQUIRE(runs.size() == 2);
  REQUIRE(runs[1].find("resumed from") != std::string::npos);
  auto epoch_lines = [](const std::string& out) {
    std::string keep;
    for (const auto& line : split_lines(out))
      if (line.rfind("epoch 5:", 0) == 0 || line.rfind("epoch 6:", 0) == 0 || line.rfind("best.ember:", 0) == 0)
        keep += line + "\n";
    return keep;
  };
  CHECK(std::count(runs[1].begin(), runs[1].end(), '\n') == 4);
  CHECK(!epoch_lines(runs[0]).empty());
  CHECK(epoch_lines(runs[0]) == epoch_lines(runs[1]));
}

TEST_CASE("a user's own loop stopped mid-epoch and resumed with TrainingCheckpoint repeats the last epochs") {
  const Tutorial& t = tutorial();
  std::vector<std::string> runs;
  for (const auto& [i, r] : t.results)
    if (t.blocks[i].command.rfind(kBinPrefix + "sd_resume_loop ", 0) == 0) runs.push_back(r.output);
  REQUIRE(runs.size() == 3);  // straight, stopped, resumed
  REQUIRE(runs[1].find("stopped after step") != std::string::npos);
  REQUIRE(runs[2].find("resumed from") != std::string::npos);
  auto later_epochs = [](const std::string& out) {
    std::string keep;
    for (const auto& line : split_lines(out))
      if (line.rfind("epoch 3:", 0) == 0 || line.rfind("epoch 4:", 0) == 0) keep += line + "\n";
    return keep;
  };
  std::string straight = later_epochs(runs[0]);
  CHECK(std::count(straight.begin(), straight.end(), '\n') == 2);
  CHECK(later_epochs(runs[2]) == straight);
}

// Last, so that it sees every result: in update mode, rewrite the blocks from the programs.
TEST_CASE("update mode (EMBER_UPDATE_TUTORIAL=1) rewrites the blocks") {
  if (!updating()) return;
  const Tutorial& t = tutorial();
  std::vector<std::string> out;
  size_t next = 0;
  for (size_t i = 0; i < t.blocks.size(); ++i) {
    const Block& b = t.blocks[i];
    out.insert(out.end(), t.lines.begin() + long(next), t.lines.begin() + long(b.first));
    std::string body;
    if (b.kind == Block::Snippet) {
      body = snippet_of(b.file, b.name);
    } else if (auto it = t.results.find(i); it != t.results.end() && shows_this_build(b)) {
      body = "$ " + b.command + "\n" + it->second.output;
    } else {
      body = "$ " + b.command + "\n" + b.expected;  // skipped in this build: keep it
    }
    for (const auto& line : split_lines(body)) out.push_back(line);
    next = b.last;
  }
  out.insert(out.end(), t.lines.begin() + long(next), t.lines.end());
  std::ofstream f(kDoc, std::ios::binary);
  for (const auto& line : out) f << line << "\n";
  REQUIRE(f.good());
  MESSAGE("rewrote " << kDoc);
}
