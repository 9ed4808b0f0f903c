// train_mnist's --optimizer and --scheduler: Adam/AdamW with a cosine or one-cycle schedule learns,
// and a run stopped mid-epoch (OneCycleLR steps every batch) resumes bit-identical to one that never
// stopped; unknown names are refused.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "helpers.h"

namespace fs = std::filesystem;

namespace {

const std::string kProgram = std::string(EMBER_BINARY_DIR) + "/bin/train_mnist";
const std::string kData = std::string(EMBER_SOURCE_DIR) + "/datasets/mnist";

using Run = ember::test::ShellResult;

Run run(const std::string& args) { return ember::test::run_shell(kProgram + " " + args); }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double accuracy_of(const std::string& out) {
  std::smatch m;
  std::string last;
  std::regex re(R"(Accuracy: \d+/\d+ \(([0-9.]+)%\))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it) last = (*it)[1];
  return last.empty() ? -1 : std::stod(last);
}

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_optim_train_" + std::to_string(getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST_CASE("train_mnist --optimizer adam --scheduler cosine learns") {
  REQUIRE_MESSAGE(fs::exists(kData + "/train-images-idx3-ubyte"), "MNIST is missing from " << kData);
  Run r = run("--data " + kData + " --train-size 2000 --test-size 500 --epochs 1 --optimizer adam --scheduler cosine "
              "--lr 0.003 --log-interval 1000");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(accuracy_of(r.output) >= 80.0);  // 84.8% measured; chance is 10%
}

TEST_CASE("train_mnist --optimizer adamw --scheduler onecycle resumes mid-epoch bit-identically") {
  REQUIRE_MESSAGE(fs::exists(kData + "/train-images-idx3-ubyte"), "MNIST is missing from " << kData);
  const std::string base = "--data " + kData +
                           " --model mnistnet-bn --train-size 320 --test-size 100 --batch-size 32 --log-interval 100 "
                           "--epochs 2 --optimizer adamw --scheduler onecycle --lr 0.01 --checkpoint-dir ";
  fs::path straight = scratch("straight");
  Run a = run(base + straight.string());
  REQUIRE_MESSAGE(a.code == 0, a.output);
  fs::path d = scratch("stopped");
  Run first = run(base + d.string() + " --save-every-steps 7");
  REQUIRE_MESSAGE(first.code == 0, first.output);
  fs::path resumed = scratch("resumed");
  Run second = run(base + resumed.string() + " --resume " + (d / "checkpoint_step_7.ember").string());
  REQUIRE_MESSAGE(second.code == 0, second.output);
  std::string expected = read_file(straight / "checkpoint_epoch_2.ember");
  REQUIRE(!expected.empty());
  CHECK(read_file(resumed / "checkpoint_epoch_2.ember") == expected);
  // A resume that names another optimizer is refused: the checkpoint records the recipe.
  Run other = run(base + scratch("other").string() + " --optimizer sgd --resume " +
                  (d / "checkpoint_step_7.ember").string());
  CHECK(other.code != 0);
  CHECK(other.output.find("--optimizer") != std::string::npos);

  Run bad = run("--data " + kData + " --epochs 0 --optimizer lion");
  CHECK(bad.code != 0);
  CHECK(bad.output.find("--optimizer: expected sgd, adam or adamw, found 'lion'") != std::string::npos);
  bad = run("--data " + kData + " --epochs 0 --scheduler plateau");
  CHECK(bad.output.find("--scheduler: expected step, cosine or onecycle, found 'plateau'") != std::string::npos);
  fs::remove_all(straight.parent_path());
}
