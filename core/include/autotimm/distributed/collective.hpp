#pragma once
// Collective: the processes of a distributed run as a task or metric sees them — sums and gathers across ranks.
// The trainer hands one to Task::sync_metrics before computing epoch metrics; a single-process run is a world of one,
// where every operation returns its input.
#include <torch/types.h>

#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API Collective {
 public:
  virtual ~Collective();
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// Sums every tensor element-wise across ranks, in place (each rank passes the same shapes and dtypes, in the same
  /// order). Throws TrainingError when a rank died or the timeout passed.
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  /// Every rank's `rows` ([N_r, ...], N_r may differ between ranks) concatenated in rank order along dim 0.
  virtual torch::Tensor all_gather_rows(const torch::Tensor& rows) = 0;
};

/// The world of one process: sums and gathers return what they are given.
class AUTOTIMM_API SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(std::vector<torch::Tensor>& /*tensors*/) override {}
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override { return rows; }
};

}  // namespace autotimm
