#pragma once
// The reader of PyTorch's zip checkpoints (pth.h describes the layout), private to Ember: users open
// any checkpoint through io::open_checkpoint (io/interop/serialize.h).
#include <memory>
#include <string>
#include <vector>

#include "ember/io/checkpoint_reader.h"
#include "ember/io/interop/pickle.h"
#include "ember/io/interop/zip.h"

namespace ember::io {

class PthReader final : public CheckpointReader {
 public:
  // Opens `path` and validates the archive, the pickle and every tensor's place in its storage;
  // reads no tensor data.
  explicit PthReader(const std::string& path);
  ~PthReader() override;
  PthReader(const PthReader&) = delete;
  PthReader& operator=(const PthReader&) = delete;

  std::string format() const override { return "pytorch zip (pickle protocol " + std::to_string(protocol_) + ")"; }
  const std::string& path() const override { return path_; }
  uint64_t file_size() const override { return file_size_; }
  const Value& skeleton() const override { return skeleton_; }
  // A tensor's checksum is the zip CRC32 of the whole storage record it views.
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Tensor read_tensor(size_t i) override;
  std::string check_tensor(size_t i) override;

 private:
  void verify_record(size_t storage);  // throws if the record's CRC32 does not match

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  std::unique_ptr<ZipReader> zip_;
  int protocol_ = 0;
  bool big_endian_ = false;
  Value skeleton_;
  std::vector<TensorInfo> tensors_;
  std::vector<pickle::StorageRef> storages_;
  std::vector<const ZipEntry*> records_;  // per storage
  std::vector<pickle::TensorRef> views_;  // per tensor
  std::vector<uint8_t> verified_;         // per storage: its CRC32 has been checked
};

}  // namespace ember::io
