#pragma once
// Initialisation, as torch.nn.init: each fills a tensor in place from a generator (the default one,
// seeded by ember::manual_seed, unless given) and returns it.
#include <utility>

#include "ember/core/tensor.h"

namespace ember::nn::init {

enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, Relu, LeakyRelu };
enum class FanMode { FanIn, FanOut };

// Recommended gain for a nonlinearity (torch.nn.init.calculate_gain); `param` is leaky_relu's slope.
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
// (fan_in, fan_out) of a weight of rank >= 2: (in * receptive field, out * receptive field).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0, Generator& gen = default_generator());
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator& gen = default_generator());
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
// U(-bound, bound) with bound = gain * sqrt(3 / fan). With a = sqrt(5) (the layers' default) this is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                         Nonlinearity nonlinearity = Nonlinearity::LeakyRelu, Generator& gen = default_generator());
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyRelu, Generator& gen = default_generator());
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator& gen = default_generator());

}  // namespace ember::nn::init
