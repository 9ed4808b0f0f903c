#pragma once
// A small command-line parser for the example programs: --name value, --name=value, boolean
// --name / --no-name, and --help. Programs print and exit; the library never does.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace ember::examples {

class Flags {
 public:
  Flags(std::string program, std::string about) : program_(std::move(program)), about_(std::move(about)) {}

  void add(const std::string& name, std::string& field, const std::string& help) {
    flags_.push_back({name, help, "'" + field + "'", false, [&field](const std::string& v) {
                        field = v;
                        return std::string();
                      }});
  }
  void add(const std::string& name, int64_t& field, const std::string& help) {
    flags_.push_back({name, help, std::to_string(field), false, [&field](const std::string& v) {
                        char* end = nullptr;
                        errno = 0;
                        long long x = std::strtoll(v.c_str(), &end, 10);
                        if (v.empty() || *end) return "invalid value '" + v + "', expected a whole number";
                        if (errno == ERANGE) return "'" + v + "' is out of range for a 64-bit integer";
                        field = x;
                        return std::string();
                      }});
  }
  void add(const std::string& name, double& field, const std::string& help) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", field);
    flags_.push_back({name, help, buf, false, [&field](const std::string& v) {
                        char* end = nullptr;
                        double x = std::strtod(v.c_str(), &end);
                        if (v.empty() || *end) return "invalid value '" + v + "', expected a number";
                        if (!std::isfinite(x)) return "invalid value '" + v + "', expected a finite number";
                        field = x;
                        return std::string();
                      }});
  }
  void add(const std::string& name, bool& field, const std::string& help) {
    flags_.push_back({name, help, field ? "on" : "off", true, [&field](const std::string& v) {
                        field = v == "1";
                        return std::string();
                      }});
  }

  void parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") usage(0);
      std::string name = arg, value;
      bool has_value = false;
      if (auto eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
      bool negated = name.rfind("--no-", 0) == 0;
      Flag* f = find(negated ? "--" + name.substr(5) : name);
      if (!f || (negated && !f->boolean)) {
        if (name.rfind("-", 0) != 0) fail("unexpected argument '" + arg + "' (flags start with --; see --help)");
        fail("unknown flag " + name + " (see --help)");
      }
      if (f->boolean) {
        if (has_value) fail(name + ": takes no value");
        f->set(negated ? "0" : "1");
      } else {
        if (!has_value) {
          if (i + 1 >= argc) fail(name + ": missing value");
          value = argv[++i];
        }
        if (std::string problem = f->set(value); !problem.empty()) fail(name + ": " + problem);
      }
      given_.insert(f->name);
    }
  }

  bool given(const std::string& name) const { return given_.count(name) > 0; }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    std::exit(2);
  }

  [[noreturn]] void usage(int code) const {
    std::printf("usage: %s [flags]\n%s\n\nflags:\n", program_.c_str(), about_.c_str());
    for (const Flag& f : flags_) {
      std::string left = f.name + (f.boolean ? "" : " VALUE");
      std::printf("  %-26s %s (default: %s)\n", left.c_str(), f.help.c_str(), f.default_text.c_str());
    }
    std::exit(code);
  }

 private:
  struct Flag {
    std::string name, help, default_text;
    bool boolean;
    std::function<std::string(const std::string&)> set;  // "" or what is wrong with the value
  };
  Flag* find(const std::string& name) {
    for (Flag& f : flags_)
      if (f.name == name) return &f;
    return nullptr;
  }
  std::string program_, about_;
  std::vector<Flag> flags_;
  std::set<std::string> given_;
};

}  // namespace ember::examples
