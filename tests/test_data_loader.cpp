// IDX reading (raw and gzip, and every way a file can be wrong), MNIST-format folders, and the
// DataLoader's batching, shuffling and exact resume.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "ember/data/dataloader.h"
#include "ember/data/idx.h"
#include "ember/data/md5.h"
#include "ember/data/mnist.h"
#include "helpers.h"

namespace fs = std::filesystem;
using namespace ember;
using namespace ember::data;
using ember::test::error_of;

namespace {

using Bytes = std::vector<uint8_t>;

// A fresh folder per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ember_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void put_be32(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

Bytes idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes out;
  put_be32(out, magic);
  for (uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// n images of rows x cols; pixel j of image i is (7 * i + j) % 256.
Bytes image_file(uint32_t n, uint32_t rows = 2, uint32_t cols = 3) {
  Bytes data;
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t j = 0; j < rows * cols; ++j) data.push_back(uint8_t((7 * i + j) % 256));
  return idx_bytes(0x803, {n, rows, cols}, data);
}

Bytes label_file(const Bytes& labels) { return idx_bytes(0x801, {uint32_t(labels.size())}, labels); }

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(f.good());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

Bytes prefix(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + std::ptrdiff_t(n)); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// In-memory dataset: image i is filled with i % 256, its label is i, so a batch names its rows.
ImageDataset counting_dataset(int64_t n, int64_t h = 2, int64_t w = 2) {
  Tensor images = empty({n, h, w}, kUInt8);
  uint8_t* p = images.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) std::fill(p + i * h * w, p + (i + 1) * h * w, uint8_t(i % 256));
  return ImageDataset(images, arange(n), MNIST::kMean, MNIST::kStd);
}

// The targets of every batch of one pass, checking each batch's rows against its targets.
std::vector<std::vector<int64_t>> one_pass(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (Batch& b : loader) {
    std::vector<int64_t> t = b.target.to_vector<int64_t>();
    REQUIRE(t == b.indices);
    out.push_back(t);
  }
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace

TEST_CASE("read_idx reads raw and gzip files, by content not by name") {
  TempDir dir;
  const Bytes images = image_file(4), labels = label_file({5, 0, 4, 1});
  write_raw(dir / "images", images);
  write_gz(dir / "images-gz", images);   // gzip without a .gz name
  write_raw(dir / "labels.gz", labels);  // raw despite its name
  for (const char* name : {"images", "images-gz"}) {
    Tensor t = read_idx_images(dir / name);
    CHECK(t.dtype() == kUInt8);
    CHECK(t.shape() == Shape{4, 2, 3});
    CHECK(t.to_vector<uint8_t>() == Bytes(images.begin() + 16, images.end()));
  }
  Tensor l = read_idx_labels(dir / "labels.gz");
  CHECK(l.shape() == Shape{4});
  CHECK(l.to_vector<int64_t>() == std::vector<int64_t>{5, 0, 4, 1});

  // Zero items is a valid (empty) file.
  write_raw(dir / "empty", image_file(0, 28, 28));
  CHECK(read_idx_images(dir / "empty").shape() == Shape{0, 28, 28});

  // Found by fuzz_idx under UBSan: sizes whose product overflows int64 before a later 0 makes it 0.
  // Zero elements, and no signed overflow on the way (the fuzz build checks that).
  const Bytes huge_empty{0, 0, 8, 3, 0xe7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
  Tensor none = parse_idx(huge_empty.data(), huge_empty.size(), "mem", IdxKind::Images);
  CHECK(none.numel() == 0);
  CHECK(none.shape() == Shape{3892314111, 4294967167, 0});

  // The in-memory entry point applies the same checks.
  CHECK(parse_idx(labels.data(), labels.size(), "mem", IdxKind::Labels).numel() == 4);
  CHECK(error_of([&] { parse_idx(labels.data(), 7, "mem", IdxKind::Labels); }) ==
        "mem: truncated at byte 7: the IDX header of labels needs 8 bytes, found 7");
}

TEST_CASE("read_idx errors name the file and the byte offset") {
  TempDir dir;
  const Bytes images = image_file(3);  // 16-byte header + 18 bytes of data

  SUBCASE("missing file") {
    CHECK(error_of([&] { read_idx_images(dir / "train-images-idx3-ubyte"); }) ==
          "cannot open " + (dir / "train-images-idx3-ubyte") + ": No such file or directory");
    CHECK(contains(error_of([&] { read_idx_images(dir.path.string()); }), "Is a directory"));
  }
  SUBCASE("wrong magic") {
    Bytes bad = images;
    bad[3] = 0x02;
    write_raw(dir / "f", bad);
    CHECK(error_of([&] { read_idx_images(dir / "f"); }) ==
          dir / "f" + ": bad IDX magic 0x00000802 at byte 0, expected 0x00000803 (images)");
    write_raw(dir / "labels", label_file({1, 2}));
    CHECK(error_of([&] { read_idx_images(dir / "labels"); }) ==
          dir / "labels" + ": bad IDX magic 0x00000801 at byte 0, expected 0x00000803 (images)");
    CHECK(error_of([&] { read_idx_labels(dir / "f"); }) ==
          dir / "f" + ": bad IDX magic 0x00000802 at byte 0, expected 0x00000801 (labels)");
    Bytes int_type = images;  // element type 0x0c (int32) is not read
    int_type[2] = 0x0c;
    write_gz(dir / "g", int_type);
    CHECK(error_of([&] { read_idx_images(dir / "g"); }) ==
          dir / "g" + ": bad IDX magic 0x00000c03 at byte 0 of the decompressed data, expected 0x00000803 (images)");
  }
  SUBCASE("truncated in the header") {
    for (size_t cut : {size_t(0), size_t(2), size_t(4), size_t(9), size_t(15)}) {
      CAPTURE(cut);
      write_raw(dir / "f", prefix(images, cut));
      CHECK(error_of([&] { read_idx_images(dir / "f"); }) ==
            dir / "f" + ": truncated at byte " + std::to_string(cut) + ": the IDX header of images needs 16 bytes, found " +
                std::to_string(cut));
      write_gz(dir / "f.gz", prefix(images, cut));
      CHECK(error_of([&] { read_idx_images(dir / "f.gz"); }) ==
            dir / "f.gz" + ": truncated at byte " + std::to_string(cut) +
                " of the decompressed data: the IDX header of images needs 16 bytes, found " + std::to_string(cut));
    }
  }
  SUBCASE("truncated in the data") {
    for (size_t cut : {size_t(16), size_t(17), size_t(25), size_t(33)}) {
      CAPTURE(cut);
      const std::string found = std::to_string(cut - 16);
      write_raw(dir / "f", prefix(images, cut));
      CHECK(error_of([&] { read_idx_images(dir / "f"); }) ==
            dir / "f" + ": truncated at byte " + std::to_string(cut) + ": header promises 18 bytes of data, found " + found);
      write_gz(dir / "f.gz", prefix(images, cut));
      CHECK(error_of([&] { read_idx_images(dir / "f.gz"); }) ==
            dir / "f.gz" + ": truncated at byte " + std::to_string(cut) +
                " of the decompressed data: header promises 18 bytes of data, found " + found);
    }
    // A header promising far more than the file holds is refused before anything is allocated.
    write_raw(dir / "big", idx_bytes(0x803, {60000, 28, 28}, Bytes(100, 0)));
    CHECK(error_of([&] { read_idx_images(dir / "big"); }) ==
          dir / "big" + ": truncated at byte 116: header promises 47040000 bytes of data, found 100");
  }
  SUBCASE("sizes beyond the limit or overflowing") {
    write_raw(dir / "f", idx_bytes(0x803, {0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
    CHECK(error_of([&] { read_idx_images(dir / "f"); }) ==
          dir / "f" + ": the IDX sizes [4294967295, 4294967295, 4294967295] at byte 4 ask for more than 1073741824 bytes of data, the limit");
    write_gz(dir / "g", idx_bytes(0x803, {100000, 100, 200}, Bytes(10, 0)));
    CHECK(contains(error_of([&] { read_idx_images(dir / "g"); }), "the limit"));
  }
  SUBCASE("a cut, corrupt or padded gzip stream") {
    write_gz(dir / "f.gz", image_file(200));  // 1216 bytes decompressed
    const Bytes gz = read_all(dir / "f.gz");
    for (size_t cut : {size_t(12), gz.size() / 2, gz.size() - 4}) {
      CAPTURE(cut);
      write_raw(dir / "cut.gz", prefix(gz, cut));
      std::string msg = error_of([&] { read_idx_images(dir / "cut.gz"); });
      CHECK(contains(msg, dir / "cut.gz" + ": truncated at byte "));
      CHECK(contains(msg, " of the decompressed data: the gzip stream stops before its end (file cut short at byte " +
                              std::to_string(cut) + ")"));
    }
    // Cut inside the trailer: all the data came out, the offset is its end.
    write_raw(dir / "cut.gz", prefix(gz, gz.size() - 4));
    CHECK(contains(error_of([&] { read_idx_images(dir / "cut.gz"); }), "truncated at byte 1216 of the decompressed"));

    Bytes flipped = gz;  // a wrong CRC in the gzip trailer
    flipped[flipped.size() - 6] ^= 0xff;
    write_raw(dir / "crc.gz", flipped);
    CHECK(error_of([&] { read_idx_images(dir / "crc.gz"); }) ==
          dir / "crc.gz" + ": corrupt gzip data at byte 1216 of the decompressed data (file byte " +  // just past the CRC
              std::to_string(gz.size() - 4) + "): incorrect data check");
    Bytes padded = gz;
    padded.insert(padded.end(), {'x', 'y'});
    write_raw(dir / "pad.gz", padded);
    CHECK(error_of([&] { read_idx_images(dir / "pad.gz"); }) ==
          dir / "pad.gz" + ": unexpected data after the gzip stream at file byte " + std::to_string(gz.size()));
  }
  SUBCASE("trailing bytes") {
    Bytes longer = images;
    longer.insert(longer.end(), {1, 2, 3});
    write_raw(dir / "f", longer);
    CHECK(error_of([&] { read_idx_images(dir / "f"); }) ==
          dir / "f" + ": 3 trailing bytes at byte 34: header promises 18 bytes of data, found 21");
    write_gz(dir / "f.gz", longer);
    CHECK(error_of([&] { read_idx_images(dir / "f.gz"); }) ==
          dir / "f.gz" + ": trailing bytes at byte 34 of the decompressed data: header promises 18 bytes of data, and more follow");
  }
}

TEST_CASE("MNIST-format folders") {
  TempDir dir;
  Bytes labels(5);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(9 - i);
  write_raw(dir / "train-images-idx3-ubyte", image_file(5, 28, 28));
  write_raw(dir / "train-labels-idx1-ubyte", label_file(labels));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", image_file(3, 28, 28));
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", label_file({1, 2, 3}));

  SUBCASE("raw and gz files load; batches are normalised float32 (B, 1, 28, 28)") {
    MNIST train(dir.path.string(), true);
    MNIST test(dir.path.string(), false);
    CHECK(train.size() == 5);
    CHECK(test.size() == 3);
    CHECK(train.labels().dtype() == kInt64);
    CHECK(train.labels().to_vector<int64_t>() == std::vector<int64_t>{9, 8, 7, 6, 5});
    CHECK(train.images().shape() == Shape{5, 28, 28});
    Batch b = train.get_batch(std::vector<int64_t>{4, 0, 4});
    CHECK(b.data.dtype() == kFloat32);
    CHECK(b.data.shape() == Shape{3, 1, 28, 28});
    CHECK(b.target.to_vector<int64_t>() == std::vector<int64_t>{5, 9, 5});
    // Image 4's pixel j is (28 + j) % 256; image 0's is j.
    std::vector<float> v = b.data.to_vector<float>();
    for (int64_t j : {0, 100, 227, 783}) {
      CHECK(v[size_t(j)] == (float((28 + j) % 256) / 255.0f - 0.1307f) / 0.3081f);
      CHECK(v[size_t(784 + j)] == (float(j % 256) / 255.0f - 0.1307f) / 0.3081f);
    }
    CHECK(contains(error_of([&] { train.get_batch(std::vector<int64_t>{0, 5}); }),
                   "get_batch: index 5 at position 1 out of range for a dataset of 5 items"));
    FashionMNIST fashion(dir.path.string(), false);
    CHECK(fashion.mean() == FashionMNIST::kMean);
  }
  SUBCASE("image and label counts must agree") {
    write_raw(dir / "train-labels-idx1-ubyte", label_file({1, 2, 3, 4}));
    CHECK(error_of([&] { MNIST(dir.path.string(), true); }) ==
          "MNIST: " + (dir / "train-images-idx3-ubyte") + " holds 5 images but " + (dir / "train-labels-idx1-ubyte") +
              " holds 4 labels");
  }
  SUBCASE("labels out of range, wrong image size, missing files") {
    write_raw(dir / "train-labels-idx1-ubyte", label_file({1, 2, 3, 12, 4}));
    CHECK(error_of([&] { MNIST(dir.path.string(), true); }) ==
          "MNIST: " + (dir / "train-labels-idx1-ubyte") + ": label 12 at byte 11 is out of range [0, 10)");
    write_raw(dir / "train-labels-idx1-ubyte", label_file({1, 2, 3}));
    write_raw(dir / "train-images-idx3-ubyte", image_file(3, 32, 32));
    CHECK(contains(error_of([&] { FashionMNIST(dir.path.string(), true); }), "holds 32x32 images, expected 28x28"));
    fs::remove(dir / "t10k-labels-idx1-ubyte.gz");
    std::string msg = error_of([&] { MNIST(dir.path.string(), false); });
    CHECK(contains(msg, "MNIST: cannot open " + (dir / "t10k-labels-idx1-ubyte") + " (nor "));
    CHECK(contains(msg, "scripts/get_data.sh"));
  }
}

TEST_CASE("ImageDataset normalises as torchvision's ToTensor + Normalize") {
  Tensor images = from_vector<uint8_t>({0, 1, 128, 254, 255, 0}, {1, 2, 3});
  // From torch 1.13: (torch.tensor([...], dtype=uint8).float().div(255) - mean) / std in float32.
  std::vector<float> mnist = ImageDataset(images, from_vector<int64_t>({3}, {1}), MNIST::kMean, MNIST::kStd)
                                 .get_batch(std::vector<int64_t>{0}).data.to_vector<float>();
  CHECK(mnist == std::vector<float>{-0.4242129623889923f, -0.4114847183227539f, 1.2050011157989502f,
                                    2.808758497238159f, 2.821486711502075f, -0.4242129623889923f});
  std::vector<float> fashion = ImageDataset(images, from_vector<int64_t>({3}, {1}), FashionMNIST::kMean, FashionMNIST::kStd)
                                   .get_batch(std::vector<int64_t>{0}).data.to_vector<float>();
  CHECK(fashion == std::vector<float>{-0.8101983666419983f, -0.7990891337394714f, 0.6117870211601257f,
                                      2.0115537643432617f, 2.022662878036499f, -0.8101983666419983f});
  CHECK(contains(error_of([&] { ImageDataset(images, from_vector<int64_t>({3}, {1}), 0.5, 0.0); }), "std must be > 0"));
  CHECK(error_of([&] { ImageDataset(images, from_vector<int64_t>({3, 4}), 0.5, 0.5); }) ==
        "ImageDataset: 1 images but 2 labels");
}

TEST_CASE("DataLoader: batch counts, coverage and order") {
  ImageDataset ds = counting_dataset(10);
  CHECK(DataLoader(ds, DataLoaderOptions(3)).size() == 4);
  CHECK(DataLoader(ds, DataLoaderOptions(3).drop_last(true)).size() == 3);
  CHECK(DataLoader(ds, DataLoaderOptions(5).drop_last(true)).size() == 2);
  CHECK(DataLoader(ds, DataLoaderOptions(11).drop_last(true)).size() == 0);
  CHECK(DataLoader(ds, DataLoaderOptions(11)).size() == 1);
  CHECK(error_of([&] { DataLoader(ds, DataLoaderOptions(0)); }) == "DataLoader: invalid batch_size: 0 (must be >= 1)");

  SUBCASE("in order without shuffle; the short last batch kept or dropped") {
    DataLoader loader(ds, DataLoaderOptions(3));
    auto pass = one_pass(loader);
    CHECK(pass == std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}});
    CHECK(loader.epoch() == 1);
    DataLoader dropping(ds, DataLoaderOptions(3).drop_last(true));
    CHECK(one_pass(dropping) == std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}});
    Batch b;  // next() gives the same passes, with a false between epochs
    int batches = 0, falses = 0;
    for (int i = 0; i < 8; ++i) (dropping.next(b) ? batches : falses)++;
    CHECK(batches == 6);
    CHECK(falses == 2);
    CHECK(dropping.epoch() == 3);
  }
  SUBCASE("shuffled: every index once per epoch, a new order each epoch, reproducible from the seed") {
    ImageDataset big = counting_dataset(1000);
    DataLoader a(big, DataLoaderOptions(64).shuffle(true).seed(42));
    DataLoader b(big, DataLoaderOptions(64).shuffle(true).seed(42));
    DataLoader c(big, DataLoaderOptions(64).shuffle(true).seed(43));
    std::vector<std::vector<int64_t>> epochs;
    for (int e = 0; e < 3; ++e) {
      auto pa = one_pass(a);
      CHECK(pa.size() == 16);
      CHECK(pa.back().size() == 1000 - 15 * 64);
      std::vector<int64_t> order = flat(pa);
      std::vector<int64_t> sorted = order;
      std::sort(sorted.begin(), sorted.end());
      std::vector<int64_t> all(1000);
      std::iota(all.begin(), all.end(), 0);
      CHECK(sorted == all);
      CHECK(flat(one_pass(b)) == order);
      CHECK(flat(one_pass(c)) != order);
      epochs.push_back(order);
    }
    CHECK(epochs[0] != epochs[1]);
    CHECK(epochs[1] != epochs[2]);
    std::vector<int64_t> identity(1000);
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(epochs[0] != identity);
    // drop_last with shuffle: distinct rows, the remainder left out, a different remainder per epoch.
    DataLoader d(big, DataLoaderOptions(300).shuffle(true).drop_last(true).seed(1));
    std::set<int64_t> seen0, seen1;
    for (int64_t i : flat(one_pass(d))) seen0.insert(i);
    for (int64_t i : flat(one_pass(d))) seen1.insert(i);
    CHECK(seen0.size() == 900);
    CHECK(seen1.size() == 900);
    CHECK(seen0 != seen1);
  }
  SUBCASE("without a seed the order follows ember::manual_seed") {
    ImageDataset big = counting_dataset(200);
    manual_seed(7);
    DataLoader a(big, DataLoaderOptions(10).shuffle(true));
    DataLoader a2(big, DataLoaderOptions(10).shuffle(true));
    manual_seed(7);
    DataLoader b(big, DataLoaderOptions(10).shuffle(true));
    CHECK(a.state().generator.seed <= uint64_t(INT64_MAX));  // storable as a checkpoint int
    auto pa = flat(one_pass(a));
    CHECK(pa == flat(one_pass(b)));
    CHECK(pa != flat(one_pass(a2)));
  }
}

TEST_CASE("DataLoader state: restoring mid-epoch yields exactly the uninterrupted batches") {
  ImageDataset ds = counting_dataset(50);
  for (bool shuffle : {true, false}) {
    for (bool drop_last : {false, true}) {
      const DataLoaderOptions opts = DataLoaderOptions(7).shuffle(shuffle).drop_last(drop_last).seed(2024);
      const int64_t per_epoch = DataLoader(ds, opts).size();  // 8, or 7 with drop_last
      // Stop after k batches (through epoch boundaries), save, restore into a fresh loader.
      for (int64_t k : {int64_t(0), int64_t(1), int64_t(3), per_epoch - 1, per_epoch, per_epoch + 2, 2 * per_epoch}) {
        CAPTURE(shuffle);
        CAPTURE(drop_last);
        CAPTURE(k);
        DataLoader original(ds, opts);
        Batch b;
        for (int64_t taken = 0; taken < k;)
          if (original.next(b)) ++taken;
        const DataLoaderState saved = original.state();
        CHECK(saved.epoch == k / per_epoch);
        CHECK(saved.batch == k % per_epoch);

        // A loader with another seed: the state alone decides what comes next.
        DataLoader restored(ds, DataLoaderOptions(opts).seed(99));
        restored.set_state(saved);
        CHECK(restored.state() == saved);
        for (int pass = 0; pass < 3; ++pass) {
          CAPTURE(pass);
          CHECK(original.epoch() == restored.epoch());
          auto expected = one_pass(original);
          auto got = one_pass(restored);
          CHECK(got == expected);
          if (!expected.empty()) CHECK(int64_t(expected.size()) == per_epoch - (pass == 0 ? k % per_epoch : 0));
        }
        Batch x, y;  // pixels too, not just the rows' labels
        REQUIRE(original.next(x));
        REQUIRE(restored.next(y));
        CHECK(x.data.to_vector<float>() == y.data.to_vector<float>());
      }
    }
  }
  SUBCASE("a state taken inside the loop body resumes with the following batch") {
    DataLoader loader(ds, DataLoaderOptions(7).shuffle(true).seed(5));
    std::vector<std::vector<int64_t>> after;
    DataLoaderState saved, saved_last;
    int i = 0;
    for (Batch& b : loader) {
      if (i > 2) after.push_back(b.indices);
      if (i == 2) saved = loader.state();
      if (i == 7) saved_last = loader.state();  // after the epoch's last batch
      ++i;
    }
    CHECK(i == 8);
    CHECK(after.size() == 5);
    DataLoader again(ds, DataLoaderOptions(7).shuffle(true).seed(5));
    again.set_state(saved);
    CHECK(one_pass(again) == after);
    CHECK(saved_last == DataLoaderState{1, 0, saved_last.generator, 50, 7});  // with the sizes it means
    DataLoader last(ds, DataLoaderOptions(7).shuffle(true).seed(5));
    last.set_state(saved_last);
    CHECK(one_pass(last) == one_pass(loader));
  }
  SUBCASE("invalid states are refused") {
    DataLoader loader(ds, DataLoaderOptions(7));
    CHECK(error_of([&] { loader.set_state({0, 8, {}}); }) ==
          "DataLoader::set_state: batch 8 out of range [0, 8) for 8 batches per epoch (50 items, batch_size 7)");
    CHECK(error_of([&] { loader.set_state({-1, 0, {}}); }) == "DataLoader::set_state: invalid epoch -1");
    CHECK(loader.state() == DataLoaderState{0, 0, loader.state().generator, 50, 7});
  }
}

TEST_CASE("the real MNIST and Fashion-MNIST files, when present") {
  const std::string mnist_dir = std::string(EMBER_SOURCE_DIR) + "/datasets/mnist";
  if (find_raw_or_gz(mnist_dir + "/train-images-idx3-ubyte").empty()) {
    MESSAGE("skipped: no MNIST in " << mnist_dir << " (scripts/get_data.sh fetches it)");
  } else {
    MNIST train(mnist_dir, true), test(mnist_dir, false);
    CHECK(train.size() == 60000);
    CHECK(test.size() == 10000);
    CHECK(train.labels()[0].item<int64_t>() == 5);
    CHECK(test.labels()[0].item<int64_t>() == 7);
    // The hard-coded mean and std are the training set's.
    double sum = 0, sum2 = 0;
    const uint8_t* p = train.images().data<uint8_t>();
    for (int64_t i = 0; i < train.images().numel(); ++i) {
      double x = p[i] / 255.0;
      sum += x;
      sum2 += x * x;
    }
    const double n = double(train.images().numel()), mean = sum / n;
    CHECK(mean == doctest::Approx(MNIST::kMean).epsilon(1e-3));
    CHECK(std::sqrt(sum2 / n - mean * mean) == doctest::Approx(MNIST::kStd).epsilon(1e-3));
  }
  std::string fashion_dir = std::string(EMBER_SOURCE_DIR) + "/datasets/fashion-mnist";
  if (find_raw_or_gz(fashion_dir + "/train-images-idx3-ubyte").empty()) fashion_dir = "/usr/share/datasets/fashion-mnist";
  if (find_raw_or_gz(fashion_dir + "/train-images-idx3-ubyte").empty()) {
    MESSAGE("skipped: no Fashion-MNIST (scripts/get_data.sh --fashion installs it)");
  } else {
    FashionMNIST train(fashion_dir, true), test(fashion_dir, false);
    CHECK(train.size() == 60000);
    CHECK(test.size() == 10000);
    CHECK(train.labels()[0].item<int64_t>() == 9);
    double sum = 0, sum2 = 0;
    const uint8_t* p = train.images().data<uint8_t>();
    for (int64_t i = 0; i < train.images().numel(); ++i) {
      double x = p[i] / 255.0;
      sum += x;
      sum2 += x * x;
    }
    const double n = double(train.images().numel()), mean = sum / n;
    CHECK(mean == doctest::Approx(FashionMNIST::kMean).epsilon(1e-3));
    CHECK(std::sqrt(sum2 / n - mean * mean) == doctest::Approx(FashionMNIST::kStd).epsilon(1e-3));
  }
}

TEST_CASE("md5 matches RFC 1321's test suite and md5sum, fed in pieces or whole") {
  CHECK(md5_hex("", 0) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("abc", 3) == "900150983cd24fb0d6963f7d28e17f72");
  std::string digits = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
  CHECK(md5_hex(digits.data(), digits.size()) == "57edf4a22be3c955ac49da2e2107b67a");
  Md5 pieces;  // block boundaries crossed at odd places
  for (size_t i = 0; i < digits.size(); i += 7) pieces.update(digits.data() + i, std::min<size_t>(7, digits.size() - i));
  CHECK(pieces.hex_digest() == "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("a folder of the other dataset's published files is refused, naming both") {
  const std::string mnist_dir = std::string(EMBER_SOURCE_DIR) + "/datasets/mnist";
  REQUIRE_MESSAGE(!find_raw_or_gz(mnist_dir + "/t10k-labels-idx1-ubyte").empty(),
                  "MNIST is missing from " << mnist_dir << ": run scripts/get_data.sh (the test command does)");
  // The published MNIST test labels, asked for as Fashion-MNIST (what --dataset fashion-mnist
  // did with the default folder): the IDX headers agree, the digest does not.
  std::string msg = error_of([&] { FashionMNIST(mnist_dir, false); });
  CHECK(contains(msg, "FashionMNIST: " + mnist_dir + " holds MNIST, not Fashion-MNIST"));
  CHECK(contains(msg, "is the published MNIST test labels file (MD5 27ae3e4e09519cfbb04c329615203637)"));
  CHECK(contains(msg, "datasets/fashion-mnist"));
  CHECK(MNIST(mnist_dir, false).size() == 10000);

  // The other way round, where Debian's dataset-fashion-mnist is installed (its .gz files).
  const std::string fashion_dir = "/usr/share/datasets/fashion-mnist";
  if (!find_raw_or_gz(fashion_dir + "/t10k-labels-idx1-ubyte").empty()) {
    std::string m = error_of([&] { MNIST(fashion_dir, false); });
    CHECK(contains(m, "MNIST: " + fashion_dir + " holds Fashion-MNIST, not MNIST"));
    CHECK(contains(m, "(MD5 15d484375f8d13e6eb1aabb0c3f46965)"));
    CHECK(FashionMNIST(fashion_dir, false).size() == 10000);
  }

  // A subset or a user's own data matches no published digest and loads as asked.
  TempDir dir;
  write_raw(dir / "t10k-images-idx3-ubyte", image_file(3, 28, 28));
  write_raw(dir / "t10k-labels-idx1-ubyte", label_file({7, 2, 1}));
  CHECK(FashionMNIST(dir.path.string(), false).size() == 3);
  CHECK(MNIST(dir.path.string(), false).size() == 3);
}
