// End to end through the real program: a short training run reaches a stated accuracy; a run
// stopped and resumed (at an epoch boundary, mid-epoch, or right after an epoch's last step)
// ends bit-identical to one that never stopped; --load/--predictions; bad flags are refused.
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "helpers.h"

namespace fs = std::filesystem;

namespace {

const std::string kProgram = std::string(EMBER_BINARY_DIR) + "/bin/train_mnist";
const std::string kData = std::string(EMBER_SOURCE_DIR) + "/datasets/mnist";

using Run = ember::test::ShellResult;  // stdout and stderr together

Run run(const std::string& args) { return ember::test::run_shell(kProgram + " " + args); }

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

// A metrics file without its last column (seconds: wall time, which no two runs share).
std::string without_seconds(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    size_t cut = line.rfind(line.front() == '{' ? ",\"seconds\":" : ",");
    out += line.substr(0, cut) + "\n";
  }
  return out;
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
  // PyTorch's MNIST example's line: images before the batch, of the training set; 150 of 157 batches.
  CHECK(r.output.find("Train Epoch: 1 [0/10000 (0%)]\tLoss: ") != std::string::npos);
  CHECK(r.output.find("Train Epoch: 1 [9600/10000 (96%)]\tLoss: ") != std::string::npos);
  CHECK(std::regex_search(r.output, std::regex(R"(Test set: Average loss: \d+\.\d{4}, Accuracy: \d+/2000 \()")));
  CHECK(r.output.find("images/s") != std::string::npos);
  CHECK(accuracy_of(r.output) >= 93.0);
}

TEST_CASE("a resumed run is bit-identical to one that never stopped") {
  require_data();
  // --gamma 0.5: the learning rate halves after epoch 1, and the log and the metrics say so.
  const std::string base = "--data " + kData +
                           " --model mnistnet-bn --train-size 640 --test-size 200 --batch-size 32 --log-interval 3 "
                           "--gamma 0.5 --epochs 2 --checkpoint-dir ";
  fs::path straight = scratch("straight");
  Run a = run(base + straight.string() + " --metrics " + (straight / "m.csv").string());
  REQUIRE_MESSAGE(a.code == 0, a.output);
  std::string expected = read_file(straight / "checkpoint_epoch_2.ember");
  REQUIRE(!expected.empty());
  CHECK(a.output.find("Learning rate: 0.01 -> 0.005 from epoch 2") != std::string::npos);
  // One row per logged step (batches 0, 3, ..., 18 of 20 per epoch) and per epoch, after the header.
  const std::string metrics = without_seconds(read_file(straight / "m.csv"));
  CHECK(metrics.rfind("kind,epoch,step,samples,loss,lr,test_loss,test_accuracy\n", 0) == 0);
  CHECK(std::count(metrics.begin(), metrics.end(), '\n') == 1 + 2 * (7 + 1));
  CHECK(std::regex_search(metrics, std::regex(R"(\ntrain,1,1,32,[0-9.e-]+,0\.01,,\n)")));
  CHECK(std::regex_search(metrics, std::regex(R"(\ntrain,1,19,608,[0-9.e-]+,0\.01,,\n)")));
  CHECK(std::regex_search(metrics, std::regex(R"(\nepoch,1,20,640,,0\.01,[0-9.e-]+,[0-9.]+\n)")));
  CHECK(std::regex_search(metrics, std::regex(R"(\ntrain,2,21,672,[0-9.e-]+,0\.005,,\n)")));
  CHECK(std::regex_search(metrics, std::regex(R"(\nepoch,2,40,1280,,0\.005,[0-9.e-]+,[0-9.]+\n$)")));
  // The JSON Lines form of the same run, for the subcase that resumes into one.
  fs::path straight_json = scratch("straight_json");
  REQUIRE(run(base + straight_json.string() + " --metrics " + (straight_json / "m.jsonl").string()).code == 0);
  const std::string metrics_json = without_seconds(read_file(straight_json / "m.jsonl"));
  CHECK(metrics_json.rfind("{\"kind\":\"train\",\"epoch\":1,\"step\":1,\"samples\":32,\"loss\":", 0) == 0);
  CHECK(metrics_json.find("{\"kind\":\"epoch\",\"epoch\":2,\"step\":40,\"samples\":1280,\"lr\":0.005,\"test_loss\":") !=
        std::string::npos);

  SUBCASE("stopped after epoch 1") {
    fs::path d = scratch("epoch");
    std::string m = " --metrics " + (d / "m.csv").string();
    Run first = run(base + d.string() + " --epochs 1" + m);
    REQUIRE_MESSAGE(first.code == 0, first.output);
    Run second = run(base + d.string() + " --resume " + (d / "checkpoint_epoch_1.ember").string() + m);
    REQUIRE_MESSAGE(second.code == 0, second.output);
    CHECK(second.output.find("Train Epoch: 1 ") == std::string::npos);  // only the second epoch ran
    CHECK(read_file(d / "checkpoint_epoch_2.ember") == expected);
    CHECK(without_seconds(read_file(d / "m.csv")) == metrics);
    CHECK(loss_lines(first.output + second.output) == loss_lines(a.output));
  }
  SUBCASE("stopped mid-epoch, after step 7 of 20") {
    // The first run goes on past step 7 (as a run that crashed later would); the resumed run drops
    // the rows past its checkpoint and writes them again.
    fs::path d = scratch("mid");
    std::string m = " --metrics " + (d / "m.csv").string();
    Run first = run(base + d.string() + " --save-every-steps 7" + m);
    REQUIRE_MESSAGE(first.code == 0, first.output);
    fs::path resumed = scratch("mid_resumed");
    Run second = run(base + resumed.string() + " --resume " + (d / "checkpoint_step_7.ember").string() + m);
    REQUIRE_MESSAGE(second.code == 0, second.output);
    CHECK(read_file(resumed / "checkpoint_epoch_2.ember") == expected);
    CHECK(without_seconds(read_file(d / "m.csv")) == metrics);
    // The resumed run logs exactly the straight run's lines after step 7.
    std::string all = loss_lines(a.output), tail = loss_lines(second.output);
    REQUIRE(!tail.empty());
    CHECK(all.substr(all.size() - tail.size()) == tail);
  }
  SUBCASE("stopped right after the last step of epoch 1") {
    fs::path d = scratch("edge");
    std::string m = " --metrics " + (d / "m.jsonl").string();
    Run first = run(base + d.string() + " --save-every-steps 20" + m);
    REQUIRE_MESSAGE(first.code == 0, first.output);
    fs::path resumed = scratch("edge_resumed");
    Run second = run(base + resumed.string() + " --resume " + (d / "checkpoint_step_20.ember").string() + m);
    REQUIRE_MESSAGE(second.code == 0, second.output);
    CHECK(without_seconds(read_file(d / "m.jsonl")) == metrics_json);
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

TEST_CASE("bad input: one line naming it, and a non-zero exit") {
  fs::path d = scratch("bad_input");
  std::ofstream(d / "file.txt") << "x";
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"--epochs", "--epochs: missing value"},
           {"--epochs 99999999999999999999", "--epochs: '99999999999999999999' is out of range for a 64-bit integer"},
           {"--lr nan", "--lr: invalid value 'nan', expected a finite number"},
           {"--lr -0.1", "--lr: must be >= 0"},
           {"--threads 5000", "--threads: must be between 0 and 1024, found 5000"},
           {"--data " + (d / "file.txt").string(), "is a file, expected a folder with the four IDX files"},
           {"--resume " + d.string(), "--resume: '" + d.string() + "' is a folder, expected a file"},
           {"--load " + (d / "absent.ember").string(), "--load: no such file"},
           {"--metrics " + (d / "m.txt").string(), "--metrics: expected a file name ending in .csv or .jsonl"},
           {"--checkpoint-dir " + (d / "file.txt").string(), "is a file, expected a folder"},
           {"stray", "unexpected argument 'stray'"},
       }) {
    Run r = run(c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.code == 2);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
}

TEST_CASE("--epochs 0 evaluates without reading the training set") {
  require_data();
  fs::path d = scratch("test_only");
  for (const char* f : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) fs::create_symlink(kData + "/" + f, d / f);
  Run r = run("--data " + d.string() + " --epochs 0 --test-size 100");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(r.output.find("Evaluating mnistnet on the mnist test set in " + d.string() + " (100 images)") != std::string::npos);
  CHECK(r.output.find("Training") == std::string::npos);
  CHECK(accuracy_of(r.output) >= 0);
}

TEST_CASE("each dataset reads its own folder, and a folder of the other dataset is refused") {
  require_data();
  // Without --data, --dataset fashion-mnist looks in datasets/fashion-mnist (here: absent).
  fs::path cwd = scratch("cwd");
  Run in_cwd = ember::test::run_shell("cd " + cwd.string() + " && " + kProgram + " --dataset fashion-mnist --epochs 0");
  CHECK(in_cwd.code == 1);
  CHECK(in_cwd.output.find("cannot open datasets/fashion-mnist/t10k-images-idx3-ubyte") != std::string::npos);
  // The mix-up of the issue: Fashion-MNIST asked for, the MNIST files given.
  Run r = run("--dataset fashion-mnist --data " + kData + " --epochs 1 --train-size 100");
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("FashionMNIST: " + kData + " holds MNIST, not Fashion-MNIST") != std::string::npos);
  CHECK(r.output.find("Training") == std::string::npos);
}

TEST_CASE("the thread count: OMP_NUM_THREADS and --threads win over the automatic default") {
  require_data();
  std::string args = " --data " + kData + " --epochs 0 --test-size 100";
  Run r = run("--threads 2" + args);
  CHECK(r.output.find(", 2 threads (--threads),") != std::string::npos);
  // CTest sets OMP_NUM_THREADS=2; set here to 1 and unset, as a user's shell would.
  std::string saved = std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "";
  setenv("OMP_NUM_THREADS", "1", 1);
  r = run(args.substr(1));
  CHECK(r.output.find(", 1 thread (OMP_NUM_THREADS),") != std::string::npos);
  unsetenv("OMP_NUM_THREADS");
  r = run(args.substr(1));
  CHECK(r.output.find(" (automatic),") != std::string::npos);
  if (!saved.empty()) setenv("OMP_NUM_THREADS", saved.c_str(), 1);
}

TEST_CASE("scripts/plot_metrics draws a PNG where matplotlib or gnuplot is, and says what is missing where not") {
  fs::path d = scratch("plot");
  {
    std::ofstream m(d / "m.csv");
    m << "kind,epoch,step,samples,loss,lr,test_loss,test_accuracy,seconds\n"
         "train,1,1,64,2.3,0.01,,,0.1\ntrain,1,11,704,1.2,0.01,,,0.5\nepoch,1,20,1280,,0.01,0.9,70.5,1.2\n";
  }
  const std::string script = std::string(EMBER_SOURCE_DIR) + "/scripts/plot_metrics ";
  auto sh = ember::test::run_shell;
  bool can_plot = sh("/usr/bin/python3 -c 'import matplotlib' || python3 -c 'import matplotlib' || command -v gnuplot").code == 0;
  Run r = sh(script + (d / "m.csv").string());
  INFO(r.output);
  if (can_plot) {
    CHECK(r.code == 0);
    CHECK(read_file(d / "m.png").rfind("\x89PNG\r\n\x1a\n", 0) == 0);
  } else {
    CHECK(r.code == 1);
    CHECK(r.output.find("needs matplotlib or gnuplot") != std::string::npos);
  }
  // Neither there (as the variables make it): the line names both and how to install them.
  r = sh("PLOT_METRICS_PYTHON=/nonexistent PLOT_METRICS_GNUPLOT=/nonexistent " + script + (d / "m.csv").string() +
         " " + (d / "n.png").string());
  CHECK(r.code == 1);
  CHECK(r.output.find("apt-get install python3-matplotlib") != std::string::npos);
  CHECK(r.output.find("apt-get install gnuplot-nox") != std::string::npos);
  CHECK(!fs::exists(d / "n.png"));
  // Bad input: a folder, a file of the wrong kind, an unknown option.
  CHECK(sh(script + d.string()).output.find("is a folder") != std::string::npos);
  std::ofstream(d / "x.csv") << "a,b\n1,2\n";
  r = sh(script + (d / "x.csv").string());
  CHECK(r.code == 1);
  CHECK(r.output.find("not a train_mnist metrics CSV") != std::string::npos);
  CHECK(sh(script + "--frobnicate").code == 2);
}

// Issue 25: --metrics onto a FIFO hung (the file was opened for reading first), --predictions onto
// a FIFO with no reader too; --metrics wrote through a link planted at "<file>.tmp"; a 0600 file
// came back 0644; a diverging run wrote "loss":-nan into a .jsonl file, which is not JSON.
TEST_CASE("train_mnist's output files: FIFOs refused at once, planted links not followed, modes kept, JSON valid") {
  require_data();
  fs::path d = scratch("outputs");
  const std::string common = "--data " + kData + " --train-size 64 --test-size 32 --batch-size 16 --epochs 1 ";
  const std::string fifo = (d / "fifo.csv").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (std::string flag : {"--metrics", "--predictions", "--export-onnx"}) {
    Run r = ember::test::run_shell("timeout 20 " + kProgram + " " + common + flag + " " + fifo);
    INFO(flag << "\n" << r.output);
    CHECK(r.code == 2);  // refused before training, not killed by the timeout (124)
    CHECK(r.output.find(flag + ": save: " + fifo + ": is a FIFO, not a regular file") != std::string::npos);
  }
  // Resuming with --metrics on a FIFO: refused before the resumed file is read.
  Run first = run(common + "--checkpoint-dir " + (d / "ck").string());
  REQUIRE_MESSAGE(first.code == 0, first.output);
  Run resumed = ember::test::run_shell("timeout 20 " + kProgram + " --resume " + (d / "ck" / "checkpoint_epoch_1.ember").string() +
                                       " --epochs 2 --data " + kData + " --metrics " + fifo);
  CHECK(resumed.code == 2);
  CHECK(resumed.output.find("is a FIFO") != std::string::npos);

  // A link planted at the old fixed temporary name, and modes of the files replaced.
  const fs::path m = d / "m.csv", p = d / "p.txt", victim = d / "victim.txt";
  std::ofstream(victim) << "precious\n";
  fs::create_symlink(victim, d / "m.csv.tmp");
  fs::create_symlink(victim, d / "p.txt.tmp");
  std::ofstream(m) << "old\n";
  std::ofstream(p) << "old\n";
  fs::permissions(m, fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  Run r = run(common + "--log-interval 1 --metrics " + m.string() + " --predictions " + p.string());
  REQUIRE_MESSAGE(r.code == 0, r.output);
  CHECK(read_file(victim) == "precious\n");
  CHECK(read_file(m).rfind("kind,epoch,step", 0) == 0);
  CHECK(read_file(p).size() == 32);
  CHECK(fs::status(m).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(fs::status(p).permissions() == (fs::perms::owner_read | fs::perms::owner_write));

  // A run that diverges: its non-finite losses are null in JSON Lines, and every line is one object.
  const fs::path j = d / "m.jsonl";
  Run nan = run(common + "--log-interval 1 --lr 1e30 --momentum 0.9 --metrics " + j.string());
  INFO(nan.output);
  std::string text = read_file(j);
  INFO(text);
  CHECK(text.find("\"loss\":null") != std::string::npos);
  CHECK(text.find("nan") == std::string::npos);
  CHECK(text.find("inf") == std::string::npos);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    CHECK(std::regex_match(line, std::regex(R"(\{("[a-z_]+":("[a-z]+"|-?[0-9.e+-]+|null),?)+\})")));
  }
}

TEST_CASE("a genuine checkpoint of every model train_mnist offers resumes (fashionnet too)") {
  require_data();
  fs::path d = scratch("resume_fashionnet");
  const std::string base = "--data " + kData + " --model fashionnet --train-size 64 --test-size 32 --batch-size 32 "
                           "--log-interval 100 --checkpoint-dir " + d.string();
  Run first = run(base + " --epochs 1");
  REQUIRE_MESSAGE(first.code == 0, first.output);
  Run resumed = run(base + " --epochs 2 --resume " + (d / "checkpoint_epoch_1.ember").string());
  CHECK_MESSAGE(resumed.code == 0, resumed.output);
  CHECK(resumed.output.find("Train Epoch: 2") != std::string::npos);
}
