// Elementwise ops, reductions, matmul, relu and linear: gradcheck every backward, values, and errors.
#include "helpers.h"

using namespace ember;
using ember::test::distinct_values;
using ember::test::error_of;
using ember::test::gradcheck;

static Tensor leaf(Tensor t) {
  t.requires_grad_();
  return t;
}
static Tensor input(Shape s, uint64_t seed = 1) { return leaf(distinct_values(s, -2.0, 2.0, seed)); }
static Tensor positive(Shape s, uint64_t seed = 1) { return leaf(distinct_values(s, 0.5, 2.0, seed)); }

#define CHECK_GRAD(...) CHECK(gradcheck(__VA_ARGS__) == "")

TEST_CASE("elementwise ops: gradcheck, with broadcasting of a bias over a batch") {
  using V = std::vector<Tensor>;
  for (Shape sb : {Shape{3, 4}, Shape{4}, Shape{1, 4}, Shape{3, 1}, Shape{}}) {
    CAPTURE(shape_str(sb));
    CHECK_GRAD([](const V& v) { return add(v[0], v[1]); }, {input({3, 4}), input(sb, 2)});
    CHECK_GRAD([](const V& v) { return sub(v[0], v[1]); }, {input({3, 4}), input(sb, 2)});
    CHECK_GRAD([](const V& v) { return mul(v[0], v[1]); }, {input({3, 4}), input(sb, 2)});
    CHECK_GRAD([](const V& v) { return div(v[0], v[1]); }, {input({3, 4}), positive(sb, 2)});
    CHECK_GRAD([](const V& v) { return sub(v[1], v[0]); }, {input({3, 4}), input(sb, 2)});
  }
  CHECK_GRAD([](const V& v) { return add(v[0], v[1]); }, {input({2, 3, 4, 5}), input({1, 3, 1, 1}, 2)});
  CHECK_GRAD([](const V& v) { return neg(v[0]); }, {input({5})});
  CHECK_GRAD([](const V& v) { return add(v[0], 1.5); }, {input({5})});
  CHECK_GRAD([](const V& v) { return sub(v[0], 1.5); }, {input({5})});
  CHECK_GRAD([](const V& v) { return mul(v[0], -3.0); }, {input({5})});
  CHECK_GRAD([](const V& v) { return div(v[0], 4.0); }, {input({5})});
  CHECK_GRAD([](const V& v) { return rsub(2.0, v[0]); }, {input({5})});
  CHECK_GRAD([](const V& v) { return rdiv(2.0, v[0]); }, {positive({5})});
  CHECK_GRAD([](const V& v) { return exp(v[0]); }, {input({5})});
  CHECK_GRAD([](const V& v) { return log(v[0]); }, {positive({5})});
  CHECK_GRAD([](const V& v) { return relu(v[0]); }, {input({4, 6})});
}

TEST_CASE("elementwise values") {
  Tensor a = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector(std::vector<float>{10, 20, 30});
  CHECK((a + b).to_vector<float>() == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK((a * 2.0 - 1.0).to_vector<float>() == std::vector<float>{1, 3, 5, 7, 9, 11});
  CHECK((1.0 - a).at({0, 0}) == 0.0);
  CHECK((6.0 / a).at({1, 2}) == 1.0);
  CHECK((-a).at({0, 1}) == -2.0);
  CHECK(relu(a - 3.0).to_vector<float>() == std::vector<float>{0, 0, 0, 1, 2, 3});
  Tensor big = ones({300, 300});  // large enough for the threaded path
  CHECK(sum(big + big).item() == 180000.0);
}

TEST_CASE("reductions: values and gradcheck") {
  using V = std::vector<Tensor>;
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(a).item() == 21.0);
  CHECK(mean(a).item() == 3.5);
  CHECK(sum(a, 0).to_vector<double>() == std::vector<double>{5, 7, 9});
  CHECK(sum(a, 1).to_vector<double>() == std::vector<double>{6, 15});
  CHECK(sum(a, -1, true).shape() == Shape{2, 1});
  CHECK(mean(a, 0).to_vector<double>() == std::vector<double>{2.5, 3.5, 4.5});
  CHECK(sum_to(a, {3}).to_vector<double>() == std::vector<double>{5, 7, 9});
  CHECK(argmax(a, 1).to_vector<int64_t>() == std::vector<int64_t>{2, 2});
  CHECK(argmax(from_vector(std::vector<float>{1, 5, 5, 0}, {1, 4}), 1).item() == 1.0);  // first max wins
  CHECK(argmax(a, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1});
  CHECK_GRAD([](const V& v) { return sum(v[0]); }, {input({3, 4})});
  CHECK_GRAD([](const V& v) { return mean(v[0]); }, {input({3, 4})});
  CHECK_GRAD([](const V& v) { return sum(v[0], 0); }, {input({3, 4})});
  CHECK_GRAD([](const V& v) { return sum(v[0], 1, true); }, {input({3, 4})});
  CHECK_GRAD([](const V& v) { return mean(v[0], 1); }, {input({2, 3, 4})});
  CHECK_GRAD([](const V& v) { return sum_to(v[0], {1, 4}); }, {input({3, 4})});
}

TEST_CASE("matmul and linear: values and gradcheck") {
  using V = std::vector<Tensor>;
  Tensor a = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector(std::vector<double>{1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK(matmul(a, b).to_vector<double>() == std::vector<double>{4, 5, 10, 11});
  Tensor w = from_vector(std::vector<double>{1, 0, 0, 0, 1, 0}, {2, 3});
  Tensor bias = from_vector(std::vector<double>{10, 20});
  CHECK(linear(a, w, bias).to_vector<double>() == std::vector<double>{11, 22, 14, 25});
  CHECK(linear(a, w).to_vector<double>() == std::vector<double>{1, 2, 4, 5});
  CHECK_GRAD([](const V& v) { return matmul(v[0], v[1]); }, {input({3, 4}), input({4, 5}, 2)});
  CHECK_GRAD([](const V& v) { return linear(v[0], v[1], v[2]); }, {input({5, 4}), input({3, 4}, 2), input({3}, 3)});
  CHECK_GRAD([](const V& v) { return linear(v[0], v[1]); }, {input({5, 4}), input({3, 4}, 2)});
  // Only the weight requires grad: the input's gradient is not computed.
  Tensor x = distinct_values({5, 4}, -1, 1);
  CHECK_GRAD([x](const V& v) { return linear(x, v[0], v[1]); }, {input({3, 4}, 2), input({3}, 3)});
}

// Operands of different dtypes meet in torch.promote_types' dtype; values and gradients as PyTorch's.
TEST_CASE("binary ops promote mixed dtypes as PyTorch does") {
  CHECK(promote_types(kFloat32, kFloat64) == kFloat64);
  CHECK(promote_types(kInt64, kFloat32) == kFloat32);
  CHECK(promote_types(kUInt8, kInt64) == kInt64);
  CHECK(promote_types(kBool, kUInt8) == kUInt8);
  CHECK(promote_types(kFloat64, kBool) == kFloat64);

  Tensor a = from_vector<float>({1.5f, -2.0f}, {2}).requires_grad_(true);
  Tensor b = from_vector<double>({0.25, 4.0}, {2}).requires_grad_(true);
  Tensor y = mul(a, b);  // torch: float32 * float64 -> float64
  CHECK(y.dtype() == kFloat64);
  CHECK(y.to_vector<double>() == std::vector<double>{0.375, -8.0});
  sum(y).backward();
  CHECK(a.grad().dtype() == kFloat32);  // each gradient in its input's dtype
  CHECK(a.grad().to_vector<float>() == std::vector<float>{0.25f, 4.0f});
  CHECK(b.grad().dtype() == kFloat64);
  CHECK(b.grad().to_vector<double>() == std::vector<double>{1.5, -2.0});

  Tensor i = from_vector<int64_t>({3, 7}, {2});
  Tensor f = from_vector<float>({0.5f, 2.0f}, {2});
  CHECK(add(i, f).dtype() == kFloat32);
  CHECK(add(i, f).to_vector<float>() == std::vector<float>{3.5f, 9.0f});
  CHECK(div(i, f).to_vector<float>() == std::vector<float>{6.0f, 3.5f});
  Tensor u = from_vector<uint8_t>({200, 1}, {2});
  CHECK(add(u, i).dtype() == kInt64);
  CHECK(add(u, i).to_vector<int64_t>() == std::vector<int64_t>{203, 8});
  CHECK(eq(i, from_vector<float>({3.0f, 7.5f}, {2})).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK(maximum(i, f).dtype() == kFloat32);
  CHECK(maximum(i, f).to_vector<float>() == std::vector<float>{3.0f, 7.0f});
  CHECK(where(gt(f, 1.0), i, f).to_vector<float>() == std::vector<float>{0.5f, 7.0f});
  CHECK(pow(f, from_vector<int64_t>({2, 3}, {2})).to_vector<float>() == std::vector<float>{0.25f, 8.0f});
}

TEST_CASE("op errors name the op and the shapes") {
  CHECK(error_of([] { add(zeros({2, 3}), zeros({4})); }).find("add: shapes [2, 3] and [4] cannot be broadcast") !=
        std::string::npos);
  CHECK(error_of([] { add(zeros({2}, kBool), zeros({2}, kBool)); }).find("add: arithmetic on bool tensors") !=
        std::string::npos);
  CHECK(error_of([] { matmul(zeros({2, 3}), zeros({4, 5})); }).find("matmul: shapes [2, 3] and [4, 5] cannot be "
                                                                   "multiplied") != std::string::npos);
  CHECK(error_of([] { matmul(zeros({}), zeros({2, 5})); }).find("both arguments need at least 1 dimension") !=
        std::string::npos);
  CHECK(error_of([] { linear(zeros({2, 3}), zeros({4, 5})); }).find("linear: input of shape [2, 3] does not match "
                                                                   "weight [4, 5]") != std::string::npos);
  CHECK(error_of([] { linear(zeros({2, 5}), zeros({4, 5}), zeros({3})); }).find("expected bias of shape [4], found "
                                                                               "[3]") != std::string::npos);
  CHECK(error_of([] { sum(zeros({2, 3}), 2); }).find("sum: dim 2 out of range") != std::string::npos);
  CHECK(error_of([] { argmax(zeros({0}), 0); }).find("argmax: the input is empty") != std::string::npos);
  CHECK(error_of([] { relu(Tensor()); }).find("relu: the input is undefined") != std::string::npos);
}
