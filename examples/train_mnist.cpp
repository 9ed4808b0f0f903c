// train_mnist: the MNIST program of the PyTorch state-dict tutorial, in Ember.
// Trains MNISTNet (or its BatchNorm variant), evaluates after each epoch, and saves checkpoints that
// resume exactly: a run stopped and resumed ends bit-identical to one that never stopped.
//
//   train_mnist --data datasets/mnist                          # 2 epochs, the tutorial's recipe
//   train_mnist --data datasets/mnist --checkpoint-dir ckpt    # + checkpoint_epoch_N.ember, best.ember
//   train_mnist --data datasets/mnist --resume ckpt/checkpoint_epoch_1.ember --epochs 2
//   train_mnist --data datasets/mnist --load ckpt/best.ember --epochs 0 --predictions preds.txt
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>

#include "ember/core/parallel.h"
#include "ember/data/dataloader.h"
#include "ember/data/mnist.h"
#include "examples/flags.h"
#include "examples/models.h"
#include "examples/training_state.h"
#include "ember/io/interop/serialize.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"

using namespace ember;

namespace {

struct Config {
  std::string data = "datasets/mnist";
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
  int64_t train_size = 0;
  int64_t test_size = 0;
};

// The first n rows of a dataset (for quick runs and tests).
class FirstRows : public data::Dataset {
 public:
  FirstRows(std::unique_ptr<data::Dataset> base, int64_t n) : base_(std::move(base)), n_(n) {}
  int64_t size() const override { return std::min(n_, base_->size()); }
  data::Batch get_batch(std::span<const int64_t> indices) const override { return base_->get_batch(indices); }

 private:
  std::unique_ptr<data::Dataset> base_;
  int64_t n_;
};

examples::Flags make_flags(Config& c) {
  examples::Flags f("train_mnist", "Train MNISTNet on MNIST or Fashion-MNIST, with checkpoints that resume exactly.");
  f.add("--data", c.data, "folder with the four IDX files (raw or .gz)");
  f.add("--dataset", c.dataset, "mnist | fashion-mnist");
  f.add("--model", c.model, "mnistnet | mnistnet-bn | fashionnet");
  f.add("--epochs", c.epochs, "epochs of the whole run (0: only evaluate)");
  f.add("--batch-size", c.batch_size, "training batch size");
  f.add("--test-batch-size", c.test_batch_size, "evaluation batch size");
  f.add("--lr", c.lr, "learning rate");
  f.add("--momentum", c.momentum, "SGD momentum");
  f.add("--nesterov", c.nesterov, "Nesterov momentum");
  f.add("--weight-decay", c.weight_decay, "L2 penalty");
  f.add("--step-size", c.step_size, "StepLR: epochs between learning-rate decays");
  f.add("--gamma", c.gamma, "StepLR: decay factor (1: constant learning rate)");
  f.add("--shuffle", c.shuffle, "shuffle the training set each epoch (--no-shuffle: the tutorial's fixed order)");
  f.add("--seed", c.seed, "seed of the model's initialisation and of the shuffling");
  f.add("--threads", c.threads, "CPU threads (0: all cores)");
  f.add("--log-interval", c.log_interval, "batches between loss lines");
  f.add("--device", c.device, "cpu | cuda | cuda:N");
  f.add("--checkpoint-dir", c.checkpoint_dir, "folder for checkpoint_epoch_N.ember and best.ember");
  f.add("--checkpoint-interval", c.checkpoint_interval, "epochs between checkpoints");
  f.add("--save-every-steps", c.save_every_steps, "also write checkpoint_step_N.ember every N steps (0: never)");
  f.add("--resume", c.resume, "continue a run from a checkpoint (--epochs counts the whole run)");
  f.add("--load", c.load, "initialise the model from a state dict, or a checkpoint's model_state_dict");
  f.add("--predictions", c.predictions, "write the predicted test labels here, one digit per image");
  f.add("--train-size", c.train_size, "train on the first N training images only (0: all)");
  f.add("--test-size", c.test_size, "evaluate on the first N test images only (0: all)");
  return f;
}

void validate(const Config& c, const examples::Flags& f) {
  auto need = [&](bool ok, const char* flag, const std::string& why) {
    if (!ok) f.fail(std::string(flag) + ": " + why);
  };
  need(c.dataset == "mnist" || c.dataset == "fashion-mnist", "--dataset", "expected mnist or fashion-mnist, found '" + c.dataset + "'");
  need(c.model == "mnistnet" || c.model == "mnistnet-bn" || c.model == "fashionnet", "--model",
       "expected mnistnet, mnistnet-bn or fashionnet, found '" + c.model + "'");
  need(c.epochs >= 0, "--epochs", "must be >= 0");
  need(c.batch_size > 0, "--batch-size", "must be > 0");
  need(c.test_batch_size > 0, "--test-batch-size", "must be > 0");
  need(c.step_size > 0, "--step-size", "must be > 0");
  need(c.gamma > 0, "--gamma", "must be > 0");
  need(c.threads >= 0, "--threads", "must be >= 0");
  need(c.log_interval > 0, "--log-interval", "must be > 0");
  need(c.checkpoint_interval > 0, "--checkpoint-interval", "must be > 0");
  need(c.save_every_steps >= 0, "--save-every-steps", "must be >= 0");
  need(c.train_size >= 0, "--train-size", "must be >= 0");
  need(c.test_size >= 0, "--test-size", "must be >= 0");
  need(c.resume.empty() || c.load.empty(), "--load", "cannot be combined with --resume");
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
                      {"step_size", c.step_size}, {"gamma", c.gamma}, {"shuffle", c.shuffle}, {"seed", c.seed},
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

std::unique_ptr<data::Dataset> open_dataset(const Config& c, bool train) {
  std::unique_ptr<data::Dataset> d;
  if (c.dataset == "fashion-mnist") d = std::make_unique<data::FashionMNIST>(c.data, train);
  else d = std::make_unique<data::MNIST>(c.data, train);
  int64_t limit = train ? c.train_size : c.test_size;
  if (limit > 0) d = std::make_unique<FirstRows>(std::move(d), limit);
  return d;
}

// Draws "[=====>    ] 312/938" on the terminal; nothing when stdout is not one.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), on_(isatty(STDOUT_FILENO)) {}
  void update(int64_t done) {
    if (!on_ || total_ == 0 || (done % 10 && done != total_)) return;
    int width = 30, filled = int(width * done / total_);
    std::printf("\r[%s%s] %lld/%lld", std::string(size_t(filled), '=').c_str(),
                std::string(size_t(width - filled), ' ').c_str(), (long long)done, (long long)total_);
    std::fflush(stdout);
  }
  void clear() {
    if (on_) std::printf("\r%60s\r", "");
  }

 private:
  int64_t total_;
  bool on_;
};

struct EvalResult {
  double loss = 0;
  int64_t correct = 0;
  int64_t total = 0;
  std::string predictions;
  double accuracy() const { return total ? 100.0 * double(correct) / double(total) : 0.0; }
};

EvalResult evaluate(examples::AnyMnistModel& model, const data::Dataset& test, int64_t batch_size, Device device) {
  model.module->eval();
  NoGradGuard no_grad;
  data::DataLoader loader(test, data::DataLoaderOptions(batch_size));
  EvalResult r;
  data::Batch b;
  while (loader.next(b)) {
    Tensor out = model.forward(b.data.to(device));
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
  if (c.threads > 0) set_num_threads(int(c.threads));

  Value resume_from;
  if (!c.resume.empty()) {
    resume_from = load(c.resume, "cpu");
    examples::check_training_checkpoint(resume_from, c.resume);
    adopt_recipe(c, resume_from.at("config"), flags);
  }
  Device device(c.device);

  auto train_set = open_dataset(c, true);
  auto test_set = open_dataset(c, false);

  manual_seed(uint64_t(c.seed));
  examples::AnyMnistModel model = examples::make_mnist_model(c.model);
  model.module->to(device);
  optim::SGD optimizer(model.module->parameters(), optim::SGDOptions(c.lr)
                                                       .momentum(c.momentum)
                                                       .nesterov(c.nesterov)
                                                       .weight_decay(c.weight_decay));
  optim::StepLR scheduler(optimizer, c.step_size, c.gamma);
  data::DataLoader loader(*train_set, data::DataLoaderOptions(c.batch_size).shuffle(c.shuffle).seed(uint64_t(c.seed)));

  examples::TrainingState st;
  if (!c.load.empty()) {
    model.module->load_state_dict(examples::model_state_from(load(c.load, "cpu"), c.load));
    std::cout << "Loaded model weights from " << c.load << "\n";
  }
  if (!resume_from.is_none()) {
    st = examples::restore_training(resume_from, *model.module, optimizer, scheduler, loader);
    std::cout << "Resumed from " << c.resume << " at epoch " << st.epoch << ", step " << st.step << "\n";
  }
  if (!c.checkpoint_dir.empty()) std::filesystem::create_directories(c.checkpoint_dir);
  auto save_checkpoint = [&](const std::string& file, const EvalResult* eval) {
    std::string path = (std::filesystem::path(c.checkpoint_dir) / file).string();
    save(examples::training_checkpoint(st, *model.module, optimizer, scheduler, loader, recipe(c), eval ? eval->accuracy() : -1,
                                       eval ? eval->loss : -1),
         path);
    return path;
  };

  std::cout << "Training " << c.model << " on " << c.dataset << " (" << train_set->size() << " images) for "
            << c.epochs << " epoch(s), batch " << c.batch_size << ", lr " << c.lr << ", momentum " << c.momentum
            << ", " << get_num_threads() << " thread(s), device " << device.str() << "\n";

  EvalResult last;
  bool evaluated = false;
  for (; st.epoch < c.epochs; ++st.epoch) {
    auto t0 = std::chrono::steady_clock::now();
    int64_t images = 0;
    st.completed = st.epoch;
    // A step checkpoint taken after an epoch's last batch resumes with that epoch trained but not yet closed.
    bool trained = loader.epoch() > st.epoch;
    if (!trained) {
      model.module->train();
      Progress bar(loader.size());
      data::Batch b;
      while (loader.next(b)) {
        int64_t batch_idx = loader.batch_index() == 0 ? loader.size() - 1 : loader.batch_index() - 1;
        optimizer.zero_grad();
        Tensor loss = cross_entropy(model.forward(b.data.to(device)), b.target.to(device));
        loss.backward();
        optimizer.step();
        ++st.step;
        st.last_loss = loss.item();
        images += b.target.numel();
        bar.update(batch_idx + 1);
        if (batch_idx % c.log_interval == 0) {
          bar.clear();
          std::printf("Train Epoch: %lld Batch: %lld Loss: %.6f\n", (long long)(st.epoch + 1), (long long)batch_idx,
                      st.last_loss);
        }
        if (c.save_every_steps > 0 && st.step % c.save_every_steps == 0 && !c.checkpoint_dir.empty()) {
          bar.clear();
          std::cout << "Saved " << save_checkpoint("checkpoint_step_" + std::to_string(st.step) + ".ember", nullptr)
                    << "\n";
        }
      }
      bar.clear();
    }
    double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    scheduler.step();
    auto t1 = std::chrono::steady_clock::now();
    last = evaluate(model, *test_set, c.test_batch_size, device);
    evaluated = true;
    double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::printf("Test set: Average loss: %.4f, Accuracy: %lld/%lld (%.2f%%)\n", last.loss, (long long)last.correct,
                (long long)last.total, last.accuracy());
    std::printf("Epoch %lld: train %.2f s (%.0f images/s), test %.2f s (%.0f images/s)\n", (long long)(st.epoch + 1),
                train_s, images / std::max(train_s, 1e-9), eval_s, double(last.total) / std::max(eval_s, 1e-9));
    std::fflush(stdout);
    st.completed = st.epoch + 1;
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
    last = evaluate(model, *test_set, c.test_batch_size, device);
    std::printf("Test set: Average loss: %.4f, Accuracy: %lld/%lld (%.2f%%)\n", last.loss, (long long)last.correct,
                (long long)last.total, last.accuracy());
  }
  if (!c.predictions.empty()) {
    std::ofstream out(c.predictions, std::ios::binary);
    out << last.predictions;
    if (!out) flags.fail("--predictions: cannot write " + c.predictions);
    std::cout << "Wrote " << last.predictions.size() << " predictions to " << c.predictions << "\n";
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
