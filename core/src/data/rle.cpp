// COCO run-length encodings: encode / decode, the compressed counts string, polygon rasterisation, merge and mask
// IoU. The rules (run order, string format, polygon rounding) are those of COCO's maskApi so masks and IoUs agree
// with pycocotools bit for bit; the code is ours. Strings and polygons come from annotation files, so every value
// read is bounded and every failure is a FormatError that says where.
#include "autotimm/data/rle.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "autotimm/error.hpp"

namespace autotimm {
namespace {

// Run lengths are 32-bit (as in COCO files and maskApi), so a mask holds at most this many pixels and every sum of
// runs fits a uint64 with room to spare.
constexpr std::uint64_t kMaxPixels = std::numeric_limits<std::uint32_t>::max();
// The longest value the string format needs: a run delta in (-2^32, 2^32) takes 33 signed bits, 7 groups of 5.
constexpr int kMaxGroups = 7;
// Polygon coordinates are scaled by 5 and rounded into 32-bit integers (maskApi); beyond this they would overflow.
constexpr double kMaxCoordinate = 1e8;
constexpr std::int64_t kScale = 5;

std::string size_text(std::int64_t height, std::int64_t width) {
  return "[" + std::to_string(height) + ", " + std::to_string(width) + "]";
}

/// height × width of a mask read from a file; FormatError for sizes no COCO mask can have.
std::uint64_t checked_file_area(const std::string& what, int height, int width) {
  if (height <= 0 || width <= 0) {
    throw FormatError(what + ": size " + size_text(height, width) +
                      ": expected a positive height and width; check the annotation's \"size\" (or the image's "
                      "height and width)");
  }
  const auto area = static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(width);
  if (area > kMaxPixels) {
    throw FormatError(what + ": size " + size_text(height, width) + ": expected at most " +
                      std::to_string(kMaxPixels) + " pixels (32-bit run lengths), got " + std::to_string(area) +
                      "; check the annotation's \"size\"");
  }
  return area;
}

/// height × width of an Rle or buffer passed in by code; ConfigError for a size no mask can have.
std::uint64_t checked_area(const std::string& what, int height, int width) {
  if (height < 0 || width < 0) {
    throw ConfigError(what + ": size " + size_text(height, width) + ": expected a height and width of 0 or more");
  }
  const auto area = static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(width);
  if (area > kMaxPixels) {
    throw ConfigError(what + ": size " + size_text(height, width) + ": expected at most " +
                      std::to_string(kMaxPixels) + " pixels (32-bit run lengths), got " + std::to_string(area) +
                      "; split the mask");
  }
  return area;
}

/// An Rle argument must be self-consistent before code walks its runs into a buffer of height × width.
void check_rle(const std::string& what, const Rle& rle) {
  const std::uint64_t area = checked_area(what, rle.height, rle.width);
  std::uint64_t sum = 0;
  for (const std::uint32_t run : rle.counts) sum += run;
  if (sum != area) {
    throw ConfigError(what + ": an Rle of size " + size_text(rle.height, rle.width) +
                      ": expected runs summing to height × width = " + std::to_string(area) + ", got " +
                      std::to_string(sum) +
                      "; build Rles with rle_encode, rle_from_string, rle_from_counts or rle_from_polygons");
  }
}

std::string character_text(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

// ---- run sweeps ---------------------------------------------------------------------------------------------------

/// Walks the runs of an Rle, skipping empty ones, so two masks can be swept together run by run.
class RunCursor {
 public:
  explicit RunCursor(const std::vector<std::uint32_t>& counts) : runs_(counts.data()), size_(counts.size()) {
    left_ = size_ > 0 ? runs_[0] : 0;
    skip_empty();
  }
  bool done() const noexcept { return index_ >= size_; }
  bool foreground() const noexcept { return index_ % 2 == 1; }
  std::uint64_t left() const noexcept { return left_; }
  void take(std::uint64_t n) noexcept {
    left_ -= n;
    skip_empty();
  }

 private:
  void skip_empty() noexcept {
    while (left_ == 0 && index_ < size_) {
      if (++index_ < size_) left_ = runs_[index_];
    }
  }

  const std::uint32_t* runs_;
  std::size_t size_;
  std::size_t index_ = 0;
  std::uint64_t left_ = 0;
};

/// Calls visit(length, a_foreground, b_foreground) for each stretch over which neither mask changes.
template <class Visit>
void sweep(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b, Visit&& visit) {
  RunCursor ca(a), cb(b);
  while (!ca.done() && !cb.done()) {
    const std::uint64_t n = std::min(ca.left(), cb.left());
    visit(n, ca.foreground(), cb.foreground());
    ca.take(n);
    cb.take(n);
  }
}

/// Builds canonical runs (background first, no empty run after the first) from stretches of known value.
class RunWriter {
 public:
  void add(std::uint64_t length, bool foreground) {
    if (length == 0) return;
    if (foreground != foreground_) {
      counts_.push_back(static_cast<std::uint32_t>(current_));
      current_ = 0;
      foreground_ = foreground;
    }
    current_ += length;
  }
  std::vector<std::uint32_t> finish() && {
    counts_.push_back(static_cast<std::uint32_t>(current_));
    return std::move(counts_);
  }

 private:
  std::vector<std::uint32_t> counts_;
  std::uint64_t current_ = 0;
  bool foreground_ = false;
};

std::uint64_t intersection_area(const Rle& a, const Rle& b) {
  std::uint64_t both = 0;
  sweep(a.counts, b.counts, [&](std::uint64_t n, bool fa, bool fb) {
    if (fa && fb) both += n;
  });
  return both;
}

// ---- polygons -----------------------------------------------------------------------------------------------------
// maskApi rleFrPoly: vertices are scaled by 5 and rounded; each edge is walked one scaled step at a time along its
// longer axis (rounding the other coordinate); wherever the walk crosses the centre of a pixel column (scaled
// x = 5c + 2.5), the column toggles at the row below the crossing; toggles sorted in column-major order are the
// run boundaries. We visit only the crossings (binary search along each edge), not every step of the walk, so cost
// follows the columns an edge spans, not its length or how far outside the image it lies.

struct WalkPoint {
  std::int64_t u = 0;  // scaled x
  std::int64_t v = 0;  // scaled y
};

/// maskApi rounds with a C cast: (int)(value + .5), truncating toward zero.
std::int64_t round_like_maskapi(double value) { return static_cast<std::int64_t>(value + 0.5); }

/// The points maskApi walks along one edge, in walk order, computed on demand: point(d) for d = 0..steps().
class EdgeWalk {
 public:
  EdgeWalk(WalkPoint from, WalkPoint to) {
    const std::int64_t dx = std::abs(to.u - from.u), dy = std::abs(to.v - from.v);
    x_major_ = dx >= dy;
    // The walk always advances from the lower end of its major axis; `flip` reverses the index instead.
    flip_ = x_major_ ? from.u > to.u : from.v > to.v;
    if (flip_) std::swap(from, to);
    start_ = from;
    steps_ = x_major_ ? dx : dy;
    if (steps_ > 0) {
      slope_ = x_major_ ? static_cast<double>(to.v - from.v) / static_cast<double>(dx)
                        : static_cast<double>(to.u - from.u) / static_cast<double>(dy);
    }
  }

  std::int64_t steps() const noexcept { return steps_; }

  WalkPoint point(std::int64_t d) const noexcept {
    const std::int64_t t = flip_ ? steps_ - d : d;
    // A repeated vertex: maskApi divides 0 by 0 and casts NaN, which x86 turns into INT_MIN. The row of this point
    // never reaches a toggle inside the image (its neighbours share its column), we only keep it deterministic.
    if (steps_ == 0) return {start_.u, std::numeric_limits<std::int32_t>::min()};
    const double along = static_cast<double>(t);
    if (x_major_) return {start_.u + t, round_like_maskapi(static_cast<double>(start_.v) + slope_ * along)};
    return {round_like_maskapi(static_cast<double>(start_.u) + slope_ * along), start_.v + t};
  }

 private:
  WalkPoint start_;
  std::int64_t steps_ = 0;
  double slope_ = 0.0;
  bool x_major_ = true;
  bool flip_ = false;
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/// Collects the toggles (column-major pixel positions) the walk produces.
class Toggles {
 public:
  Toggles(std::int64_t height, std::int64_t width) : height_(height), width_(width) {}

  /// The scaled x a step from p to q is charged to (maskApi's rule); a pixel centre when it is 5c + 2.
  static std::int64_t step_x(const WalkPoint& p, const WalkPoint& q) noexcept { return q.u < p.u ? q.u : q.u - 1; }

  /// The step from p to q: a toggle when it crosses the centre of a column inside the image.
  void step(const WalkPoint& p, const WalkPoint& q) {
    if (p.u == q.u) return;
    const std::int64_t x = step_x(p, q);
    if (x < 2 || (x - 2) % kScale != 0) return;
    const std::int64_t column = (x - 2) / kScale;
    if (column >= width_) return;
    // The row below the crossing: ceil of the scaled y back in pixels, clamped to [0, height].
    const std::int64_t y = std::min(p.v, q.v);
    const std::int64_t row = y < 2 ? 0 : std::min(height_, (y - 2 + kScale - 1) / kScale);
    positions_.push_back(static_cast<std::uint64_t>(column * height_ + row));
  }

  /// Every step inside one edge that crosses a column centre. Along an edge the scaled x is monotone, so for each
  /// column centre the edge spans, the step that crosses it is found by binary search.
  void edge(const EdgeWalk& walk) {
    const std::int64_t n = walk.steps();
    if (n == 0) return;
    const std::int64_t first_u = walk.point(0).u, last_u = walk.point(n).u;
    if (first_u == last_u) return;
    const bool rising = last_u > first_u;
    const std::int64_t low = std::min(first_u, last_u), high = std::max(first_u, last_u);
    // Steps are charged to x in [low, high - 1]; centres are x = 5c + 2 for columns c in [0, width).
    const std::int64_t first_column = std::max<std::int64_t>(0, -floor_div(-(low - 2), kScale));
    const std::int64_t last_column = std::min(width_ - 1, floor_div(high - 1 - 2, kScale));
    for (std::int64_t column = first_column; column <= last_column; ++column) {
      const std::int64_t centre = kScale * column + 2;
      // The first point past the centre: u > centre when rising, u <= centre when falling.
      std::int64_t lo = 1, hi = n;
      while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        const std::int64_t u = walk.point(mid).u;
        if (rising ? u > centre : u <= centre) hi = mid;
        else lo = mid + 1;
      }
      const WalkPoint p = walk.point(lo - 1), q = walk.point(lo);
      // A step that jumps over the centre is charged to another x (maskApi's rule), possibly none at all.
      if (step_x(p, q) == centre) step(p, q);
    }
  }

  /// Runs from the toggles: sorted positions, gaps between them; equal positions cancel in pairs.
  std::vector<std::uint32_t> runs() && {
    positions_.push_back(static_cast<std::uint64_t>(height_ * width_));
    std::sort(positions_.begin(), positions_.end());
    std::vector<std::uint32_t> counts;
    counts.reserve(positions_.size());
    std::uint64_t previous = 0;
    bool cancel_next = false;
    for (std::size_t i = 0; i < positions_.size(); ++i) {
      const std::uint64_t gap = positions_[i] - previous;
      previous = positions_[i];
      if (cancel_next) {
        // The toggle before this gap met its twin: the run before the pair goes on through this gap.
        counts.back() += static_cast<std::uint32_t>(gap);
        cancel_next = false;
      } else if (i > 0 && gap == 0) {
        cancel_next = true;
      } else {
        counts.push_back(static_cast<std::uint32_t>(gap));
      }
    }
    return counts;
  }

 private:
  std::int64_t height_;
  std::int64_t width_;
  std::vector<std::uint64_t> positions_;
};

std::string polygon_where(std::size_t index) { return "COCO polygon segmentation, part " + std::to_string(index); }

Rle rasterise_polygon(const std::vector<double>& xy, std::size_t index, int height, int width) {
  if (xy.size() % 2 != 0) {
    throw FormatError(polygon_where(index) + ": expected x, y pairs (an even number of coordinates), got " +
                      std::to_string(xy.size()) + " coordinates; fix the annotation's \"segmentation\"");
  }
  if (xy.size() < 6) {
    throw FormatError(polygon_where(index) + ": expected at least 3 points, got " + std::to_string(xy.size() / 2) +
                      "; drop the part or fix the annotation's \"segmentation\"");
  }
  std::vector<WalkPoint> vertices(xy.size() / 2);
  for (std::size_t i = 0; i < xy.size(); ++i) {
    if (!std::isfinite(xy[i]) || std::abs(xy[i]) > kMaxCoordinate) {
      throw FormatError(polygon_where(index) + ": coordinate " + std::to_string(i) + ": expected a finite value " +
                        "within +-1e8 pixels, got " + std::to_string(xy[i]) + "; fix the annotation's "
                        "\"segmentation\"");
    }
    const std::int64_t scaled = round_like_maskapi(static_cast<double>(kScale) * xy[i]);
    (i % 2 == 0 ? vertices[i / 2].u : vertices[i / 2].v) = scaled;
  }
  Toggles toggles(height, width);
  const std::size_t k = vertices.size();
  WalkPoint previous_end;
  for (std::size_t j = 0; j < k; ++j) {
    const EdgeWalk walk(vertices[j], vertices[(j + 1) % k]);
    // The walk is one sequence: the last point of an edge and the first of the next form a step too.
    if (j > 0) toggles.step(previous_end, walk.point(0));
    toggles.edge(walk);
    previous_end = walk.point(walk.steps());
  }
  return Rle{height, width, std::move(toggles).runs()};
}

}  // namespace

// ---- Rle ----------------------------------------------------------------------------------------------------------

std::uint64_t Rle::area() const noexcept {
  std::uint64_t sum = 0;
  for (std::size_t i = 1; i < counts.size(); i += 2) sum += counts[i];
  return sum;
}

std::array<double, 4> Rle::box() const noexcept {
  if (height <= 0 || width <= 0) return {0.0, 0.0, 0.0, 0.0};
  const auto h = static_cast<std::uint64_t>(height);
  std::uint64_t x_min = std::numeric_limits<std::uint64_t>::max(), y_min = x_min, x_max = 0, y_max = 0;
  std::uint64_t position = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::uint64_t run = counts[i];
    if (i % 2 == 1 && run > 0) {
      const std::uint64_t first = position, last = position + run - 1;
      const std::uint64_t first_column = first / h, last_column = last / h;
      // A run that wraps into a later column covers the bottom of one column and the top of the next.
      const bool wraps = first_column < last_column;
      x_min = std::min(x_min, first_column);
      x_max = std::max(x_max, last_column);
      y_min = std::min(y_min, wraps ? 0 : first % h);
      y_max = std::max(y_max, wraps ? h - 1 : last % h);
    }
    position += run;
  }
  if (x_min > x_max) return {0.0, 0.0, 0.0, 0.0};
  return {static_cast<double>(x_min), static_cast<double>(y_min), static_cast<double>(x_max + 1),
          static_cast<double>(y_max + 1)};
}

// ---- encode / decode ----------------------------------------------------------------------------------------------

Rle rle_encode(const std::uint8_t* mask, int height, int width) {
  const std::uint64_t area = checked_area("rle_encode", height, width);
  if (area == 0) return Rle{height, width, {0}};
  if (mask == nullptr) {
    throw ConfigError("rle_encode: mask: expected " + std::to_string(area) + " bytes, got a null pointer");
  }
  RunWriter writer;
  const auto row_bytes = static_cast<std::size_t>(width);
  for (int x = 0; x < width; ++x) {
    const std::uint8_t* pixel = mask + x;
    int y = 0;
    while (y < height) {
      // One stretch of equal values down this column.
      const bool foreground = pixel[static_cast<std::size_t>(y) * row_bytes] != 0;
      int end = y + 1;
      while (end < height && (pixel[static_cast<std::size_t>(end) * row_bytes] != 0) == foreground) ++end;
      writer.add(static_cast<std::uint64_t>(end - y), foreground);
      y = end;
    }
  }
  return Rle{height, width, std::move(writer).finish()};
}

Rle rle_encode(const Image& mask) {
  if (mask.channels != 1) {
    throw ConfigError("rle_encode: mask image: expected 1 channel, got " + std::to_string(mask.channels) +
                      "; pass a one-channel mask (nonzero is foreground)");
  }
  const std::uint64_t area = checked_area("rle_encode: mask image", mask.height, mask.width);
  if (mask.pixels.size() != area) {
    throw ConfigError("rle_encode: mask image of " + std::to_string(mask.width) + "x" + std::to_string(mask.height) +
                      ": expected " + std::to_string(area) + " bytes of pixels, got " +
                      std::to_string(mask.pixels.size()) + "; build it with Image(width, height, 1)");
  }
  return rle_encode(mask.pixels.data(), mask.height, mask.width);
}

void rle_decode(const Rle& rle, std::uint8_t* out) {
  check_rle("rle_decode", rle);
  const auto h = static_cast<std::uint64_t>(rle.height);
  const auto w = static_cast<std::size_t>(rle.width);
  if (h * w == 0) return;
  if (out == nullptr) {
    throw ConfigError("rle_decode: out: expected room for " + std::to_string(h * w) + " bytes, got a null pointer");
  }
  std::memset(out, 0, h * w);
  std::uint64_t position = 0;
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    std::uint64_t left = rle.counts[i];
    if (i % 2 == 1) {
      // Fill the run one column segment at a time.
      std::uint64_t at = position;
      while (left > 0) {
        const std::uint64_t column = at / h, row = at % h;
        const std::uint64_t segment = std::min(left, h - row);
        for (std::uint64_t r = row; r < row + segment; ++r) out[r * w + column] = 1;
        at += segment;
        left -= segment;
      }
    }
    position += rle.counts[i];
  }
}

Image rle_decode(const Rle& rle) {
  check_rle("rle_decode", rle);
  Image image(rle.width, rle.height, 1);
  rle_decode(rle, image.pixels.data());
  return image;
}

// ---- strings and counts -------------------------------------------------------------------------------------------

Rle rle_from_string(std::string_view text, int height, int width) {
  const std::string what = "COCO RLE counts string";
  const std::uint64_t area = checked_file_area(what, height, width);
  const std::string fix = "; the \"counts\" string is corrupt or truncated: re-export the annotation, and make sure "
                          "it is read unchanged (no escaping)";
  std::vector<std::uint32_t> counts;
  std::uint64_t sum = 0;
  std::size_t position = 0;
  while (position < text.size()) {
    // One value: 5-bit groups, low first, 0x20 = more follow, the last group's 0x10 = negative, each + 48.
    const std::size_t start = position;
    std::int64_t value = 0;
    int groups = 0;
    bool more = true;
    while (more) {
      if (position == text.size()) {
        throw FormatError(what + ": the value starting at position " + std::to_string(start) +
                          ": expected another character, got the end of the string (the last one, " +
                          character_text(text[position - 1]) + ", asks for more)" + fix);
      }
      if (groups == kMaxGroups) {
        throw FormatError(what + ": the value starting at position " + std::to_string(start) +
                          ": expected at most " + std::to_string(kMaxGroups) + " characters (a 32-bit run), got more" +
                          fix);
      }
      const char c = text[position];
      if (c < '0' || c > 'o') {
        throw FormatError(what + ": position " + std::to_string(position) +
                          ": expected a character in '0'..'o', got " + character_text(c) + fix);
      }
      const int group = c - '0';
      value |= static_cast<std::int64_t>(group & 0x1f) << (5 * groups);
      ++groups;
      ++position;
      more = (group & 0x20) != 0;
      if (!more && (group & 0x10) != 0) value -= std::int64_t{1} << (5 * groups);  // sign-extend
    }
    // From the fourth run on, the string stores the difference to the run two before (same colour).
    if (counts.size() > 2) value += counts[counts.size() - 2];
    const std::string run_where = ": run " + std::to_string(counts.size()) + " (the value at position " +
                                  std::to_string(start) + ")";
    if (value < 0) {
      throw FormatError(what + run_where + ": expected a length of 0 or more, got " + std::to_string(value) + fix);
    }
    if (static_cast<std::uint64_t>(value) > area - sum) {
      throw FormatError(what + run_where + ": expected the runs to cover height × width = " + std::to_string(area) +
                        " pixels (size " + size_text(height, width) + "), got " + std::to_string(sum + value) +
                        " by this run; check that \"size\" belongs to this \"counts\"");
    }
    counts.push_back(static_cast<std::uint32_t>(value));
    sum += static_cast<std::uint64_t>(value);
  }
  if (sum != area) {
    throw FormatError(what + ": expected runs summing to height × width = " + std::to_string(area) + " (size " +
                      size_text(height, width) + "), got " + std::to_string(sum) + " in " +
                      std::to_string(counts.size()) + " runs; check that \"size\" belongs to this \"counts\"");
  }
  return Rle{height, width, std::move(counts)};
}

std::string rle_to_string(const Rle& rle) {
  std::string text;
  text.reserve(rle.counts.size() * 2);
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    std::int64_t value = rle.counts[i];
    if (i > 2) value -= rle.counts[i - 2];
    bool more = true;
    while (more) {
      int group = static_cast<int>(value & 0x1f);
      value >>= 5;  // arithmetic: negative values shift in ones
      // Stop once the rest is only sign bits that the group's 0x10 already says.
      more = (group & 0x10) != 0 ? value != -1 : value != 0;
      if (more) group |= 0x20;
      text.push_back(static_cast<char>(group + '0'));
    }
  }
  return text;
}

Rle rle_from_counts(const std::vector<std::int64_t>& counts, int height, int width) {
  const std::string what = "COCO RLE counts";
  const std::uint64_t area = checked_file_area(what, height, width);
  std::vector<std::uint32_t> runs;
  runs.reserve(counts.size());
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::int64_t value = counts[i];
    if (value < 0) {
      throw FormatError(what + ": run " + std::to_string(i) + ": expected a length of 0 or more, got " +
                        std::to_string(value) + "; the annotation's \"counts\" is corrupt");
    }
    if (static_cast<std::uint64_t>(value) > area - sum) {
      throw FormatError(what + ": run " + std::to_string(i) + ": expected the runs to cover height × width = " +
                        std::to_string(area) + " pixels (size " + size_text(height, width) + "), got " +
                        std::to_string(sum + static_cast<std::uint64_t>(value)) +
                        " by this run; check that \"size\" belongs to this \"counts\"");
    }
    runs.push_back(static_cast<std::uint32_t>(value));
    sum += static_cast<std::uint64_t>(value);
  }
  if (sum != area) {
    throw FormatError(what + ": expected runs summing to height × width = " + std::to_string(area) + " (size " +
                      size_text(height, width) + "), got " + std::to_string(sum) + " in " +
                      std::to_string(counts.size()) + " runs; check that \"size\" belongs to this \"counts\"");
  }
  return Rle{height, width, std::move(runs)};
}

// ---- polygons, merge, IoU -----------------------------------------------------------------------------------------

Rle rle_from_polygons(const std::vector<std::vector<double>>& polygons, int height, int width) {
  const std::uint64_t area = checked_file_area("COCO polygon segmentation", height, width);
  if (polygons.empty()) return Rle{height, width, {static_cast<std::uint32_t>(area)}};
  std::vector<Rle> parts;
  parts.reserve(polygons.size());
  for (std::size_t i = 0; i < polygons.size(); ++i) parts.push_back(rasterise_polygon(polygons[i], i, height, width));
  if (parts.size() == 1) return std::move(parts.front());
  return rle_merge(parts);
}

Rle rle_merge(const std::vector<Rle>& rles, bool intersect) {
  if (rles.empty()) return Rle{};
  for (std::size_t i = 0; i < rles.size(); ++i) {
    const std::string what = "rle_merge: mask " + std::to_string(i);
    check_rle(what, rles[i]);
    if (rles[i].height != rles[0].height || rles[i].width != rles[0].width) {
      throw ConfigError(what + ": size " + size_text(rles[i].height, rles[i].width) + ": expected " +
                        size_text(rles[0].height, rles[0].width) + " as mask 0 (height, width); merge masks of one "
                        "image only");
    }
  }
  if (rles.size() == 1) return rles.front();
  std::vector<std::uint32_t> merged = rles[0].counts;
  for (std::size_t i = 1; i < rles.size(); ++i) {
    RunWriter writer;
    sweep(merged, rles[i].counts, [&](std::uint64_t n, bool a, bool b) { writer.add(n, intersect ? a && b : a || b); });
    merged = std::move(writer).finish();
  }
  return Rle{rles[0].height, rles[0].width, std::move(merged)};
}

std::vector<double> coco_mask_iou(const std::vector<Rle>& detections, const std::vector<Rle>& ground_truths,
                                  const std::vector<std::uint8_t>& gt_crowd) {
  if (gt_crowd.size() != ground_truths.size()) {
    throw ConfigError("coco_mask_iou: gt_crowd: expected one flag per ground truth (" +
                      std::to_string(ground_truths.size()) + "), got " + std::to_string(gt_crowd.size()) +
                      "; pass iscrowd of every ground truth, in order");
  }
  const auto check_all = [](const std::vector<Rle>& rles, const std::string& kind, const Rle* reference) {
    for (std::size_t i = 0; i < rles.size(); ++i) {
      const std::string what = "coco_mask_iou: " + kind + " " + std::to_string(i);
      check_rle(what, rles[i]);
      if (reference != nullptr && (rles[i].height != reference->height || rles[i].width != reference->width)) {
        throw ConfigError(what + ": size " + size_text(rles[i].height, rles[i].width) + ": expected " +
                          size_text(reference->height, reference->width) + " (height, width) like every other mask "
                          "of the image; paste masks back onto the original image first");
      }
    }
  };
  const Rle* reference = !detections.empty() ? &detections.front()
                         : !ground_truths.empty() ? &ground_truths.front()
                                                  : nullptr;
  check_all(detections, "detection", reference);
  check_all(ground_truths, "ground truth", reference);

  struct Summary {
    std::uint64_t area;
    std::array<double, 4> box;
  };
  const auto summarise = [](const std::vector<Rle>& rles) {
    std::vector<Summary> out;
    out.reserve(rles.size());
    for (const Rle& rle : rles) out.push_back({rle.area(), rle.box()});
    return out;
  };
  const std::vector<Summary> dt = summarise(detections), gt = summarise(ground_truths);
  const std::size_t g_count = ground_truths.size();
  std::vector<double> iou(detections.size() * g_count, 0.0);
  for (std::size_t d = 0; d < detections.size(); ++d) {
    for (std::size_t g = 0; g < g_count; ++g) {
      // Masks whose boxes do not overlap share no pixel: skip the sweep (maskApi does the same with box IoU).
      const auto& a = dt[d].box;
      const auto& b = gt[g].box;
      if (std::max(a[0], b[0]) >= std::min(a[2], b[2]) || std::max(a[1], b[1]) >= std::min(a[3], b[3])) continue;
      const std::uint64_t inter = intersection_area(detections[d], ground_truths[g]);
      if (inter == 0) continue;
      const std::uint64_t denominator = gt_crowd[g] != 0 ? dt[d].area : dt[d].area + gt[g].area - inter;
      iou[d * g_count + g] = static_cast<double>(inter) / static_cast<double>(denominator);
    }
  }
  return iou;
}

}  // namespace autotimm
