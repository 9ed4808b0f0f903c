#pragma once
// train_mnist's --metrics file: one row per logged training step and one per epoch, as CSV
// (FILE.csv) or JSON Lines (FILE.jsonl), for plotting (scripts/plot_metrics) or a notebook.
//
//   kind,epoch,step,samples,loss,lr,test_loss,test_accuracy,seconds
//   train,1,1,64,2.30107,0.01,,,0.041           loss: that step's batch; seconds: since the epoch began
//   epoch,1,938,60000,,0.01,0.1021,96.87,21.3   test set after the epoch; seconds: train + test
//
// A resumed run keeps the rows up to its checkpoint (steps already taken, epochs already closed),
// drops those a stopped run wrote past it, and appends: the file then equals an uninterrupted
// run's, apart from the seconds. In FILE.jsonl a non-finite number (a diverged loss) is null.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ember/io/atomic_file.h"

namespace ember::examples {

struct MetricsRow {
  bool epoch_row = false;  // an epoch's summary; else a logged training step
  int64_t epoch = 0;       // 1-based
  int64_t step = 0;        // optimizer steps so far in the whole run
  int64_t samples = 0;     // training images seen so far in the whole run
  std::optional<double> loss, lr, test_loss, test_accuracy;
  double seconds = 0;
};

class MetricsLog {
 public:
  // Throws std::invalid_argument (for the program to name the flag) for an unknown extension.
  explicit MetricsLog(std::string path) : path_(std::move(path)) {
    std::string ext = std::filesystem::path(path_).extension().string();
    if (ext == ".jsonl" || ext == ".ndjson") json_ = true;
    else if (ext != ".csv")
      throw std::invalid_argument("expected a file name ending in .csv or .jsonl, found '" + path_ + "'");
  }

  // A new run starts the file afresh; a resumed one keeps the rows up to `step` steps and
  // `completed` epochs. The kept part is written to a temporary file and renamed over the old one.
  // Files are written as every output file is (io::AtomicFile): a FIFO, a device or a folder at
  // the path is refused before anything opens it, and each write is checked.
  void open(bool resuming, int64_t step, int64_t completed) {
    io::check_output_target(path_);  // before reading: opening a FIFO to read it would wait forever
    std::string kept = json_ ? "" : std::string(kHeader) + "\n";
    if (resuming && std::filesystem::exists(path_)) {
      uint64_t size = 0;
      int fd = io::open_regular_file(path_, size);
      std::string text(size_t(size), '\0');
      try {
        io::pread_exact(fd, text.data(), text.size(), 0, path_);
      } catch (...) {
        ::close(fd);
        throw;
      }
      ::close(fd);
      std::istringstream in(text);
      std::string line;
      while (std::getline(in, line)) {
        int64_t e = 0, s = 0;
        bool is_epoch = false;
        if (!parse_key(line, is_epoch, e, s)) continue;  // the CSV header, or a row cut short by a crash
        if (is_epoch ? e <= completed : s <= step) kept += line + "\n";
      }
    }
    io::write_file_atomically(path_, kept);
    out_ = std::make_unique<io::AppendFile>(path_);
  }

  void write(const MetricsRow& r) {
    std::ostringstream line;
    const char* kind = r.epoch_row ? "epoch" : "train";
    if (json_) {
      line << "{\"kind\":\"" << kind << "\",\"epoch\":" << r.epoch << ",\"step\":" << r.step
           << ",\"samples\":" << r.samples;
      auto field = [&](const char* name, const std::optional<double>& v) {
        if (v) line << ",\"" << name << "\":" << (std::isfinite(*v) ? num(*v) : "null");  // JSON has no NaN
      };
      field("loss", r.loss);
      field("lr", r.lr);
      field("test_loss", r.test_loss);
      field("test_accuracy", r.test_accuracy);
      line << ",\"seconds\":" << fixed3(r.seconds) << "}";
    } else {
      auto field = [&](const std::optional<double>& v) { line << "," << (v ? num(*v) : ""); };
      line << kind << "," << r.epoch << "," << r.step << "," << r.samples;
      field(r.loss);
      field(r.lr);
      field(r.test_loss);
      field(r.test_accuracy);
      line << "," << fixed3(r.seconds);
    }
    out_->append(line.str() + "\n");  // one write: a crash loses at most the row being written
  }

 private:
  static constexpr const char* kHeader = "kind,epoch,step,samples,loss,lr,test_loss,test_accuracy,seconds";

  static std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
  }
  static std::string fixed3(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
  }

  // kind, epoch and step of a row this class wrote; false for anything else.
  bool parse_key(const std::string& line, bool& is_epoch, int64_t& epoch, int64_t& step) const {
    if (line.empty() || (json_ ? line.back() != '}' : std::count(line.begin(), line.end(), ',') != 8)) return false;
    int n = 0;
    char kind[8] = {};
    long long e = 0, s = 0;
    if (json_) n = std::sscanf(line.c_str(), "{\"kind\":\"%7[a-z]\",\"epoch\":%lld,\"step\":%lld", kind, &e, &s);
    else n = std::sscanf(line.c_str(), "%7[a-z],%lld,%lld", kind, &e, &s);
    if (n != 3) return false;
    is_epoch = std::string(kind) == "epoch";
    if (!is_epoch && std::string(kind) != "train") return false;
    epoch = e, step = s;
    return true;
  }

  std::string path_;
  bool json_ = false;
  std::unique_ptr<io::AppendFile> out_;
};

}  // namespace ember::examples
