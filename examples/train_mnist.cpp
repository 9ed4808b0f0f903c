// train_mnist: the MNIST program of the PyTorch state-dict tutorial, in Ember.
// Trains MNISTNet (or its BatchNorm variant), evaluates after each epoch, and saves checkpoints that
// resume exactly: a run stopped and resumed ends bit-identical to one that never stopped.
//
//   train_mnist                                      # 2 epochs on datasets/mnist, the tutorial's recipe
//   train_mnist --dataset fashion-mnist              # reads datasets/fashion-mnist (--data: another folder)
//   train_mnist --checkpoint-dir ckpt --metrics ckpt/metrics.csv   # + checkpoints, a curve to plot
//   train_mnist --resume ckpt/checkpoint_epoch_1.ember --epochs 2
//   train_mnist --load ckpt/best.ember --epochs 0 --predictions preds.txt
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <initializer_list>
#include <span>
#include <string>

#include "ember/core/parallel.h"
#include "ember/data/dataloader.h"
#include "ember/data/mnist.h"
#include "examples/flags.h"
#include "examples/metrics.h"
#include "examples/models.h"
#include "ember/io/atomic_file.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/onnx/export.h"
#include "ember/optim/adam.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"
#include "ember/train/checkpoint.h"

using namespace ember;

namespace {

// What --dataset and --model accept, and what a checkpoint's config may record: one list each.
constexpr std::initializer_list<const char*> kDatasets = {"mnist", "fashion-mnist"};
constexpr std::initializer_list<const char*> kModels = {"mnistnet", "mnistnet-bn", "fashionnet"};

bool is_one_of(std::initializer_list<const char*> names, const std::string& s) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

// "a | b | c" (sep " | "), or "a, b or c" (sep ", ", last " or ").
std::string joined(std::initializer_list<const char*> names, const char* sep, const char* last) {
  std::string out;
  for (const char* const* n = names.begin(); n != names.end(); ++n)
    out += (n == names.begin() ? "" : n + 1 == names.end() ? last : sep) + std::string(*n);
  return out;
}

struct Config {
  std::string data;  // default: datasets/<dataset>
  std::string dataset = "mnist";
  std::string model = "mnistnet";
  int64_t epochs = 2;
  int64_t batch_size = 64;
  int64_t test_batch_size = 1000;
  double lr = 0.01;
  double momentum = 0.5;
  bool nesterov = false;
  double weight_decay = 0;
  int64_t step_size = 1;
  double gamma = 1.0;
  std::string optimizer = "sgd";
  std::string scheduler = "step";
  bool shuffle = true;
  int64_t seed = 1;
  int64_t threads = 0;
  int64_t log_interval = 100;
  std::string device = "cpu";
  std::string checkpoint_dir;
  int64_t checkpoint_interval = 1;
  int64_t save_every_steps = 0;
  std::string resume;
  std::string load;
  std::string predictions;
  std::string export_onnx;
  std::string metrics;
  int64_t train_size = 0;
  int64_t test_size = 0;
};

// The first n rows of a dataset (for quick runs and tests); none of no dataset (--epochs 0).
class FirstRows : public data::Dataset {
 public:
  FirstRows(std::unique_ptr<data::Dataset> base, int64_t n) : base_(std::move(base)), n_(n) {}
  int64_t size() const override { return base_ ? std::min(n_, base_->size()) : 0; }
  data::Batch get_batch(std::span<const int64_t> indices) const override { return base_->get_batch(indices); }

 private:
  std::unique_ptr<data::Dataset> base_;
  int64_t n_;
};

examples::Flags make_flags(Config& c) {
  examples::Flags f("train_mnist", "Train MNISTNet on MNIST or Fashion-MNIST, with checkpoints that resume exactly.");
  f.add("--data", c.data, "folder with the four IDX files, raw or .gz (default: datasets/<dataset>)");
  f.add("--dataset", c.dataset, joined(kDatasets, " | ", " | "));
  f.add("--model", c.model, joined(kModels, " | ", " | "));
  f.add("--epochs", c.epochs, "epochs of the whole run (0: only evaluate)");
  f.add("--batch-size", c.batch_size, "training batch size");
  f.add("--test-batch-size", c.test_batch_size, "evaluation batch size");
  f.add("--lr", c.lr, "learning rate");
  f.add("--momentum", c.momentum, "SGD momentum");
  f.add("--nesterov", c.nesterov, "Nesterov momentum");
  f.add("--weight-decay", c.weight_decay, "L2 penalty");
  f.add("--step-size", c.step_size, "StepLR: epochs between learning-rate decays");
  f.add("--gamma", c.gamma, "StepLR: decay factor (1: constant learning rate)");
  f.add("--optimizer", c.optimizer, "sgd | adam | adamw (adam/adamw: --lr, --weight-decay; betas 0.9, 0.999)");
  f.add("--scheduler", c.scheduler,
        "step (StepLR, per epoch) | cosine (CosineAnnealingLR over --epochs, per epoch) | onecycle (OneCycleLR "
        "peaking at --lr, per batch)");
  f.add("--shuffle", c.shuffle, "shuffle the training set each epoch (--no-shuffle: the tutorial's fixed order)");
  f.add("--seed", c.seed, "seed of the model's initialisation and of the shuffling");
  f.add("--threads", c.threads, "CPU threads (0: one per core that other processes leave idle, re-measured as it runs)");
  f.add("--log-interval", c.log_interval, "batches between loss lines");
  f.add("--device", c.device, "cpu | cuda | cuda:N");
  f.add("--checkpoint-dir", c.checkpoint_dir, "folder for checkpoint_epoch_N.ember and best.ember");
  f.add("--checkpoint-interval", c.checkpoint_interval, "epochs between checkpoints");
  f.add("--save-every-steps", c.save_every_steps, "also write checkpoint_step_N.ember every N steps (0: never)");
  f.add("--resume", c.resume, "continue a run from a checkpoint (--epochs counts the whole run)");
  f.add("--load", c.load, "initialise the model from a state dict, or a checkpoint's model_state_dict");
  f.add("--predictions", c.predictions, "write the predicted test labels here, one digit per image");
  f.add("--export-onnx", c.export_onnx, "write the trained model (in eval mode) as an ONNX model to FILE");
  f.add("--metrics", c.metrics, "write a row per logged step and per epoch to FILE.csv or FILE.jsonl");
  f.add("--train-size", c.train_size, "train on the first N training images only (0: all)");
  f.add("--test-size", c.test_size, "evaluate on the first N test images only (0: all)");
  return f;
}

void validate(const Config& c, const examples::Flags& f) {
  auto need = [&](bool ok, const char* flag, const std::string& why) {
    if (!ok) f.fail(std::string(flag) + ": " + why);
  };
  need(is_one_of(kDatasets, c.dataset), "--dataset", "expected " + joined(kDatasets, ", ", " or ") + ", found '" + c.dataset + "'");
  need(is_one_of(kModels, c.model), "--model", "expected " + joined(kModels, ", ", " or ") + ", found '" + c.model + "'");
  need(c.epochs >= 0, "--epochs", "must be >= 0");
  need(c.batch_size > 0, "--batch-size", "must be > 0");
  need(c.test_batch_size > 0, "--test-batch-size", "must be > 0");
  need(c.step_size > 0, "--step-size", "must be > 0");
  need(c.gamma > 0, "--gamma", "must be > 0");
  need(c.optimizer == "sgd" || c.optimizer == "adam" || c.optimizer == "adamw", "--optimizer",
       "expected sgd, adam or adamw, found '" + c.optimizer + "'");
  need(c.scheduler == "step" || c.scheduler == "cosine" || c.scheduler == "onecycle", "--scheduler",
       "expected step, cosine or onecycle, found '" + c.scheduler + "'");
  need(c.lr >= 0, "--lr", "must be >= 0, found " + std::to_string(c.lr));
  need(c.momentum >= 0, "--momentum", "must be >= 0, found " + std::to_string(c.momentum));
  need(c.weight_decay >= 0, "--weight-decay", "must be >= 0, found " + std::to_string(c.weight_decay));
  need(c.threads >= 0 && c.threads <= 1024, "--threads", "must be between 0 and 1024, found " + std::to_string(c.threads));
  need(c.log_interval > 0, "--log-interval", "must be > 0");
  need(c.checkpoint_interval > 0, "--checkpoint-interval", "must be > 0");
  need(c.save_every_steps >= 0, "--save-every-steps", "must be >= 0");
  need(c.train_size >= 0, "--train-size", "must be >= 0");
  need(c.test_size >= 0, "--test-size", "must be >= 0");
  need(c.resume.empty() || c.load.empty(), "--load", "cannot be combined with --resume");
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto [flag, path] : {std::pair{"--resume", &c.resume}, {"--load", &c.load}, {"--predictions", &c.predictions},
                            {"--metrics", &c.metrics}, {"--export-onnx", &c.export_onnx}})
    need(path->empty() || !fs::is_directory(*path, ec), flag, "'" + *path + "' is a folder, expected a file");
  for (auto [flag, path] : {std::pair{"--resume", &c.resume}, {"--load", &c.load}})
    need(path->empty() || fs::exists(*path, ec), flag, "no such file: '" + *path + "'");
  // An output that is a FIFO or a device is refused now, not after the training it would record.
  for (auto [flag, path] : {std::pair{"--predictions", &c.predictions}, {"--metrics", &c.metrics}, {"--export-onnx", &c.export_onnx}}) {
    try {
      if (!path->empty()) io::check_output_target(*path);
    } catch (const Error& e) {
      f.fail(std::string(flag) + ": " + e.what());
    }
  }
  need(c.checkpoint_dir.empty() || !fs::exists(c.checkpoint_dir, ec) || fs::is_directory(c.checkpoint_dir, ec),
       "--checkpoint-dir", "'" + c.checkpoint_dir + "' is a file, expected a folder");
  if (!c.metrics.empty()) {
    try {
      examples::MetricsLog check(c.metrics);
    } catch (const std::invalid_argument& e) {
      f.fail(std::string("--metrics: ") + e.what());
    }
  }
  try {
    Device d(c.device);
    (void)d;
  } catch (const Error& e) {
    f.fail(std::string("--device: ") + e.what());
  }
}

// The flags that decide the trained weights; a checkpoint records them and --resume adopts them.
Value recipe(const Config& c) {
  return Value::dict({{"dataset", c.dataset}, {"model", c.model}, {"epochs", c.epochs},
                      {"batch_size", c.batch_size}, {"test_batch_size", c.test_batch_size}, {"lr", c.lr},
                      {"momentum", c.momentum}, {"nesterov", c.nesterov}, {"weight_decay", c.weight_decay},
                      {"step_size", c.step_size}, {"gamma", c.gamma}, {"optimizer", c.optimizer},
                      {"scheduler", c.scheduler}, {"shuffle", c.shuffle}, {"seed", c.seed},
                      {"train_size", c.train_size}, {"threads", int64_t(get_num_threads())}});
}

// Takes the checkpoint's recipe, refusing a flag given on this command line that contradicts it.
void adopt_recipe(Config& c, const Value& saved, const examples::Flags& f) {
  auto take_int = [&](const char* key, const char* flag, int64_t& field) {
    int64_t v = saved.at(key).as_int();
    if (f.given(flag) && field != v)
      f.fail(std::string(flag) + ": the checkpoint was trained with " + flag + " " + std::to_string(v) +
             "; resuming needs the same value");
    field = v;
  };
  auto take_str = [&](const char* key, const char* flag, std::string& field) {
    std::string v = saved.at(key).as_string();
    if (f.given(flag) && field != v)
      f.fail(std::string(flag) + ": the checkpoint was trained with " + flag + " " + v + "; resuming needs the same value");
    field = v;
  };
  take_str("dataset", "--dataset", c.dataset);
  take_str("model", "--model", c.model);
  take_int("batch_size", "--batch-size", c.batch_size);
  take_int("seed", "--seed", c.seed);
  take_int("train_size", "--train-size", c.train_size);
  if (saved.contains("optimizer")) take_str("optimizer", "--optimizer", c.optimizer);
  if (saved.contains("scheduler")) take_str("scheduler", "--scheduler", c.scheduler);
  if (!f.given("--shuffle")) c.shuffle = saved.at("shuffle").as_bool();
  // Hyper-parameters come back through the optimizer's and scheduler's state dicts; the
  // remaining recipe fields are copied so that the final checkpoint records the same run.
  if (!f.given("--lr")) c.lr = saved.at("lr").as_double();
  if (!f.given("--momentum")) c.momentum = saved.at("momentum").as_double();
  if (!f.given("--nesterov")) c.nesterov = saved.at("nesterov").as_bool();
  if (!f.given("--weight-decay")) c.weight_decay = saved.at("weight_decay").as_double();
  if (!f.given("--step-size")) c.step_size = saved.at("step_size").as_int();
  if (!f.given("--gamma")) c.gamma = saved.at("gamma").as_double();
  if (!f.given("--test-batch-size")) c.test_batch_size = saved.at("test_batch_size").as_int();
}

// The checkpoint's entries that are train_mnist's own (the library checks the rest): the last
// loss, the best accuracy and the recipe, in the ranges of the flags that set it.
void check_checkpoint(const Value& ckpt, const std::string& path) {
  train::check_training_checkpoint(ckpt, path, {"scheduler_state_dict", "data_loader", "config"},
                                   "to start from a model's weights only, use --load");
  constexpr int64_t kMaxCount = int64_t(1) << 53, kMaxInt = int64_t(1) << 62;
  constexpr double kMaxRate = 1e6;
  ValueReader r = train::checkpoint_reader(ckpt, path);
  // "loss" is a record of the last batch (NaN where a run diverged), not an input of the next step.
  if (!r.at("loss").is_number()) r.fail(r.label("loss"), "a number", r.found(r.at("loss")));
  r.number_in("best_accuracy", -1, 100);  // percent; -1 before the first evaluation
  r.one_of("config/dataset", kDatasets);
  r.one_of("config/model", kModels);
  int64_t epoch = ckpt.at("epoch").as_int(), epochs = r.integer("config/epochs", 0, kMaxCount);
  EMBER_CHECK(epoch <= epochs, path, ": \"epoch\" (", epoch, ") is past \"config/epochs\" (", epochs, ")");
  r.integer("config/batch_size", 1, kMaxInt);
  r.integer("config/test_batch_size", 1, kMaxInt);
  r.number_in("config/lr", 0, kMaxRate);
  r.number_in("config/momentum", 0, kMaxRate);
  r.flag("config/nesterov");
  r.number_in("config/weight_decay", 0, kMaxRate);
  r.integer("config/step_size", 1, kMaxCount);
  r.number_in("config/gamma", 0, kMaxRate, /*open_low=*/true);
  r.flag("config/shuffle");
  // Recorded since train_mnist learnt other optimizers and schedulers; older checkpoints lack them.
  if (r.has("config/optimizer")) r.one_of("config/optimizer", {"sgd", "adam", "adamw"});
  if (r.has("config/scheduler")) r.one_of("config/scheduler", {"step", "cosine", "onecycle"});
  r.integer("config/seed", INT64_MIN, INT64_MAX);
  r.integer("config/train_size", 0, kMaxInt);
  if (r.has("config/threads")) r.integer("config/threads", 0, 1024);
}

// The folder read: --data, else the dataset's own folder (where scripts/get_data.sh puts it). The
// loaders refuse a folder that holds the other dataset's published files.
std::string data_folder(const Config& c, const examples::Flags& f) {
  std::string dir = c.data.empty() ? "datasets/" + c.dataset : c.data;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    f.fail((c.data.empty() ? "" : "--data: ") + ("'" + dir + "' is a file, expected a folder with the four IDX files"));
  return dir;
}

std::unique_ptr<data::Dataset> open_dataset(const Config& c, bool train) {
  std::unique_ptr<data::Dataset> d;
  if (c.dataset == "fashion-mnist") d = std::make_unique<data::FashionMNIST>(c.data, train);
  else d = std::make_unique<data::MNIST>(c.data, train);
  int64_t limit = train ? c.train_size : c.test_size;
  if (limit > 0) d = std::make_unique<FirstRows>(std::move(d), limit);
  return d;
}

// Draws "[=====>    ] 312/938  2841 images/s  ETA 0:22" on a terminal; nothing when stdout is not one.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), on_(isatty(STDOUT_FILENO)) {}
  void update(int64_t done, int64_t images) {
    if (first_ < 0) {  // a resumed epoch starts part-way: rate and ETA count from here
      first_ = done - 1;
      start_ = std::chrono::steady_clock::now();
    }
    images_ += images;
    if (!on_ || total_ == 0 || (done % 10 && done != total_)) return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double rate = images_ / std::max(s, 1e-9);
    long long eta = (long long)std::llround(s / double(done - first_) * double(total_ - done));
    int width = 30, filled = int(width * done / total_);
    std::printf("\r[%s%s] %lld/%lld  %.0f images/s  ETA %lld:%02lld ", std::string(size_t(filled), '=').c_str(),
                std::string(size_t(width - filled), ' ').c_str(), (long long)done, (long long)total_, rate, eta / 60,
                eta % 60);
    std::fflush(stdout);
  }
  void clear() {
    if (on_) std::printf("\r%78s\r", "");
  }

 private:
  int64_t total_;
  bool on_;
  int64_t first_ = -1;
  double images_ = 0;
  std::chrono::steady_clock::time_point start_;
};

struct EvalResult {
  double loss = 0;
  int64_t correct = 0;
  int64_t total = 0;
  std::string predictions;
  double accuracy() const { return total ? 100.0 * double(correct) / double(total) : 0.0; }
};

EvalResult evaluate(nn::Module& model, const data::Dataset& test, int64_t batch_size, Device device) {
  model.eval();
  NoGradGuard no_grad;
  data::DataLoader loader(test, data::DataLoaderOptions(batch_size));
  EvalResult r;
  data::Batch b;
  while (loader.next(b)) {
    adapt_num_threads();
    Tensor out = model(b.data.to(device));
    Tensor target = b.target.to(device);
    r.loss += cross_entropy(out, target).item() * double(target.numel());
    auto pred = argmax(out, 1).to_vector<int64_t>();
    auto truth = b.target.to_vector<int64_t>();
    for (size_t i = 0; i < pred.size(); ++i) {
      r.correct += pred[i] == truth[i];
      r.predictions += char('0' + pred[i]);
    }
    r.total += int64_t(pred.size());
  }
  r.loss /= double(std::max<int64_t>(r.total, 1));
  return r;
}

int run(int argc, char** argv) {
  Config c;
  examples::Flags flags = make_flags(c);
  flags.parse(argc, argv);
  validate(c, flags);
  if (c.threads > 0) set_num_threads(int(c.threads));  // else the count follows the load (core/parallel.h)

  Value resume_from;
  if (!c.resume.empty()) {
    resume_from = load(c.resume, "cpu");
    check_checkpoint(resume_from, c.resume);
    adopt_recipe(c, resume_from.at("config"), flags);
  }
  Device device(c.device);
  c.data = data_folder(c, flags);

  // --epochs 0 only evaluates: the training images are not read (a resumed run needs the loader's state).
  const bool training = c.epochs > 0 || !resume_from.is_none();
  auto train_set = training ? open_dataset(c, true) : std::make_unique<FirstRows>(nullptr, 0);
  auto test_set = open_dataset(c, false);

  manual_seed(uint64_t(c.seed));
  std::shared_ptr<nn::Module> model = examples::make_mnist_model(c.model);
  model->to(device);
  std::unique_ptr<optim::Optimizer> optimizer_ptr;
  if (c.optimizer == "adam")
    optimizer_ptr = std::make_unique<optim::Adam>(model->parameters(),
                                                  optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
  else if (c.optimizer == "adamw")
    optimizer_ptr = std::make_unique<optim::AdamW>(model->parameters(),
                                                   optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  else
    optimizer_ptr = std::make_unique<optim::SGD>(model->parameters(), optim::SGDOptions(c.lr)
                                                                                 .momentum(c.momentum)
                                                                                 .nesterov(c.nesterov)
                                                                                 .weight_decay(c.weight_decay));
  optim::Optimizer& optimizer = *optimizer_ptr;
  data::DataLoader loader(*train_set, data::DataLoaderOptions(c.batch_size).shuffle(c.shuffle).seed(uint64_t(c.seed)));
  // OneCycleLR steps once per batch (rising to --lr over the first 30%), the others once per epoch.
  const bool per_batch = c.scheduler == "onecycle";
  std::unique_ptr<optim::LRScheduler> scheduler_ptr;
  if (c.scheduler == "cosine")
    scheduler_ptr = std::make_unique<optim::CosineAnnealingLR>(optimizer, std::max<int64_t>(c.epochs, 1));
  else if (per_batch)
    scheduler_ptr = std::make_unique<optim::OneCycleLR>(
        optimizer, optim::OneCycleLROptions(c.lr, std::max<int64_t>(c.epochs * loader.size(), 1)));
  else
    scheduler_ptr = std::make_unique<optim::StepLR>(optimizer, c.step_size, c.gamma);
  optim::LRScheduler& scheduler = *scheduler_ptr;

  // Where the loop is; the checkpoint counts the epochs completed (ckpt.epoch) and the steps.
  struct {
    int64_t epoch = 0;         // the epoch in progress (0-based)
    double last_loss = 0;      // the last training batch's loss
    double best_accuracy = -1;
  } st;
  train::TrainingCheckpoint ckpt(*model, optimizer);
  ckpt.scheduler(scheduler).loader(loader);
  if (!c.load.empty()) {
    model->load_state_dict(train::model_state_from(load(c.load, "cpu"), c.load));
    std::cout << "Loaded model weights from " << c.load << "\n";
  }
  if (!resume_from.is_none()) {
    ckpt.restore(resume_from, c.resume);
    st.epoch = ckpt.epoch;
    st.last_loss = resume_from.at("loss").as_double();
    st.best_accuracy = resume_from.at("best_accuracy").as_double();
    std::cout << "Resumed from " << c.resume << " at epoch " << st.epoch << ", step " << ckpt.step << "\n";
  }
  if (!c.checkpoint_dir.empty()) std::filesystem::create_directories(c.checkpoint_dir);
  auto save_checkpoint = [&](const std::string& file, const EvalResult* eval) {
    std::string path = (std::filesystem::path(c.checkpoint_dir) / file).string();
    ckpt.values = Value::dict({{"loss", st.last_loss},
                               {"accuracy", eval ? Value(eval->accuracy()) : Value()},
                               {"test_loss", eval ? Value(eval->loss) : Value()},
                               {"best_accuracy", st.best_accuracy},
                               {"config", recipe(c)}})
                      .as_dict();
    ckpt.save(path);
    return path;
  };

  std::string threads = std::to_string(get_num_threads()) + " thread" + (get_num_threads() == 1 ? "" : "s") + " (" +
                        (c.threads > 0 ? "--threads" : num_threads_source()) + ")";
  if (!training) {
    std::cout << "Evaluating " << c.model << " on the " << c.dataset << " test set in " << c.data << " ("
              << test_set->size() << " images), " << threads << ", device " << device.str() << "\n";
  } else {
    std::cout << "Training " << c.model << " on " << c.dataset << " from " << c.data << " (" << train_set->size()
              << " images) for " << c.epochs << " epoch" << (c.epochs == 1 ? "" : "s") << ", batch " << c.batch_size
              << ", lr " << optimizer.lr(0) << ", momentum " << c.momentum << ", " << threads << ", device "
              << device.str() << "\n";
  }

  std::unique_ptr<examples::MetricsLog> metrics;
  if (!c.metrics.empty()) {
    metrics = std::make_unique<examples::MetricsLog>(c.metrics);
    metrics->open(!resume_from.is_none(), ckpt.step, ckpt.epoch);
  }
  const int64_t train_n = training ? train_set->size() : 0;
  double epoch_lr = training ? optimizer.lr(0) : c.lr;

  EvalResult last;
  bool evaluated = false;
  for (; training && st.epoch < c.epochs; ++st.epoch) {
    auto t0 = std::chrono::steady_clock::now();
    int64_t images = 0;
    ckpt.epoch = st.epoch;
    // A step checkpoint taken after an epoch's last batch resumes with that epoch trained but not yet closed.
    bool trained = loader.epoch() > st.epoch;
    if (!trained) {
      model->train();
      Progress bar(loader.size());
      data::Batch b;
      while (loader.next(b)) {
        int64_t batch_idx = loader.batch_index() == 0 ? loader.size() - 1 : loader.batch_index() - 1;
        double lr = optimizer.lr(0);
        optimizer.zero_grad();
        Tensor loss = cross_entropy((*model)(b.data.to(device)), b.target.to(device));
        loss.backward();
        optimizer.step();
        if (per_batch) scheduler.step();
        ++ckpt.step;
        st.last_loss = loss.item();
        images += b.target.numel();
        bar.update(batch_idx + 1, b.target.numel());
        if (batch_idx % c.log_interval == 0) {
          bar.clear();
          // PyTorch's MNIST example's line: images before this batch, of the training set.
          int64_t seen = batch_idx * c.batch_size;
          std::printf("Train Epoch: %lld [%lld/%lld (%.0f%%)]\tLoss: %.6f\n", (long long)(st.epoch + 1),
                      (long long)seen, (long long)train_n, 100.0 * double(batch_idx) / double(loader.size()),
                      st.last_loss);
          if (metrics) {
            examples::MetricsRow row;
            row.epoch = st.epoch + 1;
            row.step = ckpt.step;
            row.samples = st.epoch * train_n + std::min(seen + b.target.numel(), train_n);
            row.loss = st.last_loss;
            row.lr = lr;
            row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            metrics->write(row);
          }
        }
        if (c.save_every_steps > 0 && ckpt.step % c.save_every_steps == 0 && !c.checkpoint_dir.empty()) {
          bar.clear();
          std::cout << "Saved " << save_checkpoint("checkpoint_step_" + std::to_string(ckpt.step) + ".ember", nullptr)
                    << "\n";
        }
      }
      bar.clear();
    }
    double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double used_lr = optimizer.lr(0);
    if (!per_batch) scheduler.step();
    auto t1 = std::chrono::steady_clock::now();
    last = evaluate(*model, *test_set, c.test_batch_size, device);
    evaluated = true;
    double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::printf("Test set: Average loss: %.4f, Accuracy: %lld/%lld (%.2f%%)\n", last.loss, (long long)last.correct,
                (long long)last.total, last.accuracy());
    std::printf("Epoch %lld: train %.2f s (%.0f images/s), test %.2f s (%.0f images/s)\n", (long long)(st.epoch + 1),
                train_s, images / std::max(train_s, 1e-9), eval_s, double(last.total) / std::max(eval_s, 1e-9));
    if (metrics) {
      examples::MetricsRow row;
      row.epoch_row = true;
      row.epoch = st.epoch + 1;
      row.step = ckpt.step;
      row.samples = (st.epoch + 1) * train_n;
      row.lr = used_lr;
      row.test_loss = last.loss;
      row.test_accuracy = last.accuracy();
      row.seconds = train_s + eval_s;
      metrics->write(row);
    }
    if (optimizer.lr(0) != epoch_lr && st.epoch + 1 < c.epochs)
      std::printf("Learning rate: %g -> %g from epoch %lld\n", epoch_lr, optimizer.lr(0), (long long)(st.epoch + 2));
    epoch_lr = optimizer.lr(0);
    std::fflush(stdout);
    ckpt.epoch = st.epoch + 1;
    if (!c.checkpoint_dir.empty()) {
      bool best = last.accuracy() > st.best_accuracy;
      if (best) st.best_accuracy = last.accuracy();
      if ((st.epoch + 1) % c.checkpoint_interval == 0 || st.epoch + 1 == c.epochs)
        std::cout << "Saved " << save_checkpoint("checkpoint_epoch_" + std::to_string(st.epoch + 1) + ".ember", &last)
                  << "\n";
      if (best) std::cout << "Saved " << save_checkpoint("best.ember", &last) << " (best accuracy so far)\n";
    }
  }
  if (!evaluated) {
    last = evaluate(*model, *test_set, c.test_batch_size, device);
    std::printf("Test set: Average loss: %.4f, Accuracy: %lld/%lld (%.2f%%)\n", last.loss, (long long)last.correct,
                (long long)last.total, last.accuracy());
  }
  if (!c.predictions.empty()) {
    io::write_file_atomically(c.predictions, last.predictions);  // checked, synced, renamed into place
    std::cout << "Wrote " << last.predictions.size() << " predictions to " << c.predictions << "\n";
  }
  if (!c.export_onnx.empty()) {
    // Inference mode (BatchNorm's running statistics, no dropout); two test images as the example batch.
    model->eval();
    const int64_t rows[] = {0, 1};
    Tensor example = test_set->get_batch(std::span<const int64_t>(rows, test_set->size() >= 2 ? 2 : 1)).data.to(device);
    onnx::ExportSummary s = onnx::export_model(*model, example, c.export_onnx);
    std::cout << "Exported the model to " << c.export_onnx << " (ONNX, opset " << s.opset << ", " << s.nodes
              << " nodes, " << s.initializers << " initializers named by the state dict's keys)\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "train_mnist: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mnist: %s\n", e.what());
    return 1;
  }
}
