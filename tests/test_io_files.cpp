// Files as the system sees them: a save keeps the replaced file's permissions and owner; the
// temporary files of interrupted saves are never taken for checkpoints and are removed by the next
// save; no two tensors share a name; odd paths are refused by name; a training run killed while
// it saves leaves only whole checkpoints, the newest of which resumes; a full or read-only file
// system fails a save cleanly and keeps the previous file.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <thread>

#include "ember/io/atomic_file.h"
#include "ember/io/interop/pth.h"
#include "ember/io/interop/safetensors.h"
#include "ember/io/interop/serialize.h"
#include "interop_helpers.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

Tensor floats(std::vector<float> v) { return from_vector(v, {int64_t(v.size())}); }
std::string str_of(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

// A process id that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

using Saver = void (*)(const Value&, const std::string&);
void save_native(const Value& v, const std::string& p) { save(v, p); }
void save_as_pth(const Value& v, const std::string& p) { save_pth(v, p); }
void save_as_st(const Value& v, const std::string& p) { save_safetensors(v, p); }

}  // namespace

TEST_CASE("a save over an existing file keeps its permission bits, in every format") {
  ScratchDir dir("perm");
  Value sd = Value::dict({{"w", Value(floats({1, 2}))}});
  using Named = std::pair<const char*, Saver>;
  for (auto [name, saver] : {Named{"m.ember", save_native}, Named{"m.pth", save_as_pth}, Named{"m.safetensors", save_as_st}}) {
    std::string path = dir.file(name);
    saver(sd, path);
    for (mode_t m : {mode_t(0600), mode_t(0640), mode_t(0604), mode_t(0400)}) {
      ::chmod(path.c_str(), m);
      saver(sd, path);
      CHECK_MESSAGE(mode_of(path) == m, name, ": mode ", std::oct, mode_of(path), " after saving over mode ", m);
    }
    ::chmod(path.c_str(), 0644);
  }
  // A new file gets the usual 0666 less the umask.
  mode_t mask = ::umask(022);
  save(sd, dir.file("new.ember"));
  ::umask(mask);
  CHECK(mode_of(dir.file("new.ember")) == 0644);
}

TEST_CASE("a save over another user's file keeps its owner, where the process may set it") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: only root may give a file to another user");
    return;
  }
  ScratchDir dir("owner");
  std::string path = dir.file("m.ember");
  save(Value::dict({{"w", Value(floats({1}))}}), path);
  REQUIRE(::chown(path.c_str(), 1234, 4321) == 0);
  save(Value::dict({{"w", Value(floats({2}))}}), path);
  struct stat st {};
  ::stat(path.c_str(), &st);
  CHECK(st.st_uid == 1234);
  CHECK(st.st_gid == 4321);
}

TEST_CASE("an interrupted save's temporary file never loads and the next save removes it") {
  ScratchDir dir("temps");
  std::string target = dir.file("m.ember");
  Value v = Value::dict({{"w", Value(floats({1, 2, 3}))}});
  save(v, target);
  // As a save killed after its last write and before its rename leaves it: a whole checkpoint.
  std::string stale = dir.file(".m.ember.tmp-" + std::to_string(dead_pid()) + "-0");
  std::string live = dir.file(".m.ember.tmp-1-0");  // pid 1 is running: a save in progress
  std::string other = dir.file(".n.ember.tmp-" + std::to_string(dead_pid()) + "-0");  // another target's
  for (const std::string& p : {stale, live, other}) fs::copy_file(target, p);
  CHECK(contains(error_of([&] { load(stale); }), "temporary file of a save that did not finish"));
  CHECK(contains(error_of([&] { io::open_checkpoint(stale); }), "not a checkpoint"));
  CHECK(io::is_temporary_save(stale));
  CHECK_FALSE(io::is_temporary_save(target));
  CHECK_FALSE(io::is_temporary_save(dir.file("m.tmp-ember")));
  save(v, target);
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));
  CHECK(fs::exists(other));
}

TEST_CASE("one name, one tensor: an empty key has a path of its own in every format") {
  ScratchDir dir("names");
  // {"": {"a": T1}, "a": T2}: joined bare, both tensors would be named "a" and T2 load T1's bytes.
  Value tree = Value::dict({{"", Value::dict({{"a", Value(floats({1}))}})}, {"a", Value(floats({2}))}});
  using Named = std::pair<const char*, Saver>;
  for (auto [name, saver] : {Named{"n.ember", save_native}, Named{"n.pth", save_as_pth}}) {
    std::string path = dir.file(name);
    saver(tree, path);
    Value back = load(path);
    CHECK_MESSAGE(tree_difference(tree, back) == "", name, ": ", tree_difference(tree, back));
    auto reader = io::open_checkpoint(path);
    REQUIRE(reader->tensors().size() == 2);
    CHECK(reader->tensors()[0].name != reader->tensors()[1].name);
    CHECK(io::find_path(reader->skeleton(), reader->tensors()[0].name).is_tensor());
  }
  CHECK(io::split_path("~2/a") == std::vector<std::string>{"", "a"});
  CHECK(io::child_path("", io::escape_key("")) == "~2");
  save_safetensors(Value::dict({{"", Value(floats({5}))}}), dir.file("n.safetensors"));
  CHECK(load(dir.file("n.safetensors")).at("").as_tensor().to_vector<float>() == std::vector<float>{5});
}

TEST_CASE("a list index in a path is a plain non-negative integer") {
  Value tree = Value::dict({{"l", Value::list({Value(int64_t(7)), Value(int64_t(8))})}});
  CHECK(io::find_path(tree, "l/0").as_int() == 7);
  CHECK(io::find_path(tree, "l/1").as_int() == 8);
  for (const char* bad : {"l/+0", "l/ 0", "l/00", "l/-0", "l/0 ", "l/1e0", "l/18446744073709551616", "l/"})
    CHECK_MESSAGE(contains(error_of([&] { io::find_path(tree, bad); }), "not found in list"), bad);
}

TEST_CASE("readers open regular files only, and say what else they were given") {
  ScratchDir dir("odd");
  std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Each would block or misbehave before: each must be refused at once.
  auto start = std::chrono::steady_clock::now();
  CHECK(contains(error_of([&] { load(fifo); }), "is a FIFO, not a regular file"));
  CHECK(contains(error_of([&] { load(dir.dir.string()); }), "is a folder, not a regular file"));
  CHECK(contains(error_of([&] { load("/dev/zero"); }), "is a device, not a regular file"));
  CHECK(contains(error_of([&] { load(dir.file("missing")); }), "No such file or directory"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

namespace {

const std::string kProgram = std::string(EMBER_BINARY_DIR) + "/bin/train_mnist";
const std::string kData = std::string(EMBER_SOURCE_DIR) + "/datasets/mnist";

// Starts train_mnist with `args` (output discarded) and returns its pid.
pid_t start_training(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> argv{const_cast<char*>(kProgram.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kProgram.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string verify_problem(const std::string& path) {
  try {
    auto reader = io::open_checkpoint(path);
    for (size_t i = 0; i < reader->tensors().size(); ++i) {
      std::string p = reader->check_tensor(i);
      if (!p.empty()) return p;
    }
    (void)load(path);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("kill and fill: a run killed while it saves every step leaves only whole checkpoints; the newest resumes") {
  if (!fs::exists(kProgram) || !fs::exists(kData)) {
    MESSAGE("skipped: needs ", kProgram, " and the MNIST files in ", kData);
    return;
  }
  ScratchDir dir("killfill");
  std::string ckpt = dir.file("ckpt");
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> after_ms(150, 900);
  const std::vector<std::string> common{"--data", kData, "--train-size", "512", "--test-size", "64", "--batch-size", "16",
                                        "--threads", "1", "--log-interval", "1000", "--checkpoint-dir", ckpt};
  int kills = 0, checked = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<std::string> args = common;
    for (const char* a : {"--epochs", "1000", "--save-every-steps", "1"}) args.push_back(a);
    pid_t pid = start_training(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(after_ms(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status);
    if (!fs::exists(ckpt)) continue;
    for (const auto& e : fs::directory_iterator(ckpt)) {
      std::string name = e.path().filename().string();
      if (name.size() < 6 || name.substr(name.size() - 6) != ".ember") continue;  // temporary files end otherwise
      ++checked;
      CHECK_MESSAGE(verify_problem(e.path().string()) == "", name, " after kill ", round);
      fs::remove(e.path());  // keep the folder small; the next round writes afresh
    }
  }
  CHECK(kills == 12);
  CHECK(checked > 0);
  MESSAGE(kills, " kills, ", checked, " checkpoint files verified");

  // A last run killed mid-save; the newest whole checkpoint must resume.
  std::vector<std::string> args = common;
  for (const char* a : {"--epochs", "1000", "--save-every-steps", "1"}) args.push_back(a);
  pid_t pid = start_training(args);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  int64_t newest = -1;
  for (const auto& e : fs::directory_iterator(ckpt)) {
    std::string name = e.path().filename().string();
    if (name.rfind("checkpoint_step_", 0) == 0 && name.size() > 6 && name.substr(name.size() - 6) == ".ember")
      newest = std::max<int64_t>(newest, std::stoll(name.substr(16, name.size() - 22)));
  }
  REQUIRE(newest > 0);
  std::string newest_file = ckpt + "/checkpoint_step_" + std::to_string(newest) + ".ember";
  Value state = load(newest_file);
  int64_t epoch = state.at("epoch").as_int();
  std::vector<std::string> resume = common;
  for (const std::string& a : {std::string("--resume"), newest_file, std::string("--epochs"), std::to_string(epoch + 1)})
    resume.push_back(a);
  CHECK(wait_exit(start_training(resume)) == 0);
}

namespace {
// A small tmpfs at `dir` (root only, where mounting is allowed); false if it cannot be mounted.
bool mount_tmpfs(const std::string& dir, const char* size) {
  return ::geteuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, (std::string("size=") + size).c_str()) == 0;
}
}  // namespace

TEST_CASE("a save to a full file system or a read-only folder fails clearly and keeps the previous file") {
  ScratchDir scratch("fill");
  std::string dir = scratch.file("fs");
  fs::create_directories(dir);
  if (!mount_tmpfs(dir, "256k")) {
    MESSAGE("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
    return;
  }
  struct Unmount {
    std::string d;
    ~Unmount() { ::umount2(d.c_str(), MNT_DETACH); }
  } unmount{dir};
  std::string path = dir + "/m.ember";
  Value small = Value::dict({{"w", Value(floats({1, 2, 3}))}});
  save(small, path);
  Value big = Value::dict({{"w", Value(zeros({200000}, kFloat32))}});  // 800 KB: more than the 256 KB there
  for (Saver saver : {Saver(save_native), Saver(save_as_pth), Saver(save_as_st)}) {
    std::string err = error_of([&] { saver(big, path); });
    CHECK_MESSAGE(contains(err, "No space left on device"), err);
    CHECK(contains(err, path));
    CHECK(tree_difference(load(path), small) == "");
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
    CHECK(left == std::vector<std::string>{"m.ember"});  // no temporary file left behind
  }
  REQUIRE(::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
  std::string err = error_of([&] { save(small, path); });
  CHECK_MESSAGE(contains(err, "Read-only file system"), err);
  CHECK(contains(err, "cannot create a temporary file"));
  CHECK(tree_difference(load(path), small) == "");
}

TEST_CASE("a resumed checkpoint's configuration, counters, lr state and optimizer state are checked, naming the key") {
  if (!fs::exists(kProgram) || !fs::exists(kData)) {
    MESSAGE("skipped: needs ", kProgram, " and the MNIST files in ", kData);
    return;
  }
  ScratchDir dir("resumecheck");
  std::vector<std::string> common{"--data", kData, "--train-size", "64", "--test-size", "32", "--batch-size", "16",
                                  "--threads", "1", "--momentum", "0.9", "--checkpoint-dir", dir.file("c")};
  std::vector<std::string> first = common;
  for (const char* a : {"--epochs", "1"}) first.push_back(a);
  REQUIRE(wait_exit(start_training(first)) == 0);
  const std::string good = dir.file("c/checkpoint_epoch_1.ember");
  REQUIRE(fs::exists(good));
  Value base = load(good);
  REQUIRE(base.at("optimizer_state_dict").at("state").size() > 0);
  std::string first_param = base.at("optimizer_state_dict").at("state").as_dict().keys()[0];

  struct Bad {
    const char* key;  // what the error must name
    std::function<void(Value&)> edit;
  };
  const double nan = std::nan(""), inf = INFINITY;
  std::vector<Bad> bad{
      {"config/gamma", [&](Value& v) { v["config"]["gamma"] = nan; }},
      {"config/lr", [&](Value& v) { v["config"]["lr"] = inf; }},
      {"config/batch_size", [&](Value& v) { v["config"]["batch_size"] = int64_t(0); }},
      {"config/dataset", [&](Value& v) { v["config"]["dataset"] = "imagenet"; }},
      {"\"epoch\"", [&](Value& v) { v["epoch"] = int64_t(-1); }},
      {"\"step\"", [&](Value& v) { v["step"] = INT64_MAX; }},
      {"data_loader/batch", [&](Value& v) { v["data_loader"]["batch"] = int64_t(-5); }},
      {"scheduler_state_dict/_last_lr/0", [&](Value& v) { v["scheduler_state_dict"]["_last_lr"].as_list()[0] = nan; }},
      {"optimizer_state_dict/param_groups/0/lr",
       [&](Value& v) { v["optimizer_state_dict"]["param_groups"].as_list()[0]["lr"] = nan; }},
      {"momentum_buffer\" must be a floating-point tensor, found a tensor of uint8",
       [&](Value& v) {
         Value& buf = v["optimizer_state_dict"]["state"][first_param]["momentum_buffer"];
         buf = Value(buf.as_tensor().to(kUInt8));
       }},
      {"momentum_buffer\" must be a floating-point tensor, found a tensor of int64",
       [&](Value& v) {
         Value& buf = v["optimizer_state_dict"]["state"][first_param]["momentum_buffer"];
         buf = Value(buf.as_tensor().to(kInt64));
       }},
  };
  for (const Bad& b : bad) {
    Value edited = base;
    b.edit(edited);
    std::string path = dir.file("bad.ember");
    save(edited, path);
    std::string out_path = dir.file("out.txt");
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<std::string> args = common;
      for (const std::string& a : {std::string("--resume"), path, std::string("--epochs"), std::string("2")}) args.push_back(a);
      std::vector<char*> argv{const_cast<char*>(kProgram.c_str())};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(kProgram.c_str(), argv.data());
      ::_exit(127);
    }
    int code = wait_exit(pid);
    std::string out = str_of(read_bytes(out_path));
    CHECK_MESSAGE(code == 1, b.key, ": exit ", code, ": ", out);
    CHECK_MESSAGE(contains(out, b.key), b.key, " not named in: ", out);
    CHECK_MESSAGE(!contains(out, "Train Epoch"), b.key, ": training started: ", out);
  }
}

// Issue 25: every output file goes through io::AtomicFile, which refuses a target that is not a
// regular file before it opens or creates anything (a FIFO would block, a device would be replaced
// by a regular file: as root, /dev/null itself).
TEST_CASE("every writer refuses a FIFO, a device or a folder at the target, at once, and leaves it as it was") {
  ScratchDir dir("out_odd");
  std::string fifo = dir.file("fifo.ember");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Value v = Value::dict({{"w", Value(floats({1, 2}))}});
  auto start = std::chrono::steady_clock::now();
  for (Saver saver : {Saver(save_native), Saver(save_as_pth), Saver(save_as_st)})
    CHECK(contains(error_of([&] { saver(v, fifo); }), "save: " + fifo + ": is a FIFO, not a regular file; refusing"));
  CHECK(contains(error_of([&] { io::write_file_atomically(fifo, "x"); }), fifo + ": is a FIFO"));
  CHECK(contains(error_of([&] { io::AppendFile a(fifo); }), fifo + ": is a FIFO"));
  CHECK(contains(error_of([&] { save(v, dir.dir.string()); }), ": is a folder, not a regular file"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  // A link to a FIFO is refused as the FIFO is.
  REQUIRE(::symlink(fifo.c_str(), dir.file("link.ember").c_str()) == 0);
  CHECK(contains(error_of([&] { save(v, dir.file("link.ember")); }), "is a FIFO"));
  // /dev/null is only looked at (stat), never opened: the check alone.
  CHECK(contains(error_of([&] { io::check_output_target("/dev/null"); }), "/dev/null: is a character device"));
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  // A device of our own (root only), the twin of /dev/null: refused by every writer, still a device.
  std::string dev = dir.file("null.ember");
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    MESSAGE("skipped the device case: mknod needs root");
  } else {
    for (Saver saver : {Saver(save_native), Saver(save_as_pth), Saver(save_as_st)})
      CHECK(contains(error_of([&] { saver(v, dev); }), dev + ": is a character device, not a regular file"));
    CHECK(contains(error_of([&] { io::write_file_atomically(dev, "x"); }), "is a character device"));
    REQUIRE(::lstat(dev.c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
  }
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left.size() == (fs::exists(dev) ? 3u : 2u));  // no temporary file was made
}

TEST_CASE("a symbolic link planted at a temporary file's name is never followed") {
  ScratchDir dir("out_link");
  std::string victim = dir.file("victim.txt"), target = dir.file("m.txt");
  io::write_file_atomically(victim, "precious\n");
  // At every name of the first thousand saves of this process: O_EXCL refuses each, the name jumps.
  for (int n = 0; n < 1000; ++n) {
    std::string name = dir.file(".m.txt.tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n));
    REQUIRE(::symlink(victim.c_str(), name.c_str()) == 0);
  }
  io::write_file_atomically(target, "new\n");
  CHECK(str_of(read_bytes(target)) == "new\n");
  CHECK(str_of(read_bytes(victim)) == "precious\n");
  struct stat st {};
  REQUIRE(::lstat(target.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
}

TEST_CASE("write_file_atomically and AppendFile: mode kept, every write checked, a full disk keeps the old file") {
  ScratchDir scratch("out_full");
  std::string plain = scratch.file("p.txt");
  io::write_file_atomically(plain, "one\n");
  ::chmod(plain.c_str(), 0600);
  io::write_file_atomically(plain, "two\n");
  CHECK(mode_of(plain) == 0600);
  {
    io::AppendFile log(plain);
    log.append("three\n");
  }
  CHECK(str_of(read_bytes(plain)) == "two\nthree\n");

  std::string dir = scratch.file("fs");
  fs::create_directories(dir);
  if (!mount_tmpfs(dir, "64k")) {
    MESSAGE("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
    return;
  }
  struct Unmount {
    std::string d;
    ~Unmount() { ::umount2(d.c_str(), MNT_DETACH); }
  } unmount{dir};
  std::string path = dir + "/p.txt";
  io::write_file_atomically(path, "old\n");
  std::string err = error_of([&] { io::write_file_atomically(path, std::string(200000, 'x')); });
  CHECK_MESSAGE(contains(err, "No space left on device"), err);
  CHECK(contains(err, path));
  CHECK(str_of(read_bytes(path)) == "old\n");
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  CHECK(left == std::vector<std::string>{"p.txt"});
  io::AppendFile log(path);
  err = error_of([&] { for (int i = 0; i < 100; ++i) log.append(std::string(4096, 'y')); });
  CHECK_MESSAGE(contains(err, "No space left on device"), err);
  CHECK(contains(err, path));
}

// Issue 25: --metrics and --predictions on a full disk exited 0 with an empty file.
TEST_CASE("train_mnist on a full file system: --predictions and --metrics fail, the previous files intact") {
  if (!fs::exists(kProgram) || !fs::exists(kData)) {
    MESSAGE("skipped: needs ", kProgram, " and the MNIST files in ", kData);
    return;
  }
  ScratchDir scratch("out_full_run");
  std::string dir = scratch.file("fs");
  fs::create_directories(dir);
  if (!mount_tmpfs(dir, "64k")) {
    MESSAGE("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
    return;
  }
  struct Unmount {
    std::string d;
    ~Unmount() { ::umount2(d.c_str(), MNT_DETACH); }
  } unmount{dir};
  io::write_file_atomically(dir + "/p.txt", "old\n");
  io::write_file_atomically(dir + "/m.csv", "old\n");
  {
    int fd = ::open((dir + "/filler").c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    std::string block(4096, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    ::close(fd);
  }
  const std::string common = kProgram + " --data " + kData + " --train-size 64 --test-size 32 --batch-size 16 --epochs 1 ";
  for (const std::string& flag : {"--predictions " + dir + "/p.txt", "--metrics " + dir + "/m.csv"}) {
    ShellResult r = run_shell("timeout 60 " + common + flag);
    INFO(flag << "\n" << r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, "No space left on device"));
    CHECK(!contains(r.output, "Wrote 32 predictions"));
  }
  CHECK(str_of(read_bytes(dir + "/p.txt")) == "old\n");
  CHECK(str_of(read_bytes(dir + "/m.csv")) == "old\n");
}
