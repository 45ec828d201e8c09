#pragma once
// Label and mask images read as stored, for the readers that need raw values rather than RGB: OpenCV stays out of
// the public headers.
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace autotimm::data {

/// The file as OpenCV stores it (IMREAD_UNCHANGED): 1 channel (8 or 16 bit) for gray PNGs, BGR or BGRA for colour
/// and palette PNGs. Bounded in bytes and pixels as decode_image bounds images. `what` names the file in messages
/// ("label image '<path>'"); FormatError when it is empty, undecodable or too large, IoError when unreadable.
cv::Mat read_unchanged_image(const std::filesystem::path& path, const std::string& what);

}  // namespace autotimm::data
