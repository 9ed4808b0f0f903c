// A training run crossing between PyTorch and Ember (examples/crossing.h, examples/sd_crossing.cpp),
// against PyTorch itself (tests/reference/gen_optim.py, fixtures/optim.json "crossing/*"):
//  - PyTorch to Ember: a full training checkpoint torch.save wrote (model, SGD momentum or Adam state,
//    scheduler, epoch, a 0-dim tensor loss) resumes in Ember, and the next 20 steps follow PyTorch's
//    own continuation to float32 tolerance;
//  - Ember to PyTorch: the .pth Ember wrote when it resumed (fixtures/crossing_ember_*.pth) was
//    loaded by torch 1.13 with weights_only=True and no option, and continued there; Ember's own
//    continuation from the same file follows PyTorch's; and what Ember writes today has the same
//    pickle, byte for byte, as the file PyTorch accepted.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "examples/crossing.h"
#include "examples/sd_common.h"
#include "helpers.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/interop/zip.h"

using namespace ember;
namespace crossing = ember::examples::crossing;

namespace {

std::string fixture(const std::string& name) { return std::string(EMBER_FIXTURE_DIR) + "/" + name; }

struct Resumed {
  examples::TwoLayerNet model{6, 12, 3};
  crossing::Training training;
  int64_t step = 0;
  std::vector<double> losses;

  explicit Resumed(const Value& ckpt) {
    model.load_state_dict(ckpt.at("model_state_dict").to_state_dict());
    training = crossing::training_for(ckpt, model.parameters());
    training.optimizer->load_state_dict(ckpt.at("optimizer_state_dict"));
    training.scheduler->load_state_dict(ckpt.at("scheduler_state_dict"));
    step = ckpt.at("step").as_int();
  }
  void train(int n) {
    for (int i = 0; i < n; ++i, ++step) {
      auto [x, y] = crossing::batch(step);
      training.optimizer->zero_grad();
      Tensor loss = cross_entropy(model.forward(x), y);
      loss.backward();
      training.optimizer->step();
      training.scheduler->step();
      losses.push_back(loss.item());
    }
  }
  Value checkpoint(int64_t epoch) const {
    return Value::dict({{"epoch", epoch},
                        {"step", step},
                        {"model_state_dict", Value(model.state_dict())},
                        {"optimizer_state_dict", training.optimizer->state_dict()},
                        {"scheduler_state_dict", training.scheduler->state_dict()},
                        {"loss", losses.back()}});
  }
};

// Losses to 1e-5 relative, weights to float32 tolerance after 20 steps, rates exactly.
void check_follows(const Resumed& r, const nlohmann::json& c, const std::string& what) {
  INFO(what);
  REQUIRE(r.losses.size() == c["losses"].size());
  for (size_t i = 0; i < r.losses.size(); ++i)
    CHECK(r.losses[i] == doctest::Approx(c["losses"][i].get<double>()).epsilon(1e-5));
  for (const auto& [name, t] : r.model.state_dict())
    test::check_close(t, test::tensor_from_json(c["weights"][name]), 1e-4, 1e-5, what + " " + name);
  CHECK(r.training.optimizer->lr(0) == doctest::Approx(c["lrs"][0].get<double>()).epsilon(1e-15));
}

std::vector<uint8_t> data_pkl(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  io::ZipReader zip(fd, std::filesystem::file_size(path), path);
  const io::ZipEntry* e = nullptr;
  for (const auto& entry : zip.entries())
    if (entry.name.size() >= 8 && entry.name.compare(entry.name.size() - 8, 8, "data.pkl") == 0) e = &entry;
  REQUIRE(e != nullptr);
  std::vector<uint8_t> out = zip.read(*e, 1 << 20);
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("a PyTorch training checkpoint resumes in Ember and follows PyTorch's continuation") {
  auto fx = test::load_fixture("optim.json");
  for (const char* kind : {"sgd", "adam"}) {
    Value ckpt = load(fixture(std::string("crossing_torch_") + kind + ".pth"), "cpu");
    INFO(kind);
    // torch.save({..., 'loss': loss}) stores the loss as a 0-dim tensor; it reads as its number.
    CHECK(ckpt.at("loss").is_tensor());
    CHECK(ckpt.at("loss").is_number());
    CHECK(ckpt.at("loss").as_double() > 0);
    CHECK(ckpt.at("epoch").as_int() == 10);
    Resumed r(ckpt);
    if (std::string(kind) == "adam") {  // torch 1.13's Adam step: a 0-dim float32 tensor
      const Value& s = ckpt.at("optimizer_state_dict").at("state").at("0");
      CHECK(s.at("step").as_tensor().dim() == 0);
      CHECK(r.training.optimizer->state(r.model.fc1.weight).at("step").item() == 10);
    }
    r.train(20);
    check_follows(r, fx["crossing/torch_" + std::string(kind)], std::string("torch -> ember ") + kind);
  }
}

TEST_CASE("an Ember checkpoint loads in PyTorch 1.13 with weights_only=True and both continue alike") {
  auto fx = test::load_fixture("optim.json");
  for (const char* kind : {"sgd", "adam"}) {
    INFO(kind);
    std::string committed = fixture(std::string("crossing_ember_") + kind + ".pth");
    REQUIRE(fx.contains("crossing/ember_" + std::string(kind)));
    const auto& c = fx["crossing/ember_" + std::string(kind)];
    // PyTorch read the numbers Ember wrote as 0-dim tensors, and trained on with them.
    CHECK(c["loaded"]["lr_type"].get<std::string>() == "Tensor");
    CHECK(c["loaded"]["step"].get<int>() == 20);

    // Ember continues from the same file as PyTorch did.
    Value ckpt = load(committed, "cpu");
    CHECK(ckpt.at("loss").as_double() == doctest::Approx(c["loaded"]["loss"].get<double>()).epsilon(1e-15));
    Resumed r(ckpt);
    r.train(10);
    check_follows(r, c, std::string("ember -> torch ") + kind);

    // What Ember writes now is what PyTorch accepted: the same pickle (the tree, every number's form,
    // the keys), and the same values to float32 tolerance.
    Resumed again(load(fixture(std::string("crossing_torch_") + kind + ".pth"), "cpu"));
    again.train(10);
    auto dir = std::filesystem::temp_directory_path() / ("ember_crossing_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string fresh = (dir / "fresh.pth").string();
    save_pth(again.checkpoint(20), fresh);
    CHECK(data_pkl(fresh) == data_pkl(committed));
    Value a = load(fresh, "cpu");
    for (const auto& [name, t] : a.at("model_state_dict").to_state_dict())
      test::check_close(t, ckpt.at("model_state_dict").at(name).as_tensor(), 1e-4, 1e-6, name);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("a scalar one side stores as a 0-dim tensor reads as the number it is, where that is exact") {
  // PyTorch's 'loss': loss (float32), a lr carried as a float64 tensor, Adam's step, an int64 count.
  CHECK(Value(scalar_tensor(0.25, kFloat32)).as_double() == 0.25);
  CHECK(Value(scalar_tensor(0.1, kFloat32)).as_double() == double(0.1f));  // the float32's own value
  CHECK(Value(scalar_tensor(0.1, kFloat64)).as_double() == 0.1);
  CHECK(Value(scalar_tensor(3.0, kFloat32)).as_int() == 3);
  CHECK(Value(from_vector<int64_t>({7}, Shape{})).as_int() == 7);
  CHECK(Value(from_vector<int64_t>({7}, Shape{})).as_double() == 7.0);
  CHECK(Value(from_vector<bool>({true}, Shape{})).as_bool());
  CHECK(Value(scalar_tensor(0.5)).is_number());
  CHECK(!Value(from_vector<bool>({true}, Shape{})).is_number());
  CHECK(!Value(zeros({1})).is_number());  // only 0-dim tensors are numbers
  CHECK(Value(4.0).as_int() == 4);
  // Where the conversion is not exact it is refused, saying why.
  CHECK(test::error_of([] { Value(scalar_tensor(2.5)).as_int(); }) ==
        "Value: expected int, found a 0-dim tensor holding 2.5 (not a whole number in int64's range)");
  CHECK(test::error_of([] { Value(2.5).as_int(); }) ==
        "Value: expected int, found double 2.5 (not a whole number in int64's range)");
  CHECK(test::error_of([] { Value(int64_t(9007199254740993)).as_double(); }) ==
        "Value: expected double, found int 9007199254740993, which no double holds exactly (beyond 2^53)");
  CHECK(test::error_of([] { Value(zeros({2})).as_double(); }) ==
        "Value: expected double, found a tensor of shape [2] (only a 0-dim tensor reads as a number)");
  CHECK(test::error_of([] { Value(scalar_tensor(1.0)).as_bool(); }) == "Value: expected bool, found tensor");
  CHECK(test::error_of([] { Value(1).as_bool(); }) == "Value: expected bool, found int");
}
