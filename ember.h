#pragma once
// The whole public API of Ember:  #include <ember/ember.h>
// Installed as <prefix>/include/ember/ember.h; each header below can also be included on its own.
// This list is the public API: cmake/layers.cmake installs exactly the headers included here, and
// every other header is private to Ember (the kernel interface, the CPU kernels, the readers'
// internals). A new public header is one more line below.

// core: tensors, autograd, ops, devices, random numbers, the value tree that checkpoints are
#include "ember/core/autograd.h"
#include "ember/core/cuda.h"
#include "ember/core/determinism.h"
#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/error.h"
#include "ember/core/generator.h"
#include "ember/core/ops.h"
#include "ember/core/options.h"
#include "ember/core/ordered_dict.h"
#include "ember/core/parallel.h"
#include "ember/core/shape.h"
#include "ember/core/tensor.h"
#include "ember/core/value.h"
#include "ember/core/value_reader.h"

// nn: modules and layers
#include "ember/nn/activation.h"
#include "ember/nn/containers.h"
#include "ember/nn/conv_pool.h"
#include "ember/nn/functional.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"
#include "ember/nn/loss.h"
#include "ember/nn/module.h"
#include "ember/nn/norm_layers.h"
#include "ember/nn/options.h"

// optim: optimizers and learning-rate schedulers
#include "ember/optim/adagrad.h"
#include "ember/optim/adam.h"
#include "ember/optim/clip_grad.h"
#include "ember/optim/grouped.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/rmsprop.h"
#include "ember/optim/sgd.h"

// data: datasets and loaders
#include "ember/data/dataloader.h"
#include "ember/data/dataset.h"
#include "ember/data/idx.h"
#include "ember/data/mnist.h"

// io: checkpoints (ember::save, ember::load) in Ember's format, PyTorch .pth and safetensors
#include "ember/io/atomic_file.h"
#include "ember/io/checkpoint_reader.h"
#include "ember/io/format.h"
#include "ember/io/interop/detect.h"
#include "ember/io/interop/onnx.h"
#include "ember/io/interop/pth.h"
#include "ember/io/interop/safetensors.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/onnx/export.h"

// train: a whole training run's checkpoint (model, optimizer, scheduler, loaders, generators)
#include "ember/train/checkpoint.h"
