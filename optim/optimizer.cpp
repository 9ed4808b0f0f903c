#include "ember/optim/optimizer.h"

#include <algorithm>
#include <map>

#include "ember/core/autograd.h"

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
    group.insert("params", Value(std::move(indices)));
    param_groups.push_back(Value(std::move(group)));
  }
  Value::Dict out;
  out.insert("state", Value(std::move(state)));
  out.insert("param_groups", Value(std::move(param_groups)));
  return Value(std::move(out));
}

// "12" -> 12; anything but plain decimal digits -> -1.
static int64_t parse_index(const std::string& s) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
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
      EMBER_CHECK(id_map.emplace(id, std::make_pair(g, i)).second, where, "parameter index ", id,
                  " appears twice in \"param_groups\"");
    }
    check_group_options(g, group);
  }

  // Check and convert every state tensor before changing anything.
  std::vector<std::vector<OrderedDict<Tensor>>> new_state(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) new_state[g].resize(groups_[g].params.size());
  std::vector<std::string> names = state_names();
  NoGradGuard no_grad;
  for (const auto& [key, entry] : saved_state.as_dict()) {
    int64_t id = parse_index(key);
    auto it = id_map.find(id);
    EMBER_CHECK(it != id_map.end(), where, "\"state\" has an entry \"", key,
                "\" that is not the index of a parameter in \"param_groups\"");
    auto [g, i] = it->second;
    const Tensor& param = groups_[g].params[i];
    EMBER_CHECK(entry.is_dict(), where, "state of parameter ", key, " must be a dict, found a ", entry.kind_name());
    for (const auto& [name, v] : entry.as_dict()) {
      EMBER_CHECK(std::find(names.begin(), names.end(), name) != names.end(), where, "unknown state \"", name,
                  "\" for parameter ", key);
      EMBER_CHECK(v.is_tensor() && v.as_tensor().defined(), where, "state \"", name, "\" of parameter ", key,
                  " must be a tensor, found a ", v.kind_name());
      const Tensor& t = v.as_tensor();
      EMBER_CHECK(t.shape() == param.shape(), where, "state \"", name, "\" of parameter ", key, " has shape ",
                  shape_str(t.shape()), ", the parameter has shape ", shape_str(param.shape()));
      Tensor c = t.detach().to(param.device());
      if (is_floating(c.dtype())) c = c.to(param.dtype());
      if (c.shares_storage(t)) c = c.clone();
      new_state[g][i].insert(name, c.detach());
    }
  }

  for (size_t g = 0; g < groups_.size(); ++g) {
    set_group_options(g, saved_groups.at(g));
    groups_[g].state = std::move(new_state[g]);
  }
}

}  // namespace ember::optim
