#include "ember/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "ember/core/options.h"
#include "ember/core/autograd.h"
#include "ember/core/ops.h"

namespace ember::optim {

const std::vector<Tensor>& Optimizer::params(size_t group) const {
  EMBER_CHECK(group < groups_.size(), kind(), ": parameter group ", group, " out of range (", groups_.size(),
              " groups)");
  return groups_[group].params;
}

std::vector<Tensor> Optimizer::all_params() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

void Optimizer::add_group_params(std::vector<Tensor> params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    EMBER_CHECK(p.defined(), kind(), ": parameter ", i, " of the new group is undefined");
    EMBER_CHECK(p.is_leaf(), kind(), ": can't optimize a non-leaf Tensor (parameter ", i, " of the new group)");
    for (size_t j = 0; j < i; ++j)
      EMBER_CHECK(!params[j].is_same(p), kind(), ": a parameter group contains parameter ", j, " twice (again at ", i,
                  ")");
    for (const auto& g : groups_)
      for (const auto& q : g.params)
        EMBER_CHECK(!q.is_same(p), kind(), ": some parameters appear in more than one parameter group");
  }
  Group g;
  g.state.resize(params.size());
  g.params = std::move(params);
  groups_.push_back(std::move(g));
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (set_to_none)
        p.set_grad(Tensor());
      else
        grad.zero_();
    }
}

double Optimizer::momentum(size_t group) const {
  EMBER_FAIL(kind(), " has no momentum for a scheduler to cycle");
}
void Optimizer::set_momentum(size_t group, double momentum) {
  EMBER_FAIL(kind(), " has no momentum for a scheduler to cycle");
}

const OrderedDict<Tensor>& Optimizer::state(const Tensor& param) const {
  for (const auto& g : groups_)
    for (size_t i = 0; i < g.params.size(); ++i)
      if (g.params[i].is_same(param)) return g.state[i];
  EMBER_FAIL(kind(), ": state: the tensor is not a parameter of this optimizer");
}

Value Optimizer::state_dict() const {
  Value::Dict state;
  Value::List param_groups;
  int64_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    Value::List indices;
    for (size_t i = 0; i < groups_[g].params.size(); ++i, ++index) {
      indices.push_back(Value(index));
      const auto& s = groups_[g].state[i];
      if (s.empty()) continue;
      Value::Dict entry;
      for (const auto& [name, t] : s) entry.insert(name, Value(t));
      state.insert(std::to_string(index), Value(std::move(entry)));
    }
    Value::Dict group = group_options(g);
    if (groups_[g].initial_lr) group.insert("initial_lr", Value(*groups_[g].initial_lr));
    group.insert("params", Value(std::move(indices)));
    param_groups.push_back(Value(std::move(group)));
  }
  Value::Dict out;
  out.insert("state", Value(std::move(state)));
  out.insert("param_groups", Value(std::move(param_groups)));
  return Value(std::move(out));
}

static std::string found_str(const Value& v) { return ValueReader::found(v, ValueReader::Found::Value); }

static ValueReader::Style group_style() {
  ValueReader::Style s;
  s.found = ValueReader::Found::Value;
  return s;
}

Optimizer::GroupReader::GroupReader(const char* kind, size_t g, const Value& group)
    : reader_(group, std::string(kind) + ".load_state_dict: parameter group " + std::to_string(g) + ": ", group_style()) {
  EMBER_CHECK(group.contains("lr"), reader_.where(), "\"lr\" is missing (expected the group's learning rate)");
}

void Optimizer::GroupReader::fail(const char* key, const std::string& expected, const std::string& found) const {
  reader_.fail(reader_.label(key), expected, found);
}

void Optimizer::GroupReader::number(const char* key, double& out, double min) const {
  if (has(key)) out = reader_.number(key, min);
}

void Optimizer::GroupReader::flag(const char* key, bool& out) const {
  if (has(key)) out = reader_.flag(key);
}

void Optimizer::GroupReader::betas(const char* key, std::pair<double, double>& out) const {
  if (!has(key)) return;
  const Value& v = reader_.at(key);
  const char* expected = "two numbers in [0, 1)";
  if (!v.is_list() || v.size() != 2) fail(key, expected, reader_.found(v));
  if (!v.at(0).is_number() || !v.at(1).is_number())
    fail(key, expected, "[" + reader_.found(v.at(0)) + ", " + reader_.found(v.at(1)) + "]");
  double b1 = v.at(0).as_double(), b2 = v.at(1).as_double();
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1))
    fail(key, expected, "[" + short_float(b1) + ", " + short_float(b2) + "]");
  out = {b1, b2};
}

namespace {
// Each optimizer kind's parameter-group keys, to name the kind a foreign state dict comes from.
struct KindKeys {
  const char* kind;
  std::vector<std::string> keys;
  std::vector<std::string> state;
};
const std::vector<KindKeys>& known_kinds() {
  static const std::vector<KindKeys> kinds = {
      {"SGD", {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"}, {"momentum_buffer"}},
      {"Adam", {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"},
       {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"AdamW", {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"},
       {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"RMSprop", {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"},
       {"step", "square_avg", "momentum_buffer", "grad_avg"}},
      {"Adagrad", {"lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "maximize"}, {"step", "sum"}},
  };
  return kinds;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
  return out;
}

// "Adam or AdamW": the kinds that have `key` (a group key, or a state name when `state`) but not `kind`.
std::string kinds_with(const std::string& key, bool state) {
  std::vector<std::string> out;
  for (const auto& k : known_kinds())
    if (has(state ? k.state : k.keys, key)) out.push_back(k.kind);
  return out.empty() ? "" : join(out, " or ") + "'s";
}
}  // namespace

// "12" -> 12; anything but plain decimal digits -> -1.
// A state key: a parameter index written as PyTorch writes it (decimal, no sign, no leading zero), so
// no two keys name one parameter ("0" and "00"); -1 for anything else.
static int64_t parse_index(const std::string& s) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  if (s.size() > 1 && s[0] == '0') return -1;
  return std::stoll(s);
}

void Optimizer::load_state_dict(const Value& sd) {
  const std::string where = std::string(kind()) + ".load_state_dict: ";
  EMBER_CHECK(sd.is_dict() && sd.contains("state") && sd.contains("param_groups"), where,
              "expected a dict with \"state\" and \"param_groups\", found a ", sd.kind_name());
  const Value& saved_groups = sd.at("param_groups");
  const Value& saved_state = sd.at("state");
  EMBER_CHECK(saved_groups.is_list(), where, "\"param_groups\" must be a list, found a ", saved_groups.kind_name());
  EMBER_CHECK(saved_state.is_dict(), where, "\"state\" must be a dict, found a ", saved_state.kind_name());
  EMBER_CHECK(saved_groups.size() == groups_.size(), "loaded state dict has ", saved_groups.size(),
              " parameter groups, optimizer has ", groups_.size());

  // Saved index -> (group, position), pairing saved and current parameters in order, as PyTorch.
  std::map<int64_t, std::pair<size_t, size_t>> id_map;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const Value& group = saved_groups.at(g);
    EMBER_CHECK(group.is_dict() && group.contains("params") && group.at("params").is_list(), where,
                "parameter group ", g, " must be a dict with a \"params\" list");
    const Value& ids = group.at("params");
    EMBER_CHECK(ids.size() == groups_[g].params.size(),
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group: ",
                ids.size(), " vs ", groups_[g].params.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      EMBER_CHECK(ids.at(i).is_int(), where, "parameter group ", g, ": \"params\" entry ", i, " must be an int, found a ",
                  ids.at(i).kind_name());
      int64_t id = ids.at(i).as_int();
      EMBER_CHECK(id >= 0, where, "parameter group ", g, ": \"params\" entry ", i, " must be an int >= 0, found ", id);
      EMBER_CHECK(id_map.emplace(id, std::make_pair(g, i)).second, where, "parameter index ", id,
                  " appears twice in \"param_groups\"");
    }
    // A key another kind has and this one lacks: a state dict of another optimizer.
    std::vector<std::string> own;
    for (const auto& [k, unused] : group_options(g)) own.push_back(k);
    for (const auto& [k, unused] : group.as_dict()) {
      if (k == "params" || has(own, k)) continue;
      bool foreign = false;
      for (const auto& kk : known_kinds()) foreign = foreign || has(kk.keys, k);
      EMBER_CHECK(!foreign, where, "parameter group ", g, " has \"", k, "\", which ", kind(),
                  " does not have: expected a ", kind(), " state dict (group keys ", join(own),
                  "), found ", kinds_with(k, false), " (a state dict of another optimizer)");
    }
    check_group_options(g, group);
    if (group.contains("initial_lr"))
      EMBER_CHECK(group.at("initial_lr").is_number() && group.at("initial_lr").as_double() >= 0 &&
                      std::isfinite(group.at("initial_lr").as_double()),
                  where, "parameter group ", g, ": \"initial_lr\" must be a finite number >= 0, found ",
                  found_str(group.at("initial_lr")));
  }

  // Check and convert every state tensor before changing anything.
  std::vector<std::vector<OrderedDict<Tensor>>> new_state(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) new_state[g].resize(groups_[g].params.size());
  std::vector<std::string> names = state_names();
  NoGradGuard no_grad;
  for (const auto& [key, entry] : saved_state.as_dict()) {
    int64_t id = parse_index(key);
    EMBER_CHECK(id >= 0, where, "\"state\" has an entry \"", key,
                "\", which is not a parameter index (an int >= 0 written without sign or leading zeros)");
    auto it = id_map.find(id);
    EMBER_CHECK(it != id_map.end(), where, "\"state\" has an entry \"", key,
                "\" that is not the index of a parameter in \"param_groups\"");
    auto [g, i] = it->second;
    const Tensor& param = groups_[g].params[i];
    EMBER_CHECK(entry.is_dict(), where, "state of parameter ", key, " must be a dict, found a ", entry.kind_name());
    for (const auto& [name, v] : entry.as_dict()) {
      if (!has(names, name)) {
        std::string other = kinds_with(name, true);
        EMBER_FAIL(where, "state of parameter ", key, " has \"", name, "\", which ", kind(), " does not keep: expected ",
                   join(names, " or "),
                   other.empty() ? std::string() : ", found " + other + " state (a state dict of another optimizer)");
      }
      if (name == "step") {
        // PyTorch 1.13 keeps a 0-dim float32 tensor (shape [1] when capturable), older ones and
        // RMSprop in 1.13 a Python int: all read as the count they hold.
        bool one = v.is_tensor() && v.as_tensor().defined() && v.as_tensor().numel() == 1;
        Value n = one && v.as_tensor().dim() != 0 ? Value(v.as_tensor().reshape({})) : v;
        EMBER_CHECK(n.is_number(), where, "state \"step\" of parameter ", key,
                    " must be a number or a one-element tensor, found ", found_str(v));
        double s = n.as_double();
        EMBER_CHECK(s >= 0 && s <= double(1 << 24) && std::floor(s) == s, where, "state \"step\" of parameter ", key,
                    " must be a whole number in [0, 2^24], found ", short_float(s));
        new_state[g][i].insert(name, scalar_tensor(s, kFloat32));
        continue;
      }
      EMBER_CHECK(v.is_tensor() && v.as_tensor().defined(), where, "state \"", name, "\" of parameter ", key,
                  " must be a tensor, found a ", v.kind_name());
      const Tensor& t = v.as_tensor();
      EMBER_CHECK(t.shape() == param.shape(), where, "state \"", name, "\" of parameter ", key, " has shape ",
                  shape_str(t.shape()), ", expected the parameter's shape ", shape_str(param.shape()));
      EMBER_CHECK(is_floating(t.dtype()), where, "state \"", name, "\" of parameter ", key,
                  " must be a floating tensor, found ", dtype_name(t.dtype()));
      // A NaN or infinite buffer (a run that diverged) would carry on into NaN; a negative sum of
      // squares would make the update's square root NaN.
      if (t.numel() > 0) {
        Tensor tc = t.detach().to(kCPU).to(kFloat64);
        EMBER_CHECK(std::isfinite(ember::max(ember::abs(tc)).item()), where, "state \"", name, "\" of parameter ", key,
                    " holds a NaN or infinite value");
        if (has(nonnegative_state(), name))
          EMBER_CHECK(ember::min(tc).item() >= 0, where, "state \"", name, "\" of parameter ", key,
                      " holds a negative value (", short_float(ember::min(tc).item()), "); it is a sum of squares");
      }
      Tensor c = t.detach().to(param.device());
      c = c.to(param.dtype());
      if (c.shares_storage(t)) c = c.clone();
      new_state[g][i].insert(name, c.detach());
    }
    for (const std::string& need : required_state(g, saved_groups.at(g)))
      EMBER_CHECK(new_state[g][i].contains(need), where, "state of parameter ", key, " lacks \"", need, "\" (", kind(),
                  " keeps ", join(required_state(g, saved_groups.at(g))), " for each parameter it has stepped)");
  }

  for (size_t g = 0; g < groups_.size(); ++g) {
    set_group_options(g, saved_groups.at(g));
    const Value& group = saved_groups.at(g);
    groups_[g].initial_lr =
        group.contains("initial_lr") ? std::optional<double>(group.at("initial_lr").as_double()) : std::nullopt;
    groups_[g].state = std::move(new_state[g]);
  }
}

}  // namespace ember::optim
