// End to end through the real program: a short training run reaches a stated accuracy; a run
// stopped and resumed (at an epoch boundary, mid-epoch, or right after an epoch's last step)
// ends bit-identical to one that never stopped; --load/--predictions; bad flags are refused.
#include <sys/wait.h>

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

struct Run {
  int code = -1;
  std::string output;  // stdout and stderr together
};

Run run(const std::string& args) {
  std::string cmd = kProgram + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  Run r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string loss_lines(const std::string& out) {
  std::istringstream in(out);
  std::string line, keep;
  while (std::getline(in, line))
    if (line.rfind("Train Epoch:", 0) == 0) keep += line + "\n";
  return keep;
}

double accuracy_of(const std::string& out) {
  std::smatch m;
  std::string last;
  std::regex re(R"(Accuracy: \d+/\d+ \(([0-9.]+)%\))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it)
    last = (*it)[1];
  return last.empty() ? -1 : std::stod(last);
}

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_train_test_" + std::to_string(getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void require_data() {
  REQUIRE_MESSAGE(fs::exists(kData + "/train-images-idx3-ubyte"),
                  "MNIST is missing from " << kData << ": run scripts/get_data.sh (the test command does)");
}

}  // namespace

TEST_CASE("a short run on a subset of MNIST learns: >= 93% after one epoch on 10000 images (lr 0.05, momentum 0.9)") {
  require_data();
  Run r = run("--data " + kData + " --train-size 10000 --test-size 2000 --epochs 1 --lr 0.05 --momentum 0.9 --log-interval 50");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output.find("Train Epoch: 1 Batch: 0 Loss: ") != std::string::npos);
  CHECK(r.output.find("Train Epoch: 1 Batch: 150 Loss: ") != std::string::npos);
  CHECK(std::regex_search(r.output, std::regex(R"(Test set: Average loss: \d+\.\d{4}, Accuracy: \d+/2000 \()")));
  CHECK(r.output.find("images/s") != std::string::npos);
  CHECK(accuracy_of(r.output) >= 93.0);
}

TEST_CASE("a resumed run is bit-identical to one that never stopped") {
  require_data();
  const std::string base = "--data " + kData +
                           " --model mnistnet-bn --train-size 640 --test-size 200 --batch-size 32 --log-interval 3 "
                           "--epochs 2 --checkpoint-dir ";
  fs::path straight = scratch("straight");
  Run a = run(base + straight.string());
  REQUIRE_MESSAGE(a.code == 0, a.output);
  std::string expected = read_file(straight / "checkpoint_epoch_2.ember");
  REQUIRE(!expected.empty());

  SUBCASE("stopped after epoch 1") {
    fs::path d = scratch("epoch");
    Run first = run(base + d.string() + " --epochs 1");
    REQUIRE_MESSAGE(first.code == 0, first.output);
    Run second = run(base + d.string() + " --resume " + (d / "checkpoint_epoch_1.ember").string());
    REQUIRE_MESSAGE(second.code == 0, second.output);
    CHECK(second.output.find("Train Epoch: 1 ") == std::string::npos);  // only the second epoch ran
    CHECK(read_file(d / "checkpoint_epoch_2.ember") == expected);
    CHECK(loss_lines(first.output + second.output) == loss_lines(a.output));
  }
  SUBCASE("stopped mid-epoch, after step 7 of 20") {
    fs::path d = scratch("mid");
    Run first = run(base + d.string() + " --save-every-steps 7");
    REQUIRE_MESSAGE(first.code == 0, first.output);
    fs::path resumed = scratch("mid_resumed");
    Run second = run(base + resumed.string() + " --resume " + (d / "checkpoint_step_7.ember").string());
    REQUIRE_MESSAGE(second.code == 0, second.output);
    CHECK(read_file(resumed / "checkpoint_epoch_2.ember") == expected);
    // The resumed run logs exactly the straight run's lines after step 7.
    std::string all = loss_lines(a.output), tail = loss_lines(second.output);
    REQUIRE(!tail.empty());
    CHECK(all.substr(all.size() - tail.size()) == tail);
  }
  SUBCASE("stopped right after the last step of epoch 1") {
    fs::path d = scratch("edge");
    Run first = run(base + d.string() + " --save-every-steps 20");
    REQUIRE_MESSAGE(first.code == 0, first.output);
    fs::path resumed = scratch("edge_resumed");
    Run second = run(base + resumed.string() + " --resume " + (d / "checkpoint_step_20.ember").string());
    REQUIRE_MESSAGE(second.code == 0, second.output);
    CHECK(read_file(resumed / "checkpoint_epoch_1.ember") == read_file(straight / "checkpoint_epoch_1.ember"));
    CHECK(read_file(resumed / "checkpoint_epoch_2.ember") == expected);
  }
}

TEST_CASE("--load with --epochs 0 evaluates, and --predictions writes one digit per image") {
  require_data();
  fs::path d = scratch("load");
  Run train = run("--data " + kData + " --train-size 2000 --test-size 300 --epochs 1 --checkpoint-dir " + d.string());
  REQUIRE_MESSAGE(train.code == 0, train.output);
  fs::path preds = d / "preds.txt";
  Run eval = run("--data " + kData + " --test-size 300 --epochs 0 --load " + (d / "best.ember").string() +
                 " --predictions " + preds.string());
  REQUIRE_MESSAGE(eval.code == 0, eval.output);
  CHECK(accuracy_of(eval.output) == accuracy_of(train.output));
  CHECK(eval.output.find("Train Epoch") == std::string::npos);
  std::string p = read_file(preds);
  CHECK(p.size() == 300);
  CHECK(std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }));
  // Loading into the wrong architecture fails with the state-dict message.
  Run wrong = run("--data " + kData + " --test-size 300 --epochs 0 --model mnistnet-bn --load " +
                  (d / "best.ember").string());
  CHECK(wrong.code == 1);
  CHECK(wrong.output.find("Error(s) in loading state_dict for MNISTNetBN") != std::string::npos);
  CHECK(wrong.output.find("Missing key(s) in state_dict: \"bn1.weight\"") != std::string::npos);
}

TEST_CASE("bad flags are refused with a message naming the flag") {
  Run r = run("--epochs x");
  CHECK(r.code == 2);
  CHECK(r.output.find("--epochs: invalid value 'x'") != std::string::npos);
  r = run("--batch-size 0");
  CHECK(r.code == 2);
  CHECK(r.output.find("--batch-size: must be > 0") != std::string::npos);
  r = run("--model resnet");
  CHECK(r.output.find("--model: expected mnistnet, mnistnet-bn or fashionnet, found 'resnet'") != std::string::npos);
  r = run("--frobnicate");
  CHECK(r.output.find("unknown flag --frobnicate") != std::string::npos);
  r = run("--device tpu");
  CHECK(r.output.find("--device: invalid device 'tpu'") != std::string::npos);
  r = run("--data /nonexistent --epochs 0");
  CHECK(r.code == 1);
  CHECK(r.output.find("/nonexistent") != std::string::npos);
  r = run("--help");
  CHECK(r.code == 0);
  CHECK(r.output.find("--checkpoint-dir") != std::string::npos);
}
