#pragma once
// Two ranks of a gather without processes, for epoch metrics that exchange rows (Collective::all_gather_rows): rank 1
// records what it would send, rank 0 then receives those rows after its own, as a gather in rank order does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "autotimm/distributed/collective.hpp"

namespace autotimm::testing {

/// Rank 1 of two: remembers what it would send.
class RecordingRank final : public Collective {
 public:
  int rank() const override { return 1; }
  int world_size() const override { return 2; }
  void all_reduce_sum(std::vector<torch::Tensor>&) override { ADD_FAILURE() << "not used"; }
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override {
    sent.push_back(rows.clone());
    return rows;
  }
  std::vector<torch::Tensor> sent;
};

/// Rank 0 of two: receives rank 1's rows after its own.
class ReplayingRank final : public Collective {
 public:
  explicit ReplayingRank(std::vector<torch::Tensor> other) : other_(std::move(other)) {}
  int rank() const override { return 0; }
  int world_size() const override { return 2; }
  void all_reduce_sum(std::vector<torch::Tensor>&) override { ADD_FAILURE() << "not used"; }
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override { return torch::cat({rows, other_.at(next_++)}); }

 private:
  std::vector<torch::Tensor> other_;
  std::size_t next_ = 0;
};

}  // namespace autotimm::testing
