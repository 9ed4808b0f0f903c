#include "ember/nn/module.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>
#include <unordered_set>

#include "ember/core/autograd.h"
#include "ember/core/trace.h"
#include "ember/nn/options.h"

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define EMBER_HAS_CXXABI 1
#endif

namespace ember::nn {

// ---- number formatting ----

// Shortest round-trip digits and decimal exponent of v (v finite, nonzero): v = 0.d1d2d3... * 10^(exp+1).
static void shortest_digits(double v, std::string& digits, int& exp10) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string s(buf, res.ptr);  // "-1.2345e-05"
  size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  exp10 = std::stoi(s.substr(e + 1));
  digits.clear();
  for (char c : mant)
    if (c >= '0' && c <= '9') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
}

std::string py_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  std::string sign = v < 0 ? "-" : "";
  std::string digits;
  int exp10 = 0;
  shortest_digits(std::abs(v), digits, exp10);
  // Python's repr: fixed notation for 1e-4 <= |v| < 1e16, else scientific with a two-digit exponent.
  if (exp10 >= -4 && exp10 < 16) {
    std::string out;
    if (exp10 < 0) {
      out = "0." + std::string(size_t(-exp10 - 1), '0') + digits;
    } else if (int(digits.size()) <= exp10 + 1) {
      out = digits + std::string(size_t(exp10 + 1 - int(digits.size())), '0') + ".0";
    } else {
      out = digits.substr(0, size_t(exp10 + 1)) + "." + digits.substr(size_t(exp10 + 1));
    }
    return sign + out;
  }
  std::string mant = digits.substr(0, 1);
  if (digits.size() > 1) mant += "." + digits.substr(1);
  char ebuf[16];
  std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  return sign + mant + ebuf;
}

// ---- naming ----

std::string Module::name() const {
  std::string n = typeid(*this).name();
#ifdef EMBER_HAS_CXXABI
  int status = 0;
  char* demangled = abi::__cxa_demangle(n.c_str(), nullptr, nullptr, &status);
  if (status == 0 && demangled) n = demangled;
  std::free(demangled);
#endif
  // Drop namespaces ("ember::nn::Linear" -> "Linear"), but not inside template arguments.
  size_t angle = n.find('<');
  size_t colon = n.rfind("::", angle);
  if (colon != std::string::npos) n = n.substr(colon + 2);
  return n;
}

void Module::check_name(const std::string& name, const char* what) const {
  EMBER_CHECK(!name.empty(), this->name(), ": ", what, " name can't be empty");
  EMBER_CHECK(name.find('.') == std::string::npos, this->name(), ": ", what, " name can't contain \".\", found \"",
              name, "\"");
  bool taken = (parameters_.contains(name) && std::string(what) != "parameter") ||
               (buffers_.contains(name) && std::string(what) != "buffer") ||
               (children_.contains(name) && std::string(what) != "module");
  EMBER_CHECK(!taken, this->name(), ": can't register ", what, " \"", name,
              "\": the name is already used by another kind of entry");
}

// ---- registration ----

Tensor& Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "parameter");
  EMBER_CHECK(t.defined(), this->name(), ": parameter \"", name, "\" is undefined");
  EMBER_CHECK(t.is_leaf(), this->name(), ": parameter \"", name,
              "\" is not a leaf tensor (it was computed by an op); register t.detach()");
  t.requires_grad_(requires_grad);
  return parameters_.insert(name, std::move(t));
}

Tensor& Module::register_buffer(const std::string& name, Tensor t, bool persistent) {
  check_name(name, "buffer");
  EMBER_CHECK(t.defined(), this->name(), ": buffer \"", name, "\" is undefined");
  return buffers_.insert(name, Buffer{std::move(t), persistent}).tensor;
}

Module& Module::register_module(const std::string& name, Module& child) {
  add_child(name, &child, nullptr);
  return child;
}

void Module::add_child(const std::string& name, Module* child, std::shared_ptr<Module> owned) {
  check_name(name, "module");
  EMBER_CHECK(child != this, this->name(), ": can't register a module as its own child \"", name, "\"");
  children_.insert(name, Child{child, std::move(owned)});
  child->registered_ = true;
}

// ---- running ----

namespace {
// The modules whose operator() is running on this thread, outermost first.
thread_local std::vector<const Module*> t_calls;

bool has_state(Module& m) {
  for (Module* d : m.modules()) {
    if (!d->named_parameters(false).empty() || !d->named_buffers(false).empty()) return true;
  }
  return false;
}
}  // namespace

Tensor Module::forward(const Tensor& x) {
  EMBER_FAIL(name(), " has no forward(const Tensor&): declare `Tensor forward(const Tensor& x)` in it ",
             "(a module whose forward takes other arguments is called by that forward directly)");
}

Tensor Module::operator()(const Tensor& x) {
  if (!t_calls.empty() && !registered_ && has_state(*this)) {
    EMBER_FAIL(name(), " was called inside ", t_calls.back()->name(), "'s forward but was never registered: ",
               "its parameters and buffers are missing from parameters(), state_dict() and the optimizer. ",
               "Register it in the constructor of ", t_calls.back()->name(),
               " with register_module(\"<name>\", <member>)");
  }
  t_calls.push_back(this);
  struct Pop {
    ~Pop() { t_calls.pop_back(); }
  } pop;
  trace::ModuleScope scope(this);  // exporters name the module an op was called in
  return forward(x);
}

// ---- access ----

// PyTorch's _named_members: modules in pre-order, each module and each tensor once (a module or a
// parameter registered under two names, as tied weights, is listed under the first).
template <class F>
static void visit_modules(const Module* m, const std::string& prefix, std::unordered_set<const Module*>& seen,
                          const F& fn) {
  if (!seen.insert(m).second) return;
  fn(prefix, m);
  for (const auto& [n, c] : m->named_children()) visit_modules(c, prefix.empty() ? n : prefix + "." + n, seen, fn);
}

NamedList<Tensor> Module::named_parameters(bool recurse) const {
  NamedList<Tensor> out;
  std::unordered_set<const TensorImpl*> seen_tensors;
  std::unordered_set<const Module*> seen;
  auto own = [&](const std::string& prefix, const Module* m) {
    for (const auto& [n, p] : m->parameters_)
      if (seen_tensors.insert(p.impl()).second) out.emplace_back(prefix.empty() ? n : prefix + "." + n, p);
  };
  if (recurse)
    visit_modules(this, "", seen, own);
  else
    own("", this);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

NamedList<Tensor> Module::named_buffers(bool recurse) const {
  NamedList<Tensor> out;
  std::unordered_set<const TensorImpl*> seen_tensors;
  std::unordered_set<const Module*> seen;
  auto own = [&](const std::string& prefix, const Module* m) {
    for (const auto& [n, b] : m->buffers_)
      if (seen_tensors.insert(b.tensor.impl()).second) out.emplace_back(prefix.empty() ? n : prefix + "." + n, b.tensor);
  };
  if (recurse)
    visit_modules(this, "", seen, own);
  else
    own("", this);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, b] : named_buffers(recurse)) out.push_back(b);
  return out;
}

NamedList<Module*> Module::named_children() const {
  NamedList<Module*> out;
  std::unordered_set<const Module*> seen;
  for (const auto& [n, c] : children_)
    if (seen.insert(c.module).second) out.emplace_back(n, c.module);
  return out;
}

std::vector<Module*> Module::children() const {
  std::vector<Module*> out;
  for (auto& [n, c] : named_children()) out.push_back(c);
  return out;
}

NamedList<Module*> Module::named_modules(const std::string& prefix) {
  NamedList<Module*> out;
  std::unordered_set<const Module*> seen;
  visit_modules(this, prefix, seen,
                [&](const std::string& name, const Module* m) { out.emplace_back(name, const_cast<Module*>(m)); });
  return out;
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out;
  for (auto& [n, m] : named_modules()) out.push_back(m);
  return out;
}

Tensor& Module::parameter(const std::string& n) {
  Tensor* t = parameters_.find(n);
  EMBER_CHECK(t, name(), " has no parameter \"", n, "\"");
  return *t;
}

Tensor& Module::buffer(const std::string& n) {
  Buffer* b = buffers_.find(n);
  EMBER_CHECK(b, name(), " has no buffer \"", n, "\"");
  return b->tensor;
}

Module& Module::child(const std::string& n) {
  Child* c = children_.find(n);
  EMBER_CHECK(c, name(), " has no child module \"", n, "\"");
  return *c->module;
}

// ---- modes ----

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c.module->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none)
      p.set_grad(Tensor());
    else
      g.zero_();
  }
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [n, c] : children_) c.module->apply(fn);
  fn(*this);
  return *this;
}

// Replaces t's storage with a copy on `device`, keeping the handle (TensorImpl) the same object.
static void move_storage(const Tensor& t, Device device) {
  if (!t.defined() || t.device() == device) return;
  Tensor moved = t.detach().to(device);
  t.impl()->storage = moved.impl()->storage;
  t.impl()->offset = moved.impl()->offset;
}

Module& Module::to(Device device) {
  NoGradGuard no_grad;
  for (Module* m : modules()) {
    for (auto& [n, p] : m->parameters_) {
      move_storage(p, device);
      if (p.impl()->grad) move_storage(Tensor(p.impl()->grad), device);
    }
    for (auto& [n, b] : m->buffers_) move_storage(b.tensor, device);
  }
  return *this;
}

// ---- state dicts ----

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& [n, p] : parameters_) out.insert(prefix + n, p.detach());
  for (const auto& [n, b] : buffers_)
    if (b.persistent) out.insert(prefix + n, b.tensor.detach());
  for (const auto& [n, c] : children_) c.module->collect_state(prefix + n + ".", out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

// Follows PyTorch's _load_from_state_dict: each module checks its own entries, then reports the keys
// under its prefix that name neither an own entry nor a child; then its children do the same.
void Module::match_state(const std::string& prefix, const StateDict& sd, LoadStateDictResult& result,
                         std::vector<std::string>& errors, std::vector<std::pair<Tensor, const Tensor*>>& copies) {
  auto local = [&](const std::string& n, const Tensor& t) {
    std::string key = prefix + n;
    const Tensor* src = sd.find(key);
    if (!src) {
      result.missing_keys.push_back(key);
      return;
    }
    if (!src->defined()) {
      errors.push_back("undefined tensor for " + key + " in the state dict");
    } else if (src->shape() != t.shape()) {
      errors.push_back("size mismatch for " + key + ": copying a param with shape " + shape_str(src->shape()) +
                       " from checkpoint, the shape in current model is " + shape_str(t.shape()) + ".");
    } else {
      copies.emplace_back(t, src);
    }
  };
  for (auto& [n, p] : parameters_) local(n, p);
  for (auto& [n, b] : buffers_)
    if (b.persistent) local(n, b.tensor);

  for (const auto& [key, t] : sd) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = key.substr(prefix.size());
    std::string first = rest.substr(0, rest.find('.'));
    bool own = parameters_.contains(first) || (buffers_.contains(first) && buffers_.find(first)->persistent);
    if (!children_.contains(first) && !own) result.unexpected_keys.push_back(key);
  }
  for (auto& [n, c] : children_) c.module->match_state(prefix + n + ".", sd, result, errors, copies);
}

static std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? ", \"" : "\"") + keys[i] + "\"";
  return out;
}

LoadStateDictResult Module::load_state_dict(const StateDict& sd, bool strict) {
  LoadStateDictResult result;
  std::vector<std::string> errors;
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  match_state("", sd, result, errors, copies);
  if (strict) {
    if (!result.unexpected_keys.empty())
      errors.insert(errors.begin(), "Unexpected key(s) in state_dict: " + quoted_list(result.unexpected_keys) + ".");
    if (!result.missing_keys.empty())
      errors.insert(errors.begin(), "Missing key(s) in state_dict: " + quoted_list(result.missing_keys) + ".");
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for " + name() + ":";
    for (const auto& e : errors) msg += "\n\t" + e;
    EMBER_FAIL(msg);
  }
  NoGradGuard no_grad;
  for (auto& [dst, src] : copies)
    if (dst.raw_data() != src->raw_data() || dst.dtype() != src->dtype()) dst.copy_(*src);
  return result;
}

// ---- printing ----

// Indents every line but the first by two spaces (PyTorch's _addindent).
static std::string add_indent(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

std::string Module::repr() const {
  std::vector<std::string> extra_lines, child_lines;
  std::string extra = extra_repr();
  if (!extra.empty()) {
    std::istringstream in(extra);
    for (std::string line; std::getline(in, line);) extra_lines.push_back(line);
  }
  for (const auto& [n, c] : children_) child_lines.push_back("(" + n + "): " + add_indent(c.module->repr()));
  std::string out = name() + "(";
  if (extra_lines.size() == 1 && child_lines.empty()) {
    out += extra_lines[0];
  } else if (!extra_lines.empty() || !child_lines.empty()) {
    out += "\n";
    for (const auto& l : extra_lines) out += "  " + l + "\n";
    for (const auto& l : child_lines) out += "  " + l + "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.repr(); }

}  // namespace ember::nn
