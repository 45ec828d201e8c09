// The window machinery of Swin against independent, deliberately naive computations written here: the relative
// position index and the shift mask by brute force over token pairs, one block's shifted-window attention as explicit
// per-window attention with the bias looked up entry by entry (a wrong shift direction, window order, bias index or
// mask fails), PatchMerging's channel order, timm's window/shift clipping rule, and the relative position table
// resampling against a scalar double-precision rendition of timm's resize_rel_pos_bias_table.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "autotimm/error.hpp"
#include "blocks.hpp"

namespace autotimm::swin {
namespace {

// ---- relative position index and shift mask ------------------------------------------------------------------------

TEST(SwinWindows, RelativePositionIndexByBruteForce) {
  for (const Size2 window : {Size2{7, 7}, Size2{3, 4}, Size2{1, 2}}) {
    SCOPED_TRACE(std::to_string(window[0]) + "x" + std::to_string(window[1]));
    const auto index = relative_position_index(window);
    const std::int64_t n = window[0] * window[1];
    ASSERT_EQ(index.sizes(), torch::IntArrayRef({n, n}));
    EXPECT_EQ(index.scalar_type(), torch::kLong);
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t dy = i / window[1] - j / window[1], dx = i % window[1] - j % window[1];
        ASSERT_EQ(index[i][j].item<std::int64_t>(), (dy + window[0] - 1) * (2 * window[1] - 1) + dx + window[1] - 1);
      }
    }
    EXPECT_EQ(index.max().item<std::int64_t>(), (2 * window[0] - 1) * (2 * window[1] - 1) - 1);
  }
  // Window 7: the corner offsets of timm's 13 × 13 table.
  const auto index = relative_position_index({7, 7});
  EXPECT_EQ(index[0][0].item<std::int64_t>(), 84);   // (0, 0) → 6·13 + 6
  EXPECT_EQ(index[48][0].item<std::int64_t>(), 168);  // (+6, +6)
  EXPECT_EQ(index[0][48].item<std::int64_t>(), 0);    // (−6, −6)
}

// timm's region label of a padded row (or column): three bands split at −window and −shift; a zero shift leaves one
// band (Python's [-0:] is the whole axis).
std::int64_t band(std::int64_t position, std::int64_t padded, std::int64_t window, std::int64_t shift) {
  if (shift == 0) return 2;
  if (position < padded - window) return 0;
  return position < padded - shift ? 1 : 2;
}

void expect_mask_matches_brute_force(Size2 padded, Size2 window, Size2 shift) {
  SCOPED_TRACE(std::to_string(padded[0]) + "x" + std::to_string(padded[1]) + " window " + std::to_string(window[0]) +
               "x" + std::to_string(window[1]) + " shift " + std::to_string(shift[0]) + "," +
               std::to_string(shift[1]));
  const auto mask = shifted_window_mask(padded, window, shift);
  const std::int64_t rows = padded[0] / window[0], cols = padded[1] / window[1], n = window[0] * window[1];
  ASSERT_EQ(mask.sizes(), torch::IntArrayRef({rows * cols, n, n}));
  const auto label = [&](std::int64_t w, std::int64_t t) {
    const std::int64_t y = (w / cols) * window[0] + t / window[1], x = (w % cols) * window[1] + t % window[1];
    return band(y, padded[0], window[0], shift[0]) * 3 + band(x, padded[1], window[1], shift[1]);
  };
  std::int64_t masked = 0;
  for (std::int64_t w = 0; w < rows * cols; ++w) {
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        const float expected = label(w, i) == label(w, j) ? 0.0f : -100.0f;
        ASSERT_EQ(mask[w][i][j].item<float>(), expected) << "window " << w << " tokens " << i << ", " << j;
        masked += expected != 0.0f;
      }
    }
  }
  EXPECT_GT(masked, 0);
}

TEST(SwinWindows, ShiftMaskByBruteForce) {
  expect_mask_matches_brute_force({8, 8}, {4, 4}, {2, 2});
  expect_mask_matches_brute_force({14, 21}, {7, 7}, {3, 3});  // a 14 × 16 map padded to windows of 7
  expect_mask_matches_brute_force({8, 4}, {4, 4}, {2, 0});     // only the rows shift (timm's slice semantics)
  EXPECT_FALSE(shifted_window_mask({8, 8}, {4, 4}, {0, 0}).defined());
  // Only the last row and column of windows mix regions; the first window is all one region.
  const auto mask = shifted_window_mask({8, 8}, {4, 4}, {2, 2});
  EXPECT_TRUE(torch::all(mask[0] == 0).item<bool>());
  EXPECT_EQ(mask[3][0][15].item<float>(), -100.0f);
}

TEST(SwinWindows, WindowAndShiftFollowTimmsClippingRule) {
  // A map larger than the window keeps both; one not larger clips the window to the map and drops the shift.
  EXPECT_EQ(calc_window_shift({56, 56}, {7, 7}, {3, 3}, false), std::make_pair(Size2{7, 7}, Size2{3, 3}));
  EXPECT_EQ(calc_window_shift({7, 7}, {7, 7}, {3, 3}, false), std::make_pair(Size2{7, 7}, Size2{0, 0}));
  EXPECT_EQ(calc_window_shift({2, 2}, {7, 7}, {3, 3}, false), std::make_pair(Size2{2, 2}, Size2{0, 0}));
  EXPECT_EQ(calc_window_shift({8, 4}, {7, 7}, {3, 3}, false), std::make_pair(Size2{7, 4}, Size2{3, 0}));
  EXPECT_EQ(calc_window_shift({2, 2}, {7, 7}, {3, 3}, true), std::make_pair(Size2{7, 7}, Size2{3, 3}));
}

TEST(SwinWindows, PartitionAndReverseAreInverse) {
  const auto x = torch::randn({2, 8, 12, 3});
  const auto windows = window_partition(x, {4, 4});
  ASSERT_EQ(windows.sizes(), torch::IntArrayRef({12, 4, 4, 3}));
  // Windows row-major per image: window 1 of image 0 starts at column 4; image 1 starts at window 6.
  EXPECT_TRUE(torch::equal(windows[1], x[0].slice(0, 0, 4).slice(1, 4, 8)));
  EXPECT_TRUE(torch::equal(windows[6 + 5], x[1].slice(0, 4, 8).slice(1, 8, 12)));
  EXPECT_TRUE(torch::equal(window_reverse(windows, {4, 4}, 8, 12), x));
}

// ---- one block against naive shifted-window attention -----------------------------------------------------------

// The block's output computed the long way: roll by −shift·direction, pad, then for every window an explicit attention
// whose bias is looked up from the table entry by entry and whose mask comes from the band labels; then the inverse
// mapping, the residual, and the MLP. `direction` −1 computes the mirror-image (wrong) shift.
torch::Tensor naive_block(SwinTransformerBlockImpl& block, const torch::Tensor& x, Size2 window, Size2 shift,
                          int direction = 1) {
  const std::int64_t batch = x.size(0), height = x.size(1), width = x.size(2), channels = x.size(3);
  const std::int64_t heads = block.attn->options().num_heads, head_dim = channels / heads;
  const std::int64_t padded_h = (height + window[0] - 1) / window[0] * window[0];
  const std::int64_t padded_w = (width + window[1] - 1) / window[1] * window[1];
  const auto normed = block.norm1->forward(x);
  const auto wrap = [](std::int64_t i, std::int64_t n) { return ((i % n) + n) % n; };

  auto frame = torch::zeros({batch, padded_h, padded_w, channels});
  for (std::int64_t a = 0; a < height; ++a) {
    for (std::int64_t b = 0; b < width; ++b) {
      frame.select(1, a).select(1, b).copy_(
          normed.select(1, wrap(a + direction * shift[0], height)).select(1, wrap(b + direction * shift[1], width)));
    }
  }
  const auto table = block.attn->relative_position_bias_table;
  const auto& qkv = block.attn->qkv;
  const auto& proj = block.attn->proj;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  auto out_frame = torch::zeros_like(frame);
  const std::int64_t n = window[0] * window[1];
  for (std::int64_t wy = 0; wy < padded_h / window[0]; ++wy) {
    for (std::int64_t wx = 0; wx < padded_w / window[1]; ++wx) {
      std::vector<std::array<std::int64_t, 2>> tokens;
      std::vector<torch::Tensor> rows;
      for (std::int64_t t = 0; t < n; ++t) {
        const std::int64_t a = wy * window[0] + t / window[1], b = wx * window[1] + t % window[1];
        tokens.push_back({a, b});
        rows.push_back(frame.select(1, a).select(1, b));
      }
      const auto tokens_x = torch::stack(rows, 1);                       // [B, N, C]
      const auto q_k_v = torch::nn::functional::linear(tokens_x, qkv->weight, qkv->bias).chunk(3, -1);
      std::vector<torch::Tensor> head_outputs;
      for (std::int64_t h = 0; h < heads; ++h) {
        const auto q = q_k_v[0].narrow(-1, h * head_dim, head_dim);
        const auto k = q_k_v[1].narrow(-1, h * head_dim, head_dim);
        const auto v = q_k_v[2].narrow(-1, h * head_dim, head_dim);
        auto logits = torch::matmul(q, k.transpose(1, 2)) * scale;  // [B, N, N]
        auto extra = torch::zeros({n, n});
        for (std::int64_t i = 0; i < n; ++i) {
          for (std::int64_t j = 0; j < n; ++j) {
            const auto [ai, bi] = tokens[static_cast<std::size_t>(i)];
            const auto [aj, bj] = tokens[static_cast<std::size_t>(j)];
            const std::int64_t entry = (ai - aj + window[0] - 1) * (2 * window[1] - 1) + (bi - bj + window[1] - 1);
            float value = table[entry][h].item<float>();
            const bool same_region =
                band(ai, padded_h, window[0], shift[0]) == band(aj, padded_h, window[0], shift[0]) &&
                band(bi, padded_w, window[1], shift[1]) == band(bj, padded_w, window[1], shift[1]);
            if ((shift[0] || shift[1]) && !same_region) value -= 100.0f;
            extra[i][j] = value;
          }
        }
        head_outputs.push_back(torch::matmul(torch::softmax(logits + extra, -1), v));
      }
      const auto attended = torch::nn::functional::linear(torch::cat(head_outputs, -1), proj->weight, proj->bias);
      for (std::int64_t t = 0; t < n; ++t) {
        const auto [a, b] = tokens[static_cast<std::size_t>(t)];
        out_frame.select(1, a).select(1, b).copy_(attended.select(1, t));
      }
    }
  }
  auto attention = torch::zeros_like(x);
  for (std::int64_t i = 0; i < height; ++i) {
    for (std::int64_t j = 0; j < width; ++j) {
      attention.select(1, i).select(1, j).copy_(
          out_frame.select(1, wrap(i - direction * shift[0], height)).select(1, wrap(j - direction * shift[1], width)));
    }
  }
  const auto y = x + attention;
  return y + block.mlp->forward(block.norm2->forward(y));
}

struct BlockCase {
  const char* name;
  Size2 resolution;
  Size2 target_shift;
  Size2 window;  // expected after clipping
  Size2 shift;   // expected after clipping
};

TEST(SwinWindows, ShiftedBlockMatchesNaiveWindowAttention) {
  const BlockCase cases[] = {
      {"8x8, window 4, shift 2", {8, 8}, {2, 2}, {4, 4}, {2, 2}},
      {"6x6 padded to 8x8", {6, 6}, {2, 2}, {4, 4}, {2, 2}},
      {"8x4: columns fit the window, no column shift", {8, 4}, {2, 2}, {4, 4}, {2, 0}},
      {"unshifted 8x8", {8, 8}, {0, 0}, {4, 4}, {0, 0}},
  };
  torch::manual_seed(3);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SwinTransformerBlock block(SwinBlockOptions{.dim = 8, .input_resolution = c.resolution, .num_heads = 2,
                                                .window_size = {4, 4}, .shift_size = c.target_shift,
                                                .drop_path = 0.3});  // identity in eval
    block->eval();
    {
      torch::NoGradGuard no_grad;
      block->attn->relative_position_bias_table.normal_(0.0, 1.0);  // a bias that matters
      block->attn->qkv->bias.normal_(0.0, 0.5);                     // padded tokens are not all zero keys
    }
    EXPECT_EQ(block->window_size(), c.window);
    EXPECT_EQ(block->shift_size(), c.shift);
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({2, c.resolution[0], c.resolution[1], 8});
    const auto y = block->forward(x);
    const auto expected = naive_block(*block, x, c.window, c.shift);
    EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5)) << (y - expected).abs().max().item<float>();
    if (c.shift[0] || c.shift[1]) {
      // The reference is sensitive to the direction of the shift: the mirror image is far off.
      const auto mirrored = naive_block(*block, x, c.window, c.shift, -1);
      EXPECT_GT((y - mirrored).abs().max().item<float>(), 1e-2);
    }
  }
}

TEST(SwinWindows, DynamicMaskEqualsStaticMask) {
  torch::manual_seed(4);
  SwinTransformerBlock fixed(SwinBlockOptions{.dim = 8, .input_resolution = {6, 10}, .num_heads = 2,
                                              .window_size = {4, 4}, .shift_size = {2, 2}});
  SwinTransformerBlock dynamic(SwinBlockOptions{.dim = 8, .input_resolution = {6, 10}, .num_heads = 2,
                                                .window_size = {4, 4}, .shift_size = {2, 2}, .dynamic_mask = true});
  ASSERT_TRUE(fixed->attn_mask().defined());
  EXPECT_EQ(fixed->attn_mask().sizes(), torch::IntArrayRef({6, 16, 16}));  // 8 × 12 padded: 2 × 3 windows
  EXPECT_FALSE(dynamic->attn_mask().defined());
  torch::NoGradGuard no_grad;
  for (auto& item : dynamic->named_parameters()) item.value().copy_(fixed->named_parameters()[item.key()]);
  fixed->eval();
  dynamic->eval();
  const auto x = torch::randn({1, 6, 10, 8});
  EXPECT_TRUE(torch::allclose(fixed->forward(x), dynamic->forward(x), 1e-6, 1e-6));
  // Another size: the dynamic mask follows it, and so does the naive reference.
  const auto other = torch::randn({1, 9, 5, 8});
  EXPECT_TRUE(torch::allclose(dynamic->forward(other), naive_block(*dynamic, other, {4, 4}, {2, 2}), 1e-5, 1e-5));
}

// ---- PatchMerging --------------------------------------------------------------------------------------------------

TEST(SwinWindows, PatchMergingGathersRowOffsetFirst) {
  torch::manual_seed(5);
  PatchMerging merge(3, 5);
  {
    torch::NoGradGuard no_grad;
    merge->norm->weight.normal_();
    merge->norm->bias.normal_();
  }
  torch::NoGradGuard no_grad;
  const auto reference = [&](const torch::Tensor& x, bool timm_order) {
    using torch::indexing::Slice;
    const auto part = [&](int row, int col) { return x.index({Slice(), Slice(row, {}, 2), Slice(col, {}, 2)}); };
    const auto gathered = timm_order ? torch::cat({part(0, 0), part(1, 0), part(0, 1), part(1, 1)}, -1)
                                     : torch::cat({part(0, 0), part(0, 1), part(1, 0), part(1, 1)}, -1);
    return merge->reduction->forward(merge->norm->forward(gathered));
  };
  const auto x = torch::randn({2, 4, 6, 3});
  const auto y = merge->forward(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 2, 3, 5}));
  EXPECT_TRUE(torch::allclose(y, reference(x, true), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(y, reference(x, false), 1e-3, 1e-3));  // the other order is another function
  // Odd maps are padded with zeros at the bottom and right.
  const auto odd = torch::randn({1, 5, 3, 3});
  const auto padded = torch::constant_pad_nd(odd, {0, 0, 0, 1, 0, 1});
  EXPECT_TRUE(torch::allclose(merge->forward(odd), reference(padded, true), 1e-6, 1e-6));
  EXPECT_FALSE(merge->reduction->bias.defined());
}

// ---- relative position table resampling ----------------------------------------------------------------------------

// timm's resize_rel_pos_bias_table (no scipy) written out with scalars in double precision.
std::vector<double> reference_offsets(std::int64_t src, std::int64_t dst) {
  double left = 1.01, right = 1.5, q = 0.0;
  while (right - left > 1e-6) {
    q = (left + right) / 2.0;
    const double sum = (1.0 - std::pow(q, static_cast<double>(src / 2))) / (1.0 - q);  // 1 + q + … + q^(n−1)
    (sum > static_cast<double>(dst / 2) ? right : left) = q;
  }
  std::vector<double> half;
  double current = 1.0;
  for (std::int64_t i = 0; i < src / 2; ++i) {
    half.push_back(current);
    current += std::pow(q, static_cast<double>(i + 1));
  }
  std::vector<double> all;
  for (auto it = half.rbegin(); it != half.rend(); ++it) all.push_back(-*it);
  all.push_back(0.0);
  all.insert(all.end(), half.begin(), half.end());
  return all;
}

// Linear interpolation weights at `x` on sorted `points`, constant beyond the ends.
std::pair<std::array<std::size_t, 2>, std::array<double, 2>> reference_weights(const std::vector<double>& points,
                                                                                double x) {
  if (x <= points.front()) return {{0, 0}, {1.0, 0.0}};
  if (x >= points.back()) return {{points.size() - 1, points.size() - 1}, {1.0, 0.0}};
  std::size_t right = 1;
  while (points[right] < x) ++right;
  const double t = (x - points[right - 1]) / (points[right] - points[right - 1]);
  return {{right - 1, right}, {1.0 - t, t}};
}

torch::Tensor reference_resize(const torch::Tensor& table, std::int64_t src, Size2 window) {
  const std::int64_t dh = 2 * window[0] - 1, dw = 2 * window[1] - 1, heads = table.size(1);
  const auto ys = reference_offsets(src, dh), xs = reference_offsets(src, dw);
  auto out = torch::zeros({dh * dw, heads}, torch::kFloat64);
  const auto values = table.to(torch::kFloat64);
  for (std::int64_t i = 0; i < dh; ++i) {
    for (std::int64_t j = 0; j < dw; ++j) {
      const auto [yi, yw] = reference_weights(ys, static_cast<double>(i - dh / 2));
      const auto [xi, xw] = reference_weights(xs, static_cast<double>(j - dw / 2));
      for (std::int64_t h = 0; h < heads; ++h) {
        double sum = 0.0;
        for (int a = 0; a < 2; ++a) {
          for (int b = 0; b < 2; ++b) {
            const auto row = static_cast<std::int64_t>(yi[a]), col = static_cast<std::int64_t>(xi[b]);
            sum += yw[a] * xw[b] * values[row * src + col][h].item<double>();
          }
        }
        out[i * dw + j][h] = sum;
      }
    }
  }
  return out.to(torch::kFloat32);
}

TEST(SwinWindows, RelativePositionTableResamplingIsTimms) {
  torch::manual_seed(6);
  const auto table = torch::randn({169, 3});  // window 7
  const auto resized = resize_rel_pos_bias_table(table, {12, 12});
  ASSERT_EQ(resized.sizes(), torch::IntArrayRef({529, 3}));
  EXPECT_TRUE(torch::allclose(resized, reference_resize(table, 13, {12, 12}), 1e-5, 1e-5));
  // Offset 0 lands on a source point: the centre entry is kept exactly.
  EXPECT_TRUE(torch::equal(resized[264], table[84]));
  // Down to a smaller and to a non-square window.
  EXPECT_TRUE(torch::allclose(resize_rel_pos_bias_table(table, {4, 4}), reference_resize(table, 13, {4, 4}), 1e-5,
                              1e-5));
  const auto wide = resize_rel_pos_bias_table(table, {7, 12});
  ASSERT_EQ(wide.sizes(), torch::IntArrayRef({13 * 23, 3}));
  EXPECT_TRUE(torch::allclose(wide, reference_resize(table, 13, {7, 12}), 1e-5, 1e-5));
  // A constant table stays constant; the same window is the identity.
  EXPECT_TRUE(torch::allclose(resize_rel_pos_bias_table(torch::full({169, 2}, 0.5f), {12, 12}),
                              torch::full({529, 2}, 0.5f)));
  EXPECT_TRUE(torch::equal(resize_rel_pos_bias_table(table, {7, 7}), table));
  // Not the table of a square window.
  EXPECT_THROW(resize_rel_pos_bias_table(torch::zeros({170, 3}), {12, 12}), ConfigError);
  EXPECT_THROW(resize_rel_pos_bias_table(torch::zeros({169}), {12, 12}), ConfigError);
}

}  // namespace
}  // namespace autotimm::swin
